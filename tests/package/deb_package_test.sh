#!/usr/bin/env bash
# The operator's packages, installed where an operator would: builds the three .debs with cpack
# from BUILD_DIR, installs them with apt into a clean Debian 12 root (debootstrap minbase, cached
# as a tarball) and checks, in a chroot: the programs run (--version, bdagent --facts without
# Docker), the man pages and the completion are there, the bdcoord user exists, the installed
# units pass `systemd-analyze verify`, nothing was started or enabled, `dpkg -r` removes every
# file but the edited conffile and `dpkg --purge` that too. Also `cmake --install` to two
# prefixes: the units name the installed binaries. `--help` for the settings.
set -euo pipefail

CACHE_DIR=${BDCOORD_PACKAGE_TEST_CACHE:-/var/cache/bdcoord-test}
MIRROR=${BDCOORD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
MAX_ROOT_AGE_DAYS=7

usage() {
  cat <<EOF
Usage: tests/package/deb_package_test.sh BUILD_DIR

As root on Debian 12 (ctest deb_package_test, label \`package\`): \`cpack\` in BUILD_DIR (built
already) makes bdcoord, bdcoordd and bdagent .debs; they are installed with apt-get into a clean
${SUITE} root in a temporary directory and checked there in a chroot, then removed and purged.
Exits 1 on any failed check (each is printed, ok or FAIL), 2 on a usage error.

The root is \`debootstrap --variant=minbase --include=systemd,man-db ${SUITE}\`, kept as
${CACHE_DIR}/${SUITE}-minbase-systemd.tar.gz
(made again when older than ${MAX_ROOT_AGE_DAYS} days); the packages apt fetches for the .debs'
Depends are kept in ${CACHE_DIR}/archives/. The first run downloads (about a minute more).

Environment:
  BDCOORD_PACKAGE_TEST_CACHE  the cache directory (default /var/cache/bdcoord-test)
  BDCOORD_DEBIAN_MIRROR       Debian mirror (default http://deb.debian.org/debian)
  BDCOORD_PACKAGE_TEST_KEEP   1: keep the temporary directory (the root, the .debs) for a look
EOF
}
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage && exit 0 ;;
    -*) echo "deb_package_test.sh: unknown option $1 (see --help)" >&2 && exit 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 1 ]] || { echo "deb_package_test.sh: needs BUILD_DIR (see --help)" >&2 && exit 2; }
BUILD_DIR=$(readlink -f "$1")
[[ -f ${BUILD_DIR}/CPackConfig.cmake ]] || {
  echo "deb_package_test.sh: ${BUILD_DIR} has no CPackConfig.cmake" >&2 && exit 2
}
[[ ${EUID} -eq 0 ]] || { echo "deb_package_test.sh: must run as root (chroot)" >&2 && exit 1; }
for tool in cpack debootstrap systemctl unshare chroot dpkg-deb python3; do
  command -v "${tool}" >/dev/null || {
    echo "deb_package_test.sh: ${tool} is missing: deploy/install-deps.sh" >&2 && exit 1
  }
done

start=${SECONDS}
failures=0
ok() { echo "ok: $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
step() { echo "== $* ($((SECONDS - start)) s)"; }

WORK=$(mktemp -d /var/tmp/bdcoord-deb-test.XXXXXX)
ROOT=${WORK}/root
cleanup() {
  if [[ ${BDCOORD_PACKAGE_TEST_KEEP:-0} == 1 ]]; then
    echo "kept ${WORK}"
  else
    rm -rf --one-file-system "${WORK}"
  fi
}
trap cleanup EXIT

# --- the packages ---------------------------------------------------------------------------
step "cpack in ${BUILD_DIR}"
cpack --config "${BUILD_DIR}/CPackConfig.cmake" -B "${WORK}/debs" >"${WORK}/cpack.log" 2>&1 || {
  cat "${WORK}/cpack.log"
  echo "FAIL: cpack"
  exit 1
}
declare -A DEB
for package in bdcoord bdcoordd bdagent; do
  DEB[${package}]=$(find "${WORK}/debs" -maxdepth 1 -name "${package}_*_amd64.deb" -print -quit)
  [[ -n ${DEB[${package}]} ]] || { echo "FAIL: cpack made no ${package}_*_amd64.deb" && exit 1; }
done
VERSION=$(dpkg-deb -f "${DEB[bdcoord]}" Version)
ok "cpack made $(cd "${WORK}/debs" && echo ./*.deb) (version ${VERSION})"

for package in bdcoord bdcoordd bdagent; do
  depends=$(dpkg-deb -f "${DEB[${package}]}" Depends)
  # dpkg-shlibdeps' list: libc6 and each program's own libraries (gRPC, protobuf, ...).
  if [[ ${depends} == *"libc6 (>="* && ${depends} == *libgrpc++* && ${depends} == *libprotobuf* ]]; then
    ok "${package} Depends from dpkg-shlibdeps"
  else
    fail "${package} Depends lacks libc6, libgrpc++ or libprotobuf: '${depends}'"
  fi
  # No maintainer script starts or enables a service (a static look; the chroot checks what runs).
  mkdir -p "${WORK}/control/${package}"
  dpkg-deb -e "${DEB[${package}]}" "${WORK}/control/${package}"
  starts=$(for script in preinst postinst prerm postrm; do
    [[ -f ${WORK}/control/${package}/${script} ]] || continue
    sed 's/#.*//' "${WORK}/control/${package}/${script}" |
      grep -E 'systemctl.*(start|enable)|deb-systemd-invoke.*start|deb-systemd-helper.*enable|invoke-rc\.d' |
      sed "s|^|${script}: |"
  done || true)
  [[ -z ${starts} ]] && ok "${package}'s maintainer scripts start and enable nothing" ||
    fail "${package}'s maintainer scripts start or enable: ${starts}"

done
[[ $(dpkg-deb -f "${DEB[bdcoordd]}" Depends) == *adduser* ]] && ok "bdcoordd Depends on adduser" ||
  fail "bdcoordd's postinst runs adduser, but it does not Depend on adduser"
grep -qx /etc/bdcoord/agent.yaml "${WORK}/control/bdagent/conffiles" &&
  ok "bdagent: /etc/bdcoord/agent.yaml is a conffile" || fail "bdagent has no conffile agent.yaml"

# cmake --install (no package): the units name the binaries where the prefix put them.
for prefix in /usr/local /opt/bdcoord; do
  dest=${WORK}/install${prefix//\//-}
  DESTDIR=${dest} cmake --install "${BUILD_DIR}" --prefix "${prefix}" >"${WORK}/cmake-install.log" 2>&1 || {
    cat "${WORK}/cmake-install.log"
    fail "cmake --install --prefix ${prefix}"
  }
  for unit in bdcoordd bdagent; do
    exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' \
      "${dest}${prefix}/lib/systemd/system/${unit}.service" 2>/dev/null || true)
    [[ ${exec_start} == "${prefix}/bin/${unit}" && -x ${dest}${exec_start} ]] &&
      ok "cmake --install --prefix ${prefix}: ${unit}.service runs ${exec_start}, installed" ||
      fail "cmake --install --prefix ${prefix}: ${unit}.service ExecStart '${exec_start}'"
  done
  [[ -f ${dest}/etc/bdcoord/agent.yaml ]] || fail "cmake --install: no /etc/bdcoord/agent.yaml"
done

# --- the clean root ---------------------------------------------------------------------------
# minbase with systemd and man-db: a host's systemd-analyze checks the units, man their
# Documentation= pages.
ROOT_PACKAGES=systemd,man-db
TARBALL=${CACHE_DIR}/${SUITE}-minbase-systemd.tar.gz
mkdir -p "${CACHE_DIR}/archives"
exec 9>"${CACHE_DIR}/lock"
flock 9  # one test makes the root at a time; the others wait for it
if [[ ! -s ${TARBALL} || -n $(find "${TARBALL}" -mtime +"${MAX_ROOT_AGE_DAYS}") ]]; then
  step "debootstrap --variant=minbase --include=${ROOT_PACKAGES} ${SUITE} (cached as ${TARBALL})"
  fresh=${WORK}/fresh-root
  debootstrap --variant=minbase --include="${ROOT_PACKAGES}" "${SUITE}" "${fresh}" "${MIRROR}" \
    >"${WORK}/debootstrap.log" 2>&1 || {
    tail -n 30 "${WORK}/debootstrap.log"
    echo "FAIL: debootstrap"
    exit 1
  }
  cp /etc/resolv.conf "${fresh}/etc/resolv.conf"
  chroot "${fresh}" apt-get update -q >"${WORK}/apt-update.log" 2>&1 || {
    cat "${WORK}/apt-update.log"
    echo "FAIL: apt-get update in the new root"
    exit 1
  }
  chroot "${fresh}" apt-get clean
  tar -C "${fresh}" --numeric-owner -czf "${TARBALL}.new" .
  mv "${TARBALL}.new" "${TARBALL}"
  rm -rf --one-file-system "${fresh}"
fi
flock -u 9
step "a clean ${SUITE} root from ${TARBALL}"
mkdir "${ROOT}"
tar -C "${ROOT}" --numeric-owner -xzf "${TARBALL}"
cp /etc/resolv.conf "${ROOT}/etc/resolv.conf"
mkdir -p "${ROOT}/tmp/debs"
cp "${DEB[@]}" "${ROOT}/tmp/debs/"
cp -n "${CACHE_DIR}"/archives/*.deb "${ROOT}/var/cache/apt/archives/" 2>/dev/null || true

# in_root COMMAND...: runs a command in the root, in a mount namespace of its own with /proc
# mounted (gone with the namespace, whatever happens).
in_root() {
  unshare --mount --propagation private --fork -- sh -c \
    'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "${ROOT}" \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
}

# What a maintainer script asks of systemd is logged, not done: the root's systemctl and its
# Debian helpers are diverted to stand-ins (at their own paths: apt runs dpkg with a PATH of its
# own), and /run/systemd/system says systemd runs, so the scripts do call them.
CALLS=/var/log/systemd-calls.log
mkdir -p "${ROOT}/run/systemd/system"
for tool in /usr/bin/systemctl /usr/bin/deb-systemd-invoke /usr/bin/deb-systemd-helper \
  /usr/sbin/invoke-rc.d; do
  if [[ -e ${ROOT}${tool} ]]; then
    in_root dpkg-divert --quiet --local --no-rename --add "${tool}"
  fi
  printf '#!/bin/sh\necho "%s $*" >>%s\n' "${tool##*/}" "${CALLS}" >"${ROOT}${tool}"
  chmod 755 "${ROOT}${tool}"
done
: >"${ROOT}${CALLS}"

step "apt-get install the three .debs into the root"
install_debs() {
  in_root apt-get install -y -q --no-install-recommends \
    /tmp/debs/"${DEB[bdcoord]##*/}" /tmp/debs/"${DEB[bdcoordd]##*/}" /tmp/debs/"${DEB[bdagent]##*/}" \
    >"${WORK}/install.log" 2>&1
}
if ! install_debs; then
  # Lists older than a point release name packages the mirror no longer has.
  echo "apt-get install failed; again after apt-get update"
  in_root apt-get update -q >>"${WORK}/install.log" 2>&1 || true
  install_debs || {
    tail -n 40 "${WORK}/install.log"
    echo "FAIL: apt-get install of the .debs"
    exit 1
  }
fi
cp -n "${ROOT}"/var/cache/apt/archives/*.deb "${CACHE_DIR}/archives/" 2>/dev/null || true
ok "apt-get installed them with their Depends ($(grep -c '^Setting up' "${WORK}/install.log") packages set up)"

# --- in the root ------------------------------------------------------------------------------
step "checks in the root"
for program in bdcoord bdcoordd bdagent; do
  out=$(in_root "${program}" --version 2>&1) || true
  [[ ${out} == "${program} ${VERSION}" ]] && ok "${program} --version: ${out}" ||
    fail "${program} --version printed '${out}', expected '${program} ${VERSION}'"
  [[ $(in_root readlink -f "/usr/bin/${program}") == /usr/bin/${program} ]] ||
    fail "/usr/bin/${program} is not in the root"
done
in_root bdcoord --help | grep -q '^  apply ' && ok "bdcoord --help lists apply" ||
  fail "bdcoord --help does not list apply"
# bdgate, where bdagent finds it (../libexec/bdcoord from /usr/bin), static: its usage, exit 2.
status=0
out=$(in_root /usr/libexec/bdcoord/bdgate 2>&1) || status=$?
[[ ${status} -eq 2 && ${out} == "usage: bdgate RELEASE_FILE PROGRAM [ARG...]" ]] &&
  ok "bdagent's bdgate is /usr/libexec/bdcoord/bdgate" ||
  fail "/usr/libexec/bdcoord/bdgate (exit ${status}): ${out}"

# The agent without Docker (the root has none): the facts, a note on stderr, exit 0. The labels
# come from /etc/bdcoord/agent.yaml (edited like an operator would) and --label.
cat >"${ROOT}/etc/bdcoord/agent.yaml" <<'EOF'
# this host's labels, set by the operator
labels: {rack: r7}
EOF
status=0
in_root bdagent --facts --label ssd=true >"${WORK}/facts.json" 2>"${WORK}/facts.err" || status=$?
if [[ ${status} -eq 0 ]] && python3 - "${WORK}/facts.json" <<'EOF'; then
import json, sys
facts = json.load(open(sys.argv[1]))
assert facts["labels"] == {"rack": "r7", "ssd": "true"}, facts
assert facts["cpus"] > 0 and int(facts["memory_bytes"]) > 0 and facts["interfaces"], facts
assert "docker_version" not in facts, facts
EOF
  ok "bdagent --facts without Docker: labels from agent.yaml and --label, no Docker version"
else
  fail "bdagent --facts (exit ${status}): $(cat "${WORK}/facts.json" "${WORK}/facts.err")"
fi
grep -q 'Docker' "${WORK}/facts.err" && ok "bdagent --facts says Docker did not answer: $(cat "${WORK}/facts.err")" ||
  fail "bdagent --facts is silent about the missing Docker"

for page in man1/bdcoord.1 man8/bdcoordd.8 man8/bdagent.8; do
  name=${page#*/}
  name=${name%.*}
  if in_root sh -c "zcat /usr/share/man/${page}.gz" >"${WORK}/page" 2>&1 &&
    grep -q "^\.TH ${name^^} \"${page: -1}\" .* \"${name} ${VERSION}\"" "${WORK}/page" &&
    grep -qF '\-\-version' "${WORK}/page"; then
    ok "man page /usr/share/man/${page}.gz ($(grep -c '^\.TP' "${WORK}/page") options)"
  else
    fail "man page /usr/share/man/${page}.gz: $(head -c 300 "${WORK}/page")"
  fi
done
if in_root bash -c 'source /usr/share/bash-completion/completions/bdcoord && complete -p bdcoord' |
  grep -q '_bdcoord bdcoord'; then
  ok "bash completion registers _bdcoord"
else
  fail "bash completion in /usr/share/bash-completion/completions/bdcoord"
fi

# The coordinator's user: a system account without a shell, its own group.
IFS=: read -r _ _ uid gid _ home shell <<<"$(in_root getent passwd bdcoord || true)"
if [[ -n ${uid} && ${uid} -lt 1000 && ${shell} == /usr/sbin/nologin && ${home} == /var/lib/bdcoord &&
  $(in_root getent group bdcoord | cut -d: -f3) == "${gid}" ]]; then
  ok "system user bdcoord (uid ${uid}, group ${gid}, home ${home}, shell ${shell})"
else
  fail "user bdcoord: uid '${uid}' gid '${gid}' home '${home}' shell '${shell}'"
fi

# The coordinator needs no root: as bdcoord (what the unit's User= does, with the directories
# systemd would make it), it serves the CLI on its default socket and owns its state.
status=0
in_root sh -c '
  install -d -o bdcoord -g bdcoord -m 0700 /var/lib/bdcoord
  install -d -o bdcoord -g bdcoord -m 0755 /run/bdcoord
  setpriv --reuid=bdcoord --regid=bdcoord --init-groups bdcoordd --data-dir /var/lib/bdcoord \
    2>/tmp/bdcoordd.log &
  pid=$!
  for i in $(seq 100); do [ -S /run/bdcoord/bdcoordd.sock ] && break; sleep 0.1; done
  bdcoord hosts -o json || exit 1
  echo "state.db: $(stat -c "%U %a" /var/lib/bdcoord/state.db)"
  echo "socket: $(stat -c "%U %a" /run/bdcoord/bdcoordd.sock)"
  kill "${pid}" && wait "${pid}"' >"${WORK}/as-user.out" 2>&1 || status=$?
if [[ ${status} -eq 0 ]] && grep -qx 'state.db: bdcoord 600' "${WORK}/as-user.out" &&
  grep -qx 'socket: bdcoord 600' "${WORK}/as-user.out"; then
  ok "bdcoordd as bdcoord answers bdcoord hosts on its socket ($(tail -n 2 "${WORK}/as-user.out" | paste -sd, -))"
else
  fail "bdcoordd as bdcoord (exit ${status}): $(cat "${WORK}/as-user.out" "${ROOT}/tmp/bdcoordd.log")"
fi

# The installed units: ExecStart on the installed binary, bdcoordd as bdcoord; verified by the
# root's systemd (its binaries, its man pages), every warning a failure.
for unit in bdcoordd bdagent; do
  file=${ROOT}/usr/lib/systemd/system/${unit}.service
  [[ $(grep '^ExecStart=' "${file}") == "ExecStart=/usr/bin/${unit} "* ]] &&
    ok "${unit}.service: $(grep '^ExecStart=' "${file}")" || fail "${unit}.service ExecStart"
  out=$(in_root systemd-analyze verify "/usr/lib/systemd/system/${unit}.service" 2>&1) &&
    [[ -z ${out} ]] && ok "systemd-analyze verify ${unit}.service: clean" ||
    fail "systemd-analyze verify ${unit}.service: ${out}"
done
grep -qx 'User=bdcoord' "${ROOT}/usr/lib/systemd/system/bdcoordd.service" &&
  ok "bdcoordd.service runs as bdcoord" || fail "bdcoordd.service has no User=bdcoord"

# Nothing started, nothing enabled: the scripts only reloaded systemd, no process runs from the
# root, no unit is linked into a target.
if grep -Eq 'start|enable|restart' "${ROOT}${CALLS}"; then
  fail "a maintainer script asked systemd to start or enable: $(cat "${ROOT}${CALLS}")"
elif ! grep -q 'systemctl --system daemon-reload' "${ROOT}${CALLS}"; then
  fail "the postinsts did not reload systemd (are the stand-ins called?): $(cat "${ROOT}${CALLS}")"
else
  ok "the maintainer scripts asked systemd only for: $(sort -u "${ROOT}${CALLS}" | paste -sd, -)"
fi
running=$(for exe in /proc/[0-9]*/exe; do
  target=$(readlink "${exe}" 2>/dev/null) && [[ ${target} == "${ROOT}"/* ]] && echo "${target}"
done || true)
[[ -z ${running} ]] && ok "no process runs from the root" || fail "running from the root: ${running}"
for unit in bdcoordd bdagent; do
  state=$(systemctl --root="${ROOT}" is-enabled "${unit}.service" 2>&1 || true)
  [[ ${state} == disabled ]] && ok "${unit}.service is ${state}" ||
    fail "${unit}.service is '${state}', expected disabled"
done

# --- removal ----------------------------------------------------------------------------------
step "dpkg -r, then dpkg --purge"
for package in bdcoord bdcoordd bdagent; do
  in_root dpkg -L "${package}" >"${WORK}/files.${package}"
done
: >"${ROOT}${CALLS}"
in_root dpkg -r bdcoord bdcoordd bdagent >"${WORK}/remove.log" 2>&1 || {
  cat "${WORK}/remove.log"
  fail "dpkg -r"
}
left=$(cat "${WORK}"/files.* | while read -r path; do
  [[ -e ${ROOT}${path} && ! -d ${ROOT}${path} ]] && echo "${path}"
done || true)
[[ ${left} == /etc/bdcoord/agent.yaml ]] && ok "dpkg -r removed every file but the edited conffile" ||
  fail "after dpkg -r, left: ${left:-nothing, not even the edited /etc/bdcoord/agent.yaml}"
for unit in bdcoordd bdagent; do
  grep -qx "systemctl stop ${unit}.service" "${ROOT}${CALLS}" || fail "prerm did not stop ${unit}"
done
in_root dpkg --purge bdcoord bdcoordd bdagent >"${WORK}/purge.log" 2>&1 || {
  cat "${WORK}/purge.log"
  fail "dpkg --purge"
}
[[ ! -e ${ROOT}/etc/bdcoord ]] && ok "dpkg --purge removed /etc/bdcoord" ||
  fail "after dpkg --purge: $(find "${ROOT}/etc/bdcoord")"
# The coordinator's state (made above) goes with the purge; the user stays (Debian's custom).
[[ -e ${ROOT}/var/lib/bdcoord/state.db ]] && fail "dpkg --purge left /var/lib/bdcoord" ||
  ok "dpkg --purge removed /var/lib/bdcoord"
in_root getent passwd bdcoord >/dev/null && ok "the user bdcoord stays" ||
  fail "the user bdcoord went with the purge"
known=$(in_root dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' bdcoord bdcoordd bdagent 2>/dev/null |
  grep -v '^un' || true)
[[ -z ${known} ]] && ok "dpkg knows none of them any more" || fail "dpkg still has: ${known}"

echo "== deb_package_test: $((SECONDS - start)) s, ${failures} failed"
((failures == 0))
