#!/usr/bin/env bash
# Installs every build, test and runtime dependency from Debian 12's archive.
# Idempotent and non-interactive; run as root. `install-deps.sh --help` for more.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache clang-format
  # libFuzzer (tests/fuzz/): clang 14 and its runtime (-fsanitize=fuzzer).
  clang libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libspdlog-dev libfmt-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libnl-route-3-dev
  libsqlite3-dev libkainjow-mustache-dev libsystemd-dev
  # Prometheus metrics of bdcoordd and bdagent (--metrics-listen): the client library and its
  # HTTP exposer, not a hand-written exposition format.
  prometheus-cpp-dev
  # bdcoordd's status page (--http-listen): the HTTP server; the demo e2e drives the page in
  # headless Chromium through ChromeDriver and Selenium.
  libcpp-httplib-dev chromium chromium-driver python3-selenium
  # tests/e2e/metrics_testbed_test.sh scrapes those endpoints with curl (deploy/testbed.sh uses it).
  curl
  # Debian's /usr/bin/python3 with gRPC; protobuf-compiler-grpc above has grpc_python_plugin:
  # tests/e2e/python_client_test.sh drives the API from Python with them.
  python3 python3-grpcio python3-protobuf python3-yaml
  docker.io busybox-static iproute2 debootstrap procps
  # Packaging (CMake's CPack DEB, deploy/deb/): the man pages made from --help at build time,
  # the .debs' Depends (dpkg-shlibdeps, in dpkg-dev), and the package test's clean Debian 12
  # root (debootstrap, above) checked with systemd-analyze (systemd, below).
  help2man dpkg-dev
  # tests/bench/bringup.sh: docker-compose on one host, a peer of bdcoord's bring-up.
  docker-compose
  # systemd-analyze checks deploy/systemd/*.service (tests/unit/systemd_units_test.sh).
  systemd
  # deploy/images/build.sh: the real systems' jars from Maven Central (the `real` tests), and
  # ZooKeeper's Python client for their checks from the root namespace.
  maven openjdk-17-jdk-headless python3-kazoo
  # bdcoordd --store etcd://... (etcd 3.4): store_etcd_test starts its own etcd on loopback
  # ports; etcdctl to look at the keys. The etcd service Debian starts on install is stopped.
  etcd-server etcd-client
)

usage() {
  cat <<EOF
Usage: deploy/install-deps.sh

As root on Debian 12: installs those of its ${#PACKAGES[@]} Debian packages (build, test and
runtime dependencies: compilers, gRPC, Docker, ...) that are missing, with apt-get, without
recommends and without questions. Does nothing when all are installed. Takes no arguments.
The list is PACKAGES at the top of this script.
EOF
}
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage && exit 0 ;;
    -*) echo "install-deps.sh: unknown option $1 (see --help)" >&2 && exit 2 ;;
    *) echo "install-deps.sh: unexpected argument '$1': it takes none (see --help)" >&2 && exit 2 ;;
  esac
done

if [[ ${EUID} -ne 0 ]]; then
  echo "install-deps.sh: must run as root (it installs Debian packages)" >&2
  exit 1
fi

# Debian starts etcd as a service when it installs etcd-server; bdcoord's tests start their own
# (a system one would hold port 2379 and a data directory nobody uses). Stopped and disabled.
stop_system_etcd() {
  if [[ -f /lib/systemd/system/etcd.service ]] && command -v systemctl >/dev/null &&
    systemctl is-enabled --quiet etcd 2>/dev/null; then
    echo "install-deps.sh: stopping and disabling the etcd service (tests start their own)"
    systemctl stop etcd >/dev/null 2>&1 || true  # fails harmlessly where systemd is not running
    systemctl disable etcd >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/etcd ]] && ! command -v systemctl >/dev/null; then
    /etc/init.d/etcd stop >/dev/null 2>&1 || true
    update-rc.d etcd disable >/dev/null 2>&1 || true
  fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("${pkg}")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps.sh: all ${#PACKAGES[@]} packages already installed"
  stop_system_etcd
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
stop_system_etcd
