#!/usr/bin/env bash
# deploy/testbed.sh: N simulated Docker hosts on one machine, for bdcoord's integration tests.
#
# Host K is a network namespace `bdcoord-hostK` running its own dockerd; the hosts share one L2
# LAN (the bridge `bdcoord-lan` in the root namespace, a veth pair per host whose namespace end
# is `eth0`), so Docker macvlan/ipvlan networks with parent eth0 span every host. Everything this
# script creates is named `bdcoord-*` or lives under /run/bdcoord-testbed, and `down` removes it.
# Run `testbed.sh --help` for the commands.
set -euo pipefail

readonly STATE_DIR=/run/bdcoord-testbed
readonly NETNS_DIR=/var/run/netns
readonly NS_PREFIX=bdcoord-host    # network namespaces: bdcoord-host1, bdcoord-host2, ...
readonly VETH_PREFIX=bdcoord-h     # root-namespace ends of the veth pairs: bdcoord-h1, ...
readonly BRIDGE=bdcoord-lan
readonly PARENT=eth0
readonly IMAGE=bdcoord/standin:latest
readonly IMAGE_LABEL=org.bdcoord.standin.content
readonly IPT_COMMENT=bdcoord-testbed
readonly DEFAULT_SUBNET=10.251.0.0/24
readonly DEFAULT_DRIVER=macvlan
# Seconds to wait for every dockerd to answer /_ping, and for dockerd to stop on `down`.
readonly START_TIMEOUT=${BDCOORD_TESTBED_START_TIMEOUT:-120}
readonly STOP_TIMEOUT=${BDCOORD_TESTBED_STOP_TIMEOUT:-30}

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
readonly SCRIPT_PATH
REPO_DIR=$(dirname "$(dirname "${SCRIPT_PATH}")")
readonly REPO_DIR
readonly STANDIN_SRC=${REPO_DIR}/deploy/images/standin/standin.cc
readonly STANDIN_BIN=${STATE_DIR}/standin

usage() {
  cat <<EOF
Usage: testbed.sh COMMAND [ARGS]

N simulated Docker hosts on this machine (run as root; Debian packages only).

Commands:
  up N [--driver macvlan|ipvlan] [--subnet CIDR] [--image-host1-only]
        Start hosts host1..hostN (keeps hosts that are already up, repairs half-made ones):
        network namespace ${NS_PREFIX}K with eth0 on the LAN bridge ${BRIDGE},
        address .(10+K) of the subnet (default ${DEFAULT_SUBNET}; the bridge is .1), its
        own dockerd on ${STATE_DIR}/hostK/docker.sock, label rack=r((K-1)%3+1), and the
        test image ${IMAGE} (built from deploy/images/standin; \`docker load\`ed into
        every host that lacks it, or with --image-host1-only made on host1 alone, for
        \`bdcoord images push\` to take to the others). --driver
        (default ${DEFAULT_DRIVER}) is the container network driver tests should use; it
        is recorded, like the subnet, in ${STATE_DIR}/testbed.env, and up fails at once
        when the kernel cannot make such links (ipvlan needs CONFIG_IPVLAN).
  down  Stop every dockerd and its containers, delete the namespaces, links, bridge,
        iptables rules and ${STATE_DIR}. Safe to run when nothing is up.
  env   Print shell exports describing the testbed, e.g.
          out=\$(deploy/testbed.sh env) && eval "\$out"
        BDCOORD_TESTBED_HOSTS="host1 host2", BDCOORD_TESTBED_HOST1_SOCK,
        BDCOORD_TESTBED_HOST1_DOCKER_HOST, BDCOORD_TESTBED_HOST1_NETNS,
        BDCOORD_TESTBED_HOST1_ADDR, BDCOORD_TESTBED_HOST1_LABELS, BDCOORD_TESTBED_HOST1_RACK,
        BDCOORD_TESTBED_SUBNET, BDCOORD_TESTBED_GATEWAY, BDCOORD_TESTBED_IP_RANGE (upper half
        of the subnet, free for containers), BDCOORD_TESTBED_DRIVER, BDCOORD_TESTBED_PARENT,
        BDCOORD_TESTBED_BRIDGE, BDCOORD_TESTBED_IMAGE.
  status
        One line per host: dockerd pid, whether it answers, containers, image.
  debug on|off
        Every host's dockerd logs each Engine API request it serves ("Calling POST
        /v1.41/containers/create") to ${STATE_DIR}/hostK/dockerd.log, or stops (the default):
        daemon.json's debug, reloaded with SIGHUP, no restart. For counting the requests of a
        run (tests/bench/bringup.sh); it slows dockerd, so turn it off again. A host whose
        dockerd is started later (up) starts without it.
  --help, help
        This text.

Environment: BDCOORD_TESTBED_START_TIMEOUT (seconds, default 120),
BDCOORD_TESTBED_STOP_TIMEOUT (seconds, default 30).
EOF
}

TMP_DIRS=()
cleanup_tmp() {
  local d
  for d in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do
    rm -rf "${d}"
  done
}
trap cleanup_tmp EXIT

log() { printf 'testbed: %s\n' "$*" >&2; }
die() {
  printf 'testbed: error: %s\n' "$*" >&2
  exit 1
}
# A command line it does not understand: exit 2, like every script's unknown option.
die_usage() {
  printf 'testbed: error: %s\n' "$*" >&2
  exit 2
}

now_ms() { date +%s%3N; }
T0=$(now_ms)
# Seconds since the start of this command, like 3.2.
elapsed() {
  local ms=$(($(now_ms) - T0))
  echo "$((ms / 1000)).$(((ms % 1000) / 100))s"
}

require_root() {
  [[ ${EUID} -eq 0 ]] || die "must run as root"
}

require_commands() {
  local cmd missing=()
  for cmd in "$@"; do
    command -v "${cmd}" >/dev/null 2>&1 || missing+=("${cmd}")
  done
  [[ ${#missing[@]} -eq 0 ]] ||
    die "missing commands: ${missing[*]} (run deploy/install-deps.sh)"
}

# Serializes concurrent invocations with a lock on this script file (it leaves no file behind).
# The descriptor is closed for every daemon started, so they never hold the lock.
LOCK_FD=
take_lock() {
  exec {LOCK_FD}<"${SCRIPT_PATH}"
  flock -w 600 "${LOCK_FD}" || die "another testbed.sh is still running"
}

# --- addresses ------------------------------------------------------------------------------

ip_to_int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ip() {
  local n=$1
  echo "$(((n >> 24) & 255)).$(((n >> 16) & 255)).$(((n >> 8) & 255)).$((n & 255))"
}

# Sets NET_BASE (integer), NET_PREFIX and NET_SIZE from a CIDR, normalized to its network.
parse_subnet() {
  local cidr=$1 octet
  [[ ${cidr} =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] ||
    die "bad subnet '${cidr}' (want a.b.c.d/len)"
  for octet in "${BASH_REMATCH[@]:1:4}"; do
    ((10#${octet} <= 255)) || die "bad subnet '${cidr}'"
  done
  NET_PREFIX=$((10#${BASH_REMATCH[5]}))
  ((NET_PREFIX >= 8 && NET_PREFIX <= 26)) ||
    die "subnet '${cidr}': prefix length must be 8..26 (hosts and containers need room)"
  NET_SIZE=$((1 << (32 - NET_PREFIX)))
  NET_BASE=$(($(ip_to_int "${cidr%/*}") & ~(NET_SIZE - 1) & 0xffffffff))
}

subnet_cidr() { echo "$(int_to_ip "${NET_BASE}")/${NET_PREFIX}"; }
gateway_ip() { int_to_ip $((NET_BASE + 1)); }
host_ip() { int_to_ip $((NET_BASE + 10 + $1)); }
# The upper half of the subnet: never given to hosts, free for container addresses.
ip_range() { echo "$(int_to_ip $((NET_BASE + NET_SIZE / 2)))/$((NET_PREFIX + 1))"; }
rack_of() { echo "r$((($1 - 1) % 3 + 1))"; }

# --- state ----------------------------------------------------------------------------------

host_dir() { echo "${STATE_DIR}/host$1"; }
host_ns() { echo "${NS_PREFIX}$1"; }
host_sock() { echo "${STATE_DIR}/host$1/docker.sock"; }

# Reads testbed.env into ENV_SUBNET, ENV_DRIVER, ENV_HOSTS (host numbers); empty when absent.
read_env_file() {
  ENV_SUBNET='' ENV_DRIVER='' ENV_HOSTS=''
  local key value
  [[ -f ${STATE_DIR}/testbed.env ]] || return 0
  while IFS='=' read -r key value; do
    value=${value#\"} value=${value%\"}
    case ${key} in
      BDCOORD_TESTBED_SUBNET) ENV_SUBNET=${value} ;;
      BDCOORD_TESTBED_DRIVER) ENV_DRIVER=${value} ;;
      BDCOORD_TESTBED_HOST_NUMBERS) ENV_HOSTS=${value} ;;
    esac
  done <"${STATE_DIR}/testbed.env"
}

write_env_file() {
  local subnet=$1 driver=$2 hosts=$3
  cat >"${STATE_DIR}/testbed.env.tmp" <<EOF
# Written by deploy/testbed.sh; read by 'testbed.sh env'.
BDCOORD_TESTBED_SUBNET=${subnet}
BDCOORD_TESTBED_DRIVER=${driver}
BDCOORD_TESTBED_HOST_NUMBERS="${hosts}"
EOF
  mv -f "${STATE_DIR}/testbed.env.tmp" "${STATE_DIR}/testbed.env"
}

# Host numbers with a state directory, ascending.
existing_hosts() {
  local d
  for d in "${STATE_DIR}"/host[0-9]*; do
    if [[ -d ${d} && ${d##*/host} =~ ^[0-9]+$ ]]; then echo "${d##*/host}"; fi
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# --- processes ------------------------------------------------------------------------------

# The pid of host K's dockerd when it runs (from the pidfile, else by its socket argument).
dockerd_pid() {
  local k=$1 pid sock
  sock=$(host_sock "${k}")
  pid=$(cat "$(host_dir "${k}")/docker.pid" 2>/dev/null || true)
  if [[ ${pid} =~ ^[0-9]+$ ]] && is_dockerd_of "${pid}" "${sock}"; then
    echo "${pid}"
    return 0
  fi
  for pid in $(pgrep -x dockerd || true); do
    if is_dockerd_of "${pid}" "${sock}"; then
      echo "${pid}"
      return 0
    fi
  done
  return 1
}

is_dockerd_of() {
  local pid=$1 sock=$2 cmdline
  [[ $(cat "/proc/${pid}/comm" 2>/dev/null) == dockerd ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null) || return 1
  [[ ${cmdline} == *"unix://${sock} "* ]]
}

ping_dockerd() {
  curl -sf --max-time "${2:-3}" --unix-socket "$(host_sock "$1")" http://localhost/_ping \
    >/dev/null 2>&1
}

# docker CLI for host K, killed after DK_TIMEOUT seconds (a wedged daemon must not hang us).
DK_TIMEOUT=600
dk() {
  local k=$1
  shift
  timeout -k 5 "${DK_TIMEOUT}" env -u DOCKER_CONTEXT -u DOCKER_HOST \
    docker -H "unix://$(host_sock "${k}")" "$@"
}

# Network-namespace inode of a netns file, empty when it is not a live namespace.
netns_inode() {
  local file=$1
  [[ $(stat -f -c %T "${file}" 2>/dev/null) == nsfs ]] || return 0
  stat -L -c %i "${file}" 2>/dev/null || true
}

# PIDs of processes in the network namespace with inode $1.
pids_in_netns() {
  local inode=$1
  [[ -n ${inode} ]] || return 0
  find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%p %l\n' 2>/dev/null |
    awk -v want="net:[${inode}]" '$2 == want { split($1, p, "/"); print p[3] }'
}

# PIDs in the cgroups of our containers (dockerd runs them under /bdcoord-hostK).
pids_in_our_cgroups() {
  find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -path "*/${NS_PREFIX}*" -name cgroup.procs \
    -exec cat {} + 2>/dev/null | sort -un
}

# containerd and its shims started by our dockerds (they name our state directory).
pids_of_our_runtime() {
  local file pid comm
  # The bracket keeps grep from matching its own command line.
  for file in $(grep -lsa -- '/run/bdcoord-testbe[d]/' /proc/[0-9]*/cmdline 2>/dev/null || true); do
    pid=${file#/proc/}
    pid=${pid%/cmdline}
    comm=$(cat "/proc/${pid}/comm" 2>/dev/null || true)
    case ${comm} in
      dockerd | containerd | containerd-shim* | docker-proxy | runc) echo "${pid}" ;;
    esac
  done
}

# Whether PID runs (a zombie does not).
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

alive() {
  local pid
  for pid in "$@"; do
    [[ -d /proc/${pid} ]] && return 0
  done
  return 1
}

# Waits until none of the PIDs exists or $1 seconds pass; prints the survivors.
wait_gone() {
  local seconds=$1 deadline pid left
  shift
  deadline=$(($(now_ms) + seconds * 1000))
  while alive "$@" && (($(now_ms) < deadline)); do
    sleep 0.1
  done
  left=()
  for pid in "$@"; do
    [[ -d /proc/${pid} ]] && left+=("${pid}")
  done
  echo "${left[*]:-}"
}

terminate() {
  local pids=("$@") left
  [[ ${#pids[@]} -gt 0 ]] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  left=$(wait_gone 5 "${pids[@]}")
  if [[ -n ${left} ]]; then
    log "SIGKILL to ${left}"
    # shellcheck disable=SC2086  # a list of PIDs
    kill -KILL ${left} 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 5 ${left} >/dev/null
  fi
}

# --- up -------------------------------------------------------------------------------------

build_standin() {
  [[ -f ${STANDIN_SRC} ]] || die "missing ${STANDIN_SRC}"
  if [[ -x ${STANDIN_BIN} && ${STANDIN_BIN} -nt ${STANDIN_SRC} ]]; then
    return 0
  fi
  # A private output name: a compiler of an interrupted earlier `up` may still be writing.
  local out=${STANDIN_BIN}.tmp.${BASHPID}
  g++ -static -O2 -std=c++20 -Wall -Wextra -o "${out}" "${STANDIN_SRC}"
  mv -f "${out}" "${STANDIN_BIN}"
}

IPT_RULE=(FORWARD -i "${BRIDGE}" -o "${BRIDGE}" -m comment --comment "${IPT_COMMENT}" -j ACCEPT)

# Bridged frames pass the root namespace's iptables FORWARD chain (br_netfilter), whose policy a
# root dockerd sets to DROP; the rule keeps the LAN open whatever the policy is now or later.
ensure_forwarding() {
  if ! command -v iptables >/dev/null 2>&1; then
    log "iptables not installed: not adding a FORWARD rule"
    return 0
  fi
  if iptables -w 10 -C "${IPT_RULE[@]}" >/dev/null 2>&1; then
    return 0
  fi
  if iptables -w 10 -I "${IPT_RULE[@]}" 2>/dev/null; then
    echo "${IPT_COMMENT}" >"${STATE_DIR}/iptables-rule-added"
  elif iptables -w 10 -S FORWARD 2>/dev/null | grep -q '^-P FORWARD DROP'; then
    die "FORWARD policy is DROP and the rule for ${BRIDGE} cannot be added"
  else
    log "warning: cannot add an iptables FORWARD rule (policy is not DROP: continuing)"
  fi
}

# Fails when the kernel cannot make links of the container network driver (in a throwaway
# namespace: nothing is left behind). Some kernels are built without ipvlan.
probe_driver() {
  local driver=$1 mode out
  [[ ${driver} == ipvlan ]] && mode=l2 || mode=bridge
  if ! out=$(unshare --net sh -c "ip link add name p0 type veth peer name p1 &&
      ip link add link p0 name p2 type ${driver} mode ${mode}" 2>&1); then
    die "this kernel cannot create ${driver} links (${out}; is CONFIG_${driver^^} set in" \
      "/proc/config.gz?): use --driver $([[ ${driver} == ipvlan ]] && echo macvlan || echo ipvlan)"
  fi
}

ensure_bridge() {
  if [[ ! -d /sys/class/net/${BRIDGE}/bridge ]]; then
    ip link del "${BRIDGE}" >/dev/null 2>&1 || true
    ip link add "${BRIDGE}" type bridge
  fi
  ip addr replace "$(gateway_ip)/${NET_PREFIX}" dev "${BRIDGE}"
  ip link set "${BRIDGE}" up
}

ensure_netns() {
  local k=$1 ns file
  ns=$(host_ns "${k}")
  file=${NETNS_DIR}/${ns}
  if [[ -e ${file} ]]; then
    [[ -n $(netns_inode "${file}") ]] && return 0
    log "host${k}: repairing namespace ${ns}"
    ip netns delete "${ns}" >/dev/null 2>&1 || rm -f "${file}"
  fi
  ip netns add "${ns}"
}

# The veth pair: ${VETH_PREFIX}K on the bridge, eth0 (its peer) in the namespace.
ensure_link() {
  local k=$1 ns veth peer_link index
  ns=$(host_ns "${k}")
  veth=${VETH_PREFIX}${k}
  peer_link=$(ip -n "${ns}" -o link show dev "${PARENT}" 2>/dev/null |
    sed -n "s/^[0-9]*: ${PARENT}@if\([0-9]*\):.*/\1/p" || true)
  index=$(cat "/sys/class/net/${veth}/ifindex" 2>/dev/null || true)
  if [[ -z ${index} || ${peer_link} != "${index}" ]]; then
    ip link del "${veth}" >/dev/null 2>&1 || true
    ip -n "${ns}" link del "${PARENT}" >/dev/null 2>&1 || true
    ip link add "${veth}" type veth peer name "${PARENT}" netns "${ns}"
  fi
  ip link set "${veth}" master "${BRIDGE}"
  ip link set "${veth}" up
  ip -n "${ns}" link set lo up
  ip -n "${ns}" link set "${PARENT}" up
  ip -n "${ns}" addr replace "$(host_ip "${k}")/${NET_PREFIX}" dev "${PARENT}"
  ip -n "${ns}" route replace default via "$(gateway_ip)" dev "${PARENT}"
}

# Starts host K's dockerd unless it runs, in the host's namespace. A dockerd that runs in a stale
# namespace (the namespace was recreated) is stopped first.
ensure_dockerd() {
  local k=$1 dir ns pid
  dir=$(host_dir "${k}")
  ns=$(host_ns "${k}")
  if pid=$(dockerd_pid "${k}"); then
    local inode
    inode=$(netns_inode "${NETNS_DIR}/${ns}")
    if [[ $(stat -L -c %i "/proc/${pid}/ns/net" 2>/dev/null) == "${inode}" ]]; then
      return 0
    fi
    log "host${k}: dockerd ${pid} runs in a stale namespace: restarting it"
    terminate "${pid}"
  fi
  # The containerd of a dockerd that died: a new dockerd adopts a containerd whose pidfile names a
  # live (or zombie) process, and then times out ("timeout waiting for containerd to start").
  local cpid cpids=()
  for cpid in $(pgrep -x containerd || true); do
    if tr '\0' ' ' <"/proc/${cpid}/cmdline" 2>/dev/null |
      grep -qF -- "${dir}/exec/containerd/"; then
      cpids+=("${cpid}")
    fi
  done
  if [[ ${#cpids[@]} -gt 0 ]]; then
    log "host${k}: stopping the orphaned containerd ${cpids[*]}"
    terminate "${cpids[@]}"
  fi
  rm -f "${dir}/docker.pid" "${dir}/docker.sock" "${dir}/exec/containerd/containerd.pid"
  mkdir -p "${dir}/data" "${dir}/exec"
  echo '{}' >"${dir}/daemon.json"
  printf '\n==== %s testbed.sh: starting dockerd\n' "$(date -Is)" >>"${dir}/dockerd.log"
  # nsenter switches only the network namespace (`ip netns exec` remounts /sys, which breaks
  # dockerd). setsid+nohup: dockerd outlives this script and its terminal or ctest.
  # --config-file: ignore /etc/docker/daemon.json. The containerd namespaces keep the hosts
  # apart should they ever share a system containerd; --cgroup-parent lets `down` find (and
  # remove) every cgroup of our containers.
  # In a subshell that first closes every descriptor above 2: one the caller left open (e.g. a
  # `flock FILE cmd` around us) would otherwise live on in dockerd and hold the caller's lock.
  (
    for fd in /proc/"${BASHPID}"/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec ${fd}>&-"
    done
    exec setsid nohup nsenter --net="${NETNS_DIR}/${ns}" dockerd \
      --host "unix://${dir}/docker.sock" \
      --data-root "${dir}/data" \
      --exec-root "${dir}/exec" \
      --pidfile "${dir}/docker.pid" \
      --bridge none --iptables=false --ip-masq=false \
      --config-file "${dir}/daemon.json" \
      --containerd-namespace "${ns}" \
      --containerd-plugins-namespace "${ns}-plugins" \
      --cgroup-parent "/${ns}" \
      </dev/null >>"${dir}/dockerd.log" 2>&1
  ) &
  LAUNCHED[${k}]=$!
  STARTED+=("${k}")
}

# Waits (with a deadline) until every listed host's dockerd answers /_ping.
wait_dockerds() {
  local deadline pending k next
  deadline=$(($(now_ms) + START_TIMEOUT * 1000))
  pending=("$@")
  while [[ ${#pending[@]} -gt 0 ]]; do
    next=()
    for k in "${pending[@]}"; do
      ping_dockerd "${k}" 1 || next+=("${k}")
    done
    pending=("${next[@]+"${next[@]}"}")
    [[ ${#pending[@]} -eq 0 ]] && break
    if (($(now_ms) > deadline)); then
      for k in "${pending[@]}"; do
        log "host${k}: dockerd does not answer after ${START_TIMEOUT}s; last log lines:"
        tail -n 20 "$(host_dir "${k}")/dockerd.log" >&2 || true
      done
      die "dockerd not ready on: ${pending[*]/#/host}"
    fi
    for k in "${pending[@]}"; do
      # Exited: neither the process this run launched (while it execs nohup, nsenter,
      # dockerd) nor any dockerd of the host runs.
      if ! running "${LAUNCHED[${k}]:-0}" && ! dockerd_pid "${k}" >/dev/null; then
        log "host${k}: dockerd exited; last log lines:"
        tail -n 20 "$(host_dir "${k}")/dockerd.log" >&2 || true
        die "dockerd of host${k} exited during start-up"
      fi
    done
    sleep 0.2
  done
}

# Fills build context $1 (rootfs/, home/, the layer rootfs.tar, the config in "changes") and
# prints its content hash.
make_image_context() {
  local ctx=$1 root name lib libc nss_files
  root=${ctx}/rootfs
  mkdir -p "${root}"/{bin,etc,home,tmp,root,usr/bin,usr/local/bin} "${ctx}/home/standin"
  chmod 1777 "${root}/tmp"
  chmod 0700 "${root}/root"

  local busybox
  busybox=$(readlink -f "$(command -v busybox)")
  # busybox-static, not a dynamically linked busybox: the image has no libraries for it.
  if ldd "${busybox}" >/dev/null 2>&1; then
    die "${busybox} is dynamically linked: install busybox-static"
  fi
  cp "${busybox}" "${root}/bin/busybox"
  # `busybox --install -s /bin` inside the image's root (one process; the loop is the fallback).
  if ! chroot "${root}" /bin/busybox --install -s /bin 2>/dev/null; then
    for name in $("${root}/bin/busybox" --list); do
      if [[ ${name} != busybox && ! -e ${root}/bin/${name} ]]; then
        ln -s /bin/busybox "${root}/bin/${name}"
      fi
    done
  fi

  cp "$(readlink -f /usr/bin/getent)" "${root}/usr/bin/getent"
  for lib in $(ldd /usr/bin/getent | grep -o '/[^ ]*'); do
    mkdir -p "${root}$(dirname "${lib}")"
    cp "$(readlink -f "${lib}")" "${root}${lib}"
    if [[ ${lib} == */libc.so.* ]]; then libc=${lib}; fi
  done
  [[ -n ${libc:-} ]] || die "ldd /usr/bin/getent lists no libc"
  # getent dlopen()s the NSS module for `files` (built into libc since glibc 2.34, kept for
  # older ones): take the one beside libc.
  nss_files=$(ldconfig -p | awk -v dir="$(dirname "${libc}")" \
    '$1 == "libnss_files.so.2" && index($NF, dir "/") == 1 { print $NF; exit }')
  if [[ -z ${nss_files} ]]; then
    nss_files=$(ldconfig -p | awk '$1 == "libnss_files.so.2" { print $NF; exit }')
  fi
  if [[ -n ${nss_files} ]]; then
    mkdir -p "${root}$(dirname "${nss_files}")"
    cp "$(readlink -f "${nss_files}")" "${root}${nss_files}"
  fi

  cp "${STANDIN_BIN}" "${root}/usr/local/bin/standin"
  cat >"${root}/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
shadow: files
hosts: files dns
networks: files
EOF
  cat >"${root}/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
standin:x:1000:1000:standin:/home/standin:/bin/sh
EOF
  cat >"${root}/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nobody:x:65534:
standin:x:1000:
EOF
  # The image config, as `docker import --change` instructions (one per line).
  cat >"${ctx}/changes" <<'EOF'
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT ["/usr/local/bin/standin"]
EOF
  local hash
  hash=$(cd "${ctx}" && {
    cat changes
    find rootfs home -printf '%p %y %m %l\n' | LC_ALL=C sort
    find rootfs home -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-32)
  echo "LABEL ${IMAGE_LABEL}=${hash}" >>"${ctx}/changes"
  # The layer: everything owned by root, /home/standin by the user 1000.
  tar -C "${ctx}/rootfs" --sort=name --numeric-owner --owner=0 --group=0 -cf "${ctx}/rootfs.tar" .
  tar -C "${ctx}" --sort=name --numeric-owner --owner=1000 --group=1000 -rf "${ctx}/rootfs.tar" \
    ./home/standin
  echo "${hash}"
}

image_hash_on() {
  dk "$1" image inspect -f "{{index .Config.Labels \"${IMAGE_LABEL}\"}}" "${IMAGE}" 2>/dev/null ||
    true
}

# Builds ${IMAGE} once and loads it into every host that lacks this exact content.
ensure_image() {
  local ctx hash k missing=() source='' pids=() failed=0 i
  # Under the state directory: `down` removes it even when a killed `up` could not.
  ctx=$(mktemp -d "${STATE_DIR}/image-build.XXXXXX")
  TMP_DIRS+=("${ctx}")
  hash=$(make_image_context "${ctx}")
  for k in "$@"; do
    if [[ $(image_hash_on "${k}") == "${hash}" ]]; then
      source=${source:-${k}}
    else
      missing+=("${k}")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "image ${IMAGE} (${hash:0:12}) already on ${*/#/host}"
    return 0
  fi
  if [[ -z ${source} ]]; then
    source=${missing[0]}
    missing=("${missing[@]:1}")
    log "host${source}: building ${IMAGE} (${hash:0:12})"
    # `docker import` of the root filesystem: a FROM-scratch image of one layer, made in a
    # tenth of a second (`docker build` takes a second or more: a container per instruction).
    local changes=() line
    while IFS= read -r line; do
      changes+=(--change "${line}")
    done <"${ctx}/changes"
    dk "${source}" import "${changes[@]}" "${ctx}/rootfs.tar" "${IMAGE}" >"${ctx}/build.log" 2>&1 ||
      {
        cat "${ctx}/build.log" >&2
        die "docker import of ${IMAGE} failed on host${source}"
      }
  fi
  [[ ${#missing[@]} -gt 0 ]] || return 0
  log "built ($(elapsed)); loading ${IMAGE} into ${missing[*]/#/host} (from host${source})"
  dk "${source}" save -o "${ctx}/image.tar" "${IMAGE}"
  for k in "${missing[@]}"; do
    dk "${k}" load -q -i "${ctx}/image.tar" >"${ctx}/load${k}.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[i]}"; then
      cat "${ctx}/load${missing[i]}.log" >&2
      failed=1
    fi
  done
  [[ ${failed} -eq 0 ]] || die "docker load of ${IMAGE} failed"
}

cmd_up() {
  local n='' driver='' subnet='' image_hosts=all
  while [[ $# -gt 0 ]]; do
    case $1 in
      --driver)
        [[ $# -ge 2 ]] || die "--driver needs a value"
        driver=$2 && shift 2
        ;;
      --driver=*) driver=${1#*=} && shift ;;
      --subnet)
        [[ $# -ge 2 ]] || die "--subnet needs a value"
        subnet=$2 && shift 2
        ;;
      --subnet=*) subnet=${1#*=} && shift ;;
      --image-host1-only) image_hosts=host1 && shift ;;
      -h | --help) usage && exit 0 ;;
      -*) die_usage "unknown option $1 (see --help)" ;;
      *)
        [[ -z ${n} ]] || die "unexpected argument $1"
        n=$1 && shift
        ;;
    esac
  done
  [[ ${n} =~ ^[1-9][0-9]*$ ]] ||
    die "usage: testbed.sh up N [--driver macvlan|ipvlan] [--subnet CIDR]"
  require_root
  require_commands ip nsenter unshare chroot tar setsid dockerd docker curl g++ busybox flock \
    ldd ldconfig sha256sum timeout pgrep
  take_lock

  read_env_file
  if [[ -n ${ENV_SUBNET} && -n ${subnet} ]]; then
    parse_subnet "${subnet}"
    [[ $(subnet_cidr) == "${ENV_SUBNET}" ]] ||
      die "testbed is up with subnet ${ENV_SUBNET}: run 'testbed.sh down' to change it"
  fi
  subnet=${subnet:-${ENV_SUBNET:-${DEFAULT_SUBNET}}}
  driver=${driver:-${ENV_DRIVER:-${DEFAULT_DRIVER}}}
  [[ ${driver} == macvlan || ${driver} == ipvlan ]] || die "bad driver '${driver}' (macvlan|ipvlan)"
  parse_subnet "${subnet}"
  subnet=$(subnet_cidr)
  ((10 + n < NET_SIZE / 2)) || die "${n} hosts do not fit the lower half of ${subnet}"
  probe_driver "${driver}"

  mkdir -p "${STATE_DIR}"
  chmod 0711 "${STATE_DIR}"
  write_env_file "${subnet}" "${driver}" "${ENV_HOSTS}"

  # Directories that a first run creates outside ${STATE_DIR} (shim sockets of containerd,
  # libmount's lock) and `down` removes again if they are empty.
  if [[ ! -e ${STATE_DIR}/created-dirs ]]; then
    local d
    for d in /run/containerd /run/mount; do
      [[ -e ${d} ]] || echo "${d}"
    done >"${STATE_DIR}/created-dirs"
  fi

  # The compiler runs while the network and the daemons come up.
  local build_pid
  if [[ ! -x ${STANDIN_BIN} || ${STANDIN_SRC} -nt ${STANDIN_BIN} ]]; then
    log "compiling standin (in the background)"
  fi
  build_standin >"${STATE_DIR}/standin-build.log" 2>&1 &
  build_pid=$!

  ensure_bridge
  ensure_forwarding
  local k
  STARTED=()
  declare -gA LAUNCHED=()
  # Hosts 1..N, and any more that an earlier `up` made: all of them are repaired if need be.
  local wanted=() max=${n}
  for k in $(existing_hosts); do
    ((k <= max)) || max=${k}
  done
  for ((k = 1; k <= max; k++)); do
    if ((k > n)) && [[ ! -d $(host_dir "${k}") ]]; then
      continue
    fi
    wanted+=("${k}")
  done
  for k in "${wanted[@]}"; do
    mkdir -p "$(host_dir "${k}")"
    echo "rack=$(rack_of "${k}")" >"$(host_dir "${k}")/labels"
    ensure_netns "${k}"
    ensure_link "${k}"
    ensure_dockerd "${k}"
  done
  if [[ ${#STARTED[@]} -gt 0 ]]; then
    log "started dockerd on ${STARTED[*]/#/host}"
  fi
  if ! wait "${build_pid}"; then
    cat "${STATE_DIR}/standin-build.log" >&2
    die "compiling ${STANDIN_SRC} failed"
  fi
  local hosts=()
  read -r -a hosts <<<"$(existing_hosts)"
  wait_dockerds "${hosts[@]}"
  log "standin compiled, dockerd answers on every host ($(elapsed))"
  if [[ ${image_hosts} == host1 ]]; then
    ensure_image 1 # the others get it from `bdcoord images push` (deploy/quickstart.sh)
  else
    ensure_image "${hosts[@]}"
  fi
  write_env_file "${subnet}" "${driver}" "${hosts[*]}"
  log "up: ${hosts[*]/#/host} on ${subnet} (${driver}) in $(elapsed)"
}

# --- down -----------------------------------------------------------------------------------

cmd_down() {
  require_root
  take_lock
  local k hosts=() ns

  # Hosts known by state directory or by namespace.
  read -r -a hosts <<<"$(existing_hosts)"
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' |
    grep -E "^${NS_PREFIX}[0-9]+$" || true); do
    k=${ns#"${NS_PREFIX}"}
    [[ " ${hosts[*]} " == *" ${k} "* ]] || hosts+=("${k}")
  done

  # 1. Stop the containers through each daemon, all hosts at once.
  local pids=() ids
  DK_TIMEOUT=30
  for k in "${hosts[@]}"; do
    ping_dockerd "${k}" 2 || continue
    ids=$(dk "${k}" ps -q 2>/dev/null || true)
    [[ -n ${ids} ]] || continue
    log "host${k}: stopping $(wc -w <<<"${ids}") container(s)"
    # shellcheck disable=SC2086  # a list of IDs
    dk "${k}" stop -t 5 ${ids} >/dev/null 2>&1 &
    pids+=($!)
  done
  for k in "${pids[@]}"; do
    wait "${k}" || true
  done

  # 2. SIGTERM every dockerd; SIGKILL what is left at the deadline.
  local dpids=() pid left
  for k in "${hosts[@]}"; do
    pid=$(dockerd_pid "${k}") && dpids+=("${pid}")
  done
  if [[ ${#dpids[@]} -gt 0 ]]; then
    log "stopping dockerd ${dpids[*]}"
    kill -TERM "${dpids[@]}" 2>/dev/null || true
    left=$(wait_gone "${STOP_TIMEOUT}" "${dpids[@]}")
    if [[ -n ${left} ]]; then
      log "dockerd ${left} still running after ${STOP_TIMEOUT}s: SIGKILL"
      # shellcheck disable=SC2086  # a list of PIDs
      kill -KILL ${left} 2>/dev/null || true
      # shellcheck disable=SC2086
      wait_gone 10 ${left} >/dev/null
    fi
  fi

  # 3. Whatever of ours survived: processes in our namespaces or container cgroups, and the
  #    containerd/shims of our daemons.
  local rest=() inode
  for k in "${hosts[@]}"; do
    inode=$(netns_inode "${NETNS_DIR}/$(host_ns "${k}")")
    read -r -a pids <<<"$(pids_in_netns "${inode}" | tr '\n' ' ')"
    rest+=("${pids[@]+"${pids[@]}"}")
  done
  read -r -a pids <<<"$(pids_in_our_cgroups | tr '\n' ' ')"
  rest+=("${pids[@]+"${pids[@]}"}")
  read -r -a pids <<<"$(pids_of_our_runtime | tr '\n' ' ')"
  rest+=("${pids[@]+"${pids[@]}"}")
  if [[ ${#rest[@]} -gt 0 ]]; then
    read -r -a rest <<<"$(printf '%s\n' "${rest[@]}" | sort -un | tr '\n' ' ')"
    log "terminating leftover processes ${rest[*]}"
    terminate "${rest[@]}"
  fi

  # 4. Mounts under the state directory (overlays, namespace files), deepest first.
  unmount_state
  # 5. Namespaces (their eth0 and veth peers go with them), links, bridge, firewall rule.
  for k in "${hosts[@]}"; do
    ns=$(host_ns "${k}")
    if [[ -e ${NETNS_DIR}/${ns} ]]; then
      ip netns delete "${ns}" 2>/dev/null || {
        umount -l "${NETNS_DIR}/${ns}" 2>/dev/null || true
        rm -f "${NETNS_DIR}/${ns}"
      }
    fi
  done
  local link d
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
    grep -E "^(${VETH_PREFIX}[0-9]+|${BRIDGE})$" || true); do
    ip link del "${link}" 2>/dev/null || true
  done
  if command -v iptables >/dev/null 2>&1; then
    while iptables -w 10 -D "${IPT_RULE[@]}" >/dev/null 2>&1; do :; done
  fi
  # 6. Our (empty) container cgroup parents.
  local cg
  while read -r cg; do
    rmdir "${cg}" 2>/dev/null || true
  done < <(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -depth -type d \
    -path "*/${NS_PREFIX}[0-9]*" 2>/dev/null)
  # 7. The state directory, once nothing is mounted under it, and the directories that our first
  #    `up` made elsewhere, when they are empty.
  if [[ -e ${STATE_DIR} ]]; then
    if grep -q " ${STATE_DIR}[/ ]" /proc/self/mountinfo; then
      die "still mounted under ${STATE_DIR}: not deleting it"
    fi
    local created=()
    mapfile -t created < <(cat "${STATE_DIR}/created-dirs" 2>/dev/null || true)
    rm -rf "${STATE_DIR}"
    for d in "${created[@]+"${created[@]}"}"; do
      if [[ ${d} == /run/containerd ]]; then rmdir "${d}/s" 2>/dev/null || true; fi
      rmdir "${d}" 2>/dev/null || true
    done
  fi
  check_clean
}

unmount_state() {
  local mp tries mps
  for tries in 1 2 3; do
    mapfile -t mps < <(awk -v dir="${STATE_DIR}" \
      '$5 == dir || index($5, dir "/") == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
      sort -rn | cut -d' ' -f2- | uniq)
    [[ ${#mps[@]} -gt 0 ]] || return 0
    [[ ${tries} -gt 1 ]] || log "unmounting ${#mps[@]} mount(s) under ${STATE_DIR}"
    for mp in "${mps[@]}"; do
      # mountinfo escapes spaces and such as \040: let printf decode them.
      mp=$(printf '%b' "${mp}")
      umount "${mp}" 2>/dev/null || umount -l "${mp}" 2>/dev/null || true
    done
  done
}

# Reports anything of ours that is left (and fails then).
check_clean() {
  local problems=()
  ip netns list 2>/dev/null | grep -q "^${NS_PREFIX}[0-9]" && problems+=("namespaces")
  ip -o link show 2>/dev/null | grep -qE ": (${VETH_PREFIX}[0-9]+|${BRIDGE})[@:]" &&
    problems+=("links")
  grep -q "${STATE_DIR}" /proc/self/mountinfo && problems+=("mounts")
  [[ -n $(pids_of_our_runtime) ]] && problems+=("processes")
  [[ -e ${STATE_DIR} ]] && problems+=("${STATE_DIR}")
  if [[ ${#problems[@]} -gt 0 ]]; then
    die "down left behind: ${problems[*]}"
  fi
  log "down: nothing left"
}

# --- env, status ----------------------------------------------------------------------------

cmd_env() {
  read_env_file
  [[ -n ${ENV_SUBNET} && -n ${ENV_HOSTS} ]] ||
    die "the testbed is not up (no ${STATE_DIR}/testbed.env): run 'testbed.sh up N'"
  parse_subnet "${ENV_SUBNET}"
  local k names=() K
  for k in ${ENV_HOSTS}; do
    names+=("host${k}")
  done
  cat <<EOF
export BDCOORD_TESTBED_ROOT=${STATE_DIR}
export BDCOORD_TESTBED_HOSTS="${names[*]}"
export BDCOORD_TESTBED_SUBNET=${ENV_SUBNET}
export BDCOORD_TESTBED_GATEWAY=$(gateway_ip)
export BDCOORD_TESTBED_IP_RANGE=$(ip_range)
export BDCOORD_TESTBED_DRIVER=${ENV_DRIVER}
export BDCOORD_TESTBED_PARENT=${PARENT}
export BDCOORD_TESTBED_BRIDGE=${BRIDGE}
export BDCOORD_TESTBED_IMAGE=${IMAGE}
EOF
  for k in ${ENV_HOSTS}; do
    K=HOST${k}
    cat <<EOF
export BDCOORD_TESTBED_${K}_SOCK=$(host_sock "${k}")
export BDCOORD_TESTBED_${K}_DOCKER_HOST=unix://$(host_sock "${k}")
export BDCOORD_TESTBED_${K}_NETNS=${NETNS_DIR}/$(host_ns "${k}")
export BDCOORD_TESTBED_${K}_ADDR=$(host_ip "${k}")
export BDCOORD_TESTBED_${K}_LABELS="$(paste -sd, "$(host_dir "${k}")/labels" 2>/dev/null)"
export BDCOORD_TESTBED_${K}_RACK=$(rack_of "${k}")
EOF
  done
}

cmd_status() {
  read_env_file
  if [[ -z ${ENV_HOSTS} && ! -d ${STATE_DIR} ]]; then
    echo "testbed: down"
    return 0
  fi
  echo "testbed: subnet ${ENV_SUBNET:-?} driver ${ENV_DRIVER:-?}"
  local k pid state containers image
  for k in $(existing_hosts); do
    pid=$(dockerd_pid "${k}" || echo -)
    if ping_dockerd "${k}" 2; then
      state=up
      containers=$(dk "${k}" ps -q 2>/dev/null | wc -l)
      image=$(image_hash_on "${k}")
    else
      state=down containers=- image=
    fi
    printf 'host%s  ns=%s  addr=%s  dockerd=%s (%s)  running=%s  image=%s\n' "${k}" \
      "$(host_ns "${k}")" "$(parse_subnet "${ENV_SUBNET:-${DEFAULT_SUBNET}}" && host_ip "${k}")" \
      "${pid}" "${state}" "${containers}" "${image:0:12}"
  done
}

# Turns dockerd's debug log (one line per API request) on or off on every host, live.
cmd_debug() {
  local mode=${1:-} json k pid
  case ${mode} in
    on) json='{"debug": true}' ;;
    off) json='{}' ;;
    *) die "usage: testbed.sh debug on|off" ;;
  esac
  require_root
  read_env_file
  [[ -n ${ENV_HOSTS} ]] || die "the testbed is not up: run 'testbed.sh up N'"
  for k in ${ENV_HOSTS}; do
    pid=$(dockerd_pid "${k}") || die "host${k}: dockerd is not running"
    echo "${json}" >"$(host_dir "${k}")/daemon.json"
    kill -HUP "${pid}"
  done
  log "dockerd debug ${mode} on ${ENV_HOSTS// /, }"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case ${cmd} in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    env) cmd_env "$@" ;;
    status) cmd_status "$@" ;;
    debug) cmd_debug "$@" ;;
    -h | --help | help) usage ;;
    "") usage >&2 && exit 2 ;;
    *) die_usage "unknown command '${cmd}' (see --help)" ;;
  esac
}

main "$@"
