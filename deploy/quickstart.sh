#!/usr/bin/env bash
# deploy/quickstart.sh: bdcoord on one fresh Debian 12 machine, as root. Installs the Debian
# packages, builds bdcoord, bdcoordd and bdagent, brings up a 4-host testbed (deploy/testbed.sh:
# a network namespace and a dockerd per simulated host, and the stand-in image), starts the
# coordinator and one agent per host, and applies the 36-container Big Data example
# (deploy/examples/bigdata-demo.yaml), or with --real the real ZooKeeper, Kafka, HDFS, Flink and
# Drill (deploy/examples/bigdata-real.yaml, images from deploy/images/) and their proof. Safe to
# re-run. `quickstart.sh --help` for the commands.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
readonly SCRIPT_PATH
REPO_DIR=$(dirname "$(dirname "${SCRIPT_PATH}")")
readonly REPO_DIR

readonly HOSTS=4
readonly RUN_DIR=${BDCOORD_QUICKSTART_RUN_DIR:-/run/bdcoord-quickstart}
readonly DATA_DIR=${BDCOORD_QUICKSTART_DATA_DIR:-/var/lib/bdcoord-quickstart}
readonly SOCKET=${RUN_DIR}/bdcoordd.sock
readonly ADDR=unix://${SOCKET}
SPEC=deploy/examples/bigdata-demo.yaml
readonly REAL_SPEC=deploy/examples/bigdata-real.yaml
readonly CLUSTER=bigdata
readonly TESTBED=${REPO_DIR}/deploy/testbed.sh
readonly TESTBED_ROOT=/run/bdcoord-testbed
BUILD_DIR=${BDCOORD_BUILD_DIR:-build}
[[ ${BUILD_DIR} == /* ]] || BUILD_DIR=${REPO_DIR}/${BUILD_DIR}
readonly BUILD_DIR
readonly JOBS=${BDCOORD_BUILD_JOBS:-$(nproc)}
# Seconds to wait for the agents to connect and for `bdcoord apply` to finish.
readonly CONNECT_TIMEOUT=${BDCOORD_QUICKSTART_CONNECT_TIMEOUT:-60}
APPLY_TIMEOUT=${BDCOORD_QUICKSTART_APPLY_TIMEOUT:-300}
readonly STOP_TIMEOUT=10

readonly BDCOORD=${BUILD_DIR}/cli/bdcoord
readonly BDCOORDD=${BUILD_DIR}/coordinator/bdcoordd
readonly BDAGENT=${BUILD_DIR}/agent/bdagent

usage() {
  cat <<EOF
Usage: deploy/quickstart.sh [up] [--no-apply | --real]
       deploy/quickstart.sh down
       deploy/quickstart.sh --help

up (the default), as root on Debian 12:
  1. deploy/install-deps.sh (Debian packages only)
  2. builds bdcoord, bdcoordd, bdagent in ${BUILD_DIR} (BDCOORD_BUILD_DIR, -j${JOBS})
  3. deploy/testbed.sh up ${HOSTS} --image-host1-only: hosts host1..host${HOSTS} (rack r1 r2 r3
     r1), a dockerd each on ${TESTBED_ROOT}/hostK/docker.sock, the image
     bdcoord/standin:latest made on host1
  4. bdcoordd on ${ADDR}, state in ${DATA_DIR}
  5. one bdagent per host, in the host's network namespace, labelled with its rack
  6. waits until the ${HOSTS} hosts are connected, \`bdcoord images push\`es the stand-in image
     from host1 to the hosts that lack it (no registry), applies ${SPEC}
     (36 containers: ZooKeeper, Kafka, HDFS, Flink, Drill stand-ins), prints the status and a
     cross-host name lookup
  --no-apply   stops after the push of step 6: everything runs, nothing is applied
  --real       the real systems instead of stand-ins: builds the images of deploy/images/
               (Debian 12, OpenJDK 17, the jars from Maven Central: about 5 min the first
               time, then seconds) on host1, pushes them to the other hosts with
               \`bdcoord images push\` (the hosts that have them skipped), gives the LAN bridge the
               network's gateway 10.0.50.1/24 (so this machine reaches the containers),
               applies ${REAL_SPEC} (18 containers: 3 ZooKeeper, 3 Kafka,
               NameNode and 3 DataNodes, 2 Flink JobManagers and 2 TaskManagers, 3 Drillbits;
               about 3 min) and prints the proof: each system checked with its own client
               (deploy/real/checks.sh)

  Re-running is safe: daemons that run the current binaries are kept, others are restarted;
  a second apply converges (changes nothing that is already right).

down: removes the cluster, stops the agents and bdcoordd, takes the testbed down (every container
  with it), deletes ${RUN_DIR} and ${DATA_DIR}. The build stays.

Logs, pid files: ${RUN_DIR}/{bdcoordd,agent-hostK}.{log,pid}, apply.log.
After up:  export BDCOORD_ADDR=${ADDR}   (then bdcoord status, hosts, ...)
EOF
}

# Bold only on a terminal: a log file or a pipe gets no escape codes.
if [[ -t 2 ]]; then
  log() { printf '\033[1mquickstart:\033[0m %s\n' "$*" >&2; }
else
  log() { printf 'quickstart: %s\n' "$*" >&2; }
fi
die() {
  printf 'quickstart: error: %s\n' "$*" >&2
  exit 1
}
# A command line it does not understand: exit 2, like every script's unknown option.
die_usage() {
  printf 'quickstart: error: %s\n' "$*" >&2
  exit 2
}

# The tail of every log of ours, for an error message.
show_logs() {
  local f
  for f in "${RUN_DIR}"/*.log; do
    [[ -s ${f} ]] || continue
    printf '\n== %s (last 15 lines)\n' "${f}" >&2
    tail -n 15 "${f}" >&2
  done
  printf '\nlogs: %s/*.log; testbed: %s status\n' "${RUN_DIR}" "${TESTBED}" >&2
}

die_with_logs() {
  printf 'quickstart: error: %s\n' "$*" >&2
  show_logs
  exit 1
}

require_root() {
  [[ ${EUID} -eq 0 ]] || die "must run as root (it installs packages and starts dockerd)"
}

# --- processes ------------------------------------------------------------------------------

# The pid in pid file $1 when that process runs binary $2 (by name) with argument $3.
our_pid() {
  local file=$1 name=$2 arg=$3 pid cmdline
  pid=$(cat "${file}" 2>/dev/null || true)
  [[ ${pid} =~ ^[0-9]+$ ]] || return 1
  [[ $(cat "/proc/${pid}/comm" 2>/dev/null) == "${name}" ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null) || return 1
  [[ " ${cmdline} " == *" ${arg} "* ]] || return 1
  echo "${pid}"
}

# Whether PID runs the binary $2 as it is now (not a file since replaced by a rebuild).
runs_current_binary() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ ${exe} == "$(readlink -f "$2")" ]]
}

# SIGTERM, then SIGKILL after STOP_TIMEOUT seconds.
stop_pid() {
  local pid=$1 what=$2 deadline
  kill -TERM "${pid}" 2>/dev/null || return 0
  deadline=$((SECONDS + STOP_TIMEOUT))
  while [[ -d /proc/${pid} ]] && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if [[ -d /proc/${pid} ]]; then
    log "${what} (${pid}) did not stop in ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
  fi
}

# Starts "$@" detached (own session, no inherited descriptors beyond 0-2, output to $2's log),
# writes its pid to $1.
start_daemon() {
  local pidfile=$1 logfile=$2
  shift 2
  (
    local fd
    for fd in /proc/"${BASHPID}"/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec ${fd}>&-" 2>/dev/null
    done
    exec setsid "$@" </dev/null >>"${logfile}" 2>&1
  ) &
  echo $! >"${pidfile}"
}

# --- up -------------------------------------------------------------------------------------

# Copies the build's output to build.log and shows its progress from ninja's [N/M] lines: on a
# terminal one line redrawn in place, otherwise a line at each tenth.
build_progress() {
  local line done_steps all_steps percent shown=-1 drawn=0
  while IFS= read -r line; do
    printf '%s\n' "${line}" >>"${RUN_DIR}/build.log"
    [[ ${line} =~ ^\[([0-9]+)/([0-9]+)\] ]] || continue
    done_steps=${BASH_REMATCH[1]} all_steps=${BASH_REMATCH[2]}
    percent=$((100 * done_steps / all_steps))
    if [[ -t 2 ]]; then
      printf '\r  build: %3d %% (%d of %d steps), %d s' "${percent}" "${done_steps}" \
        "${all_steps}" $((SECONDS - BUILD_START)) >&2
      drawn=1
    elif ((percent / 10 > shown)); then
      shown=$((percent / 10))
      printf '  build: %3d %% (%d of %d steps), %d s\n' "${percent}" "${done_steps}" \
        "${all_steps}" $((SECONDS - BUILD_START)) >&2
    fi
  done
  if ((drawn)); then printf '\n' >&2; fi
}

build() {
  log "building bdcoord, bdcoordd, bdagent in ${BUILD_DIR} (about 6 min the first time, -j ${JOBS}; log: ${RUN_DIR}/build.log)"
  BUILD_START=${SECONDS}
  cmake -S "${REPO_DIR}" -B "${BUILD_DIR}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >"${RUN_DIR}/build.log" 2>&1 || die_with_logs "cmake failed (${RUN_DIR}/build.log)"
  cmake --build "${BUILD_DIR}" -j "${JOBS}" --target bdcoord bdcoordd bdagent 2>&1 |
    build_progress || die_with_logs "build failed (${RUN_DIR}/build.log)"
  log "built in $((SECONDS - BUILD_START)) s"
}

ensure_coordinator() {
  local pid pidfile=${RUN_DIR}/bdcoordd.pid
  if pid=$(our_pid "${pidfile}" bdcoordd "${ADDR}"); then
    if runs_current_binary "${pid}" "${BDCOORDD}"; then
      log "bdcoordd already running (pid ${pid})"
      return 0
    fi
    log "bdcoordd (pid ${pid}) runs an older build: restarting it"
    stop_pid "${pid}" bdcoordd
  fi
  mkdir -p "${DATA_DIR}"
  start_daemon "${pidfile}" "${RUN_DIR}/bdcoordd.log" \
    "${BDCOORDD}" --listen "${ADDR}" --data-dir "${DATA_DIR}"
  local deadline=$((SECONDS + 15))
  until [[ -S ${SOCKET} ]] && "${BDCOORD}" hosts --coordinator "${ADDR}" >/dev/null 2>&1; do
    pid=$(cat "${pidfile}")
    [[ -d /proc/${pid} ]] || die_with_logs "bdcoordd exited at start (${RUN_DIR}/bdcoordd.log)"
    ((SECONDS < deadline)) || die_with_logs "bdcoordd does not answer on ${ADDR} after 15s"
    sleep 0.1
  done
  log "bdcoordd started (pid $(cat "${pidfile}")) on ${ADDR}, data in ${DATA_DIR}"
}

# The rack label of testbed host $1 (rack=r1), from the testbed's environment.
host_labels() {
  local var=BDCOORD_TESTBED_${1^^}_LABELS
  echo "${!var:-}"
}

ensure_agent() {
  local host=$1 pid pidfile=${RUN_DIR}/agent-$1.pid netns=/var/run/netns/bdcoord-$1
  local label_args=() label
  if pid=$(our_pid "${pidfile}" bdagent "${host}"); then
    # A testbed that was taken down and up again has new namespaces: the agent must follow.
    if runs_current_binary "${pid}" "${BDAGENT}" &&
      [[ $(stat -L -c %i "/proc/${pid}/ns/net" 2>/dev/null) == "$(stat -L -c %i "${netns}")" ]]; then
      return 0
    fi
    log "${host}: bdagent (pid ${pid}) runs an older build or namespace: restarting it"
    stop_pid "${pid}" "bdagent ${host}"
  fi
  IFS=, read -r -a labels <<<"$(host_labels "${host}")"
  for label in "${labels[@]+"${labels[@]}"}"; do
    label_args+=(--label "${label}")
  done
  start_daemon "${pidfile}" "${RUN_DIR}/agent-${host}.log" \
    nsenter --net="${netns}" "${BDAGENT}" --coordinator "${ADDR}" --host-name "${host}" \
    --docker-socket "${TESTBED_ROOT}/${host}/docker.sock" --config /dev/null \
    --state-dir "${RUN_DIR}/agent-${host}" "${label_args[@]+"${label_args[@]}"}"
  log "${host}: bdagent started (pid $(cat "${pidfile}"), ${label_args[*]:-no labels})"
}

connected_hosts() {
  "${BDCOORD}" hosts --coordinator "${ADDR}" -o json 2>/dev/null | grep -c '"connected": true' ||
    true
}

wait_for_hosts() {
  local deadline=$((SECONDS + CONNECT_TIMEOUT)) n=0 k
  while :; do
    n=$(connected_hosts)
    ((n >= HOSTS)) && break
    for k in $(seq 1 "${HOSTS}"); do
      [[ -d /proc/$(cat "${RUN_DIR}/agent-host${k}.pid") ]] ||
        die_with_logs "bdagent of host${k} exited (${RUN_DIR}/agent-host${k}.log)"
    done
    ((SECONDS < deadline)) ||
      die_with_logs "only ${n} of ${HOSTS} hosts connected after ${CONNECT_TIMEOUT}s"
    sleep 0.2
  done
  log "${n} hosts connected"
}

# The testbed host that runs container $1, empty when none does.
host_of() {
  local k
  for k in $(seq 1 "${HOSTS}"); do
    if [[ $(docker -H "unix://${TESTBED_ROOT}/host${k}/docker.sock" inspect -f '{{.State.Running}}' \
      "$1" 2>/dev/null) == true ]]; then
      echo "host${k}"
      return 0
    fi
  done
}

show_lookup() {
  local from=zk1 from_host to to_host h sock ip out
  from_host=$(host_of "${from}")
  [[ -n ${from_host} ]] || die_with_logs "${from} is not running on any host"
  # A kafka broker on another host than zk1.
  for to in kafka1 kafka2 kafka3 kafka4 kafka5; do
    to_host=$(host_of "${to}")
    [[ -n ${to_host} && ${to_host} != "${from_host}" ]] && break
  done
  sock=unix://${TESTBED_ROOT}/${from_host}/docker.sock
  h="docker -H ${sock} exec ${from}"
  echo
  echo "== from ${from} (on ${from_host}) to ${to} (on ${to_host}), by name, no DNS server:"
  echo "\$ ${h} getent hosts ${to}"
  out=$(docker -H "${sock}" exec "${from}" getent hosts "${to}") ||
    die_with_logs "${from} cannot resolve ${to}"
  echo "${out}"
  ip=${out%%[[:space:]]*}
  # The services run as non-root users; ping needs root's NET_RAW capability.
  echo "\$ docker -H ${sock} exec -u 0 ${from} ping -c 1 -W 2 ${to}"
  docker -H "${sock}" exec -u 0 "${from}" ping -c 1 -W 2 "${to}" ||
    die_with_logs "${from} cannot ping ${to} (${ip}) across hosts"
  echo "\$ ${h} sh -c 'nc -w 2 ${to} 9092 </dev/null && echo connected to ${to}:9092'"
  docker -H "${sock}" exec "${from}" sh -c "nc -w 2 ${to} 9092 </dev/null && echo connected to ${to}:9092" ||
    die_with_logs "${from} cannot connect to ${to}:9092"
  echo "\$ ${h} getent hosts ${ip}        # reverse: the FQDN first"
  docker -H "${sock}" exec "${from}" getent hosts "${ip}" ||
    die_with_logs "no reverse lookup of ${ip} in ${from}"
}

# The stand-in image from host1 (testbed.sh made it there) to the hosts that lack it, through
# bdcoordd: no registry, no `docker load` on each host.
push_standin() {
  local image=bdcoord/standin:latest
  echo
  echo "== bdcoord images push ${image}   # from host1's Docker to the hosts that lack it"
  DOCKER_HOST=unix://${TESTBED_ROOT}/host1/docker.sock \
    "${BDCOORD}" images push "${image}" --coordinator "${ADDR}" 2>&1 | tee "${RUN_DIR}/images-push.log" ||
    die_with_logs "bdcoord images push ${image} failed (${RUN_DIR}/images-push.log)"
}

# --real: the images on every host, and this machine on the containers' network.
prepare_real() {
  log "building the real systems' images on host1 (deploy/images/build.sh; log ${RUN_DIR}/images.log)"
  DOCKER_HOST=unix://${TESTBED_ROOT}/host1/docker.sock "${REPO_DIR}/deploy/images/build.sh" \
    >"${RUN_DIR}/images.log" 2>&1 || die_with_logs "deploy/images/build.sh failed (${RUN_DIR}/images.log)"
  source "${REPO_DIR}/deploy/real/checks.sh"
  REAL_ADDR=${ADDR} REAL_WORK=${RUN_DIR}/real
  mkdir -p "${REAL_WORK}"
  fail() { die_with_logs "$*"; }
  log "pushing them to the hosts that lack them (bdcoord images push; output ${REAL_WORK}/push.out)"
  local images
  mapfile -t images < <(real_spec_images "${REPO_DIR}/${REAL_SPEC}")
  DOCKER_HOST=unix://${TESTBED_ROOT}/host1/docker.sock real_push_images "${images[@]}"
  real_gateway_up || die "cannot give ${REAL_BRIDGE} the address ${REAL_GATEWAY}"
}

# --real: each system checked with its own client (deploy/real/checks.sh).
show_real_proof() {
  REAL_ADDR=${ADDR} REAL_WORK=${RUN_DIR}/real
  mkdir -p "${REAL_WORK}"
  fail() { die_with_logs "$*"; }
  echo
  echo "== the proof, each system checked with its own client (outputs in ${REAL_WORK})"
  real_locate
  real_check_all
}

cmd_up() {
  local apply=1 real=0
  while [[ $# -gt 0 ]]; do
    case $1 in
      --no-apply) apply=0 ;;
      --real)
        real=1
        SPEC=${REAL_SPEC}
        APPLY_TIMEOUT=${BDCOORD_QUICKSTART_APPLY_TIMEOUT:-600}
        ;;
      -h | --help) usage && exit 0 ;;
      *) die_usage "unknown argument '$1' (see --help)" ;;
    esac
    shift
  done
  require_root
  cd "${REPO_DIR}"
  mkdir -p "${RUN_DIR}"
  chmod 0700 "${RUN_DIR}"

  log "installing Debian packages (deploy/install-deps.sh)"
  deploy/install-deps.sh || die "deploy/install-deps.sh failed"
  build
  log "bringing up the ${HOSTS}-host testbed (deploy/testbed.sh up ${HOSTS} --image-host1-only)"
  "${TESTBED}" up "${HOSTS}" --image-host1-only 2>"${RUN_DIR}/testbed.log" ||
    die_with_logs "deploy/testbed.sh up ${HOSTS} failed (${RUN_DIR}/testbed.log)"
  local env
  env=$("${TESTBED}" env) || die "deploy/testbed.sh env failed"
  eval "${env}"

  ensure_coordinator
  local k
  for k in $(seq 1 "${HOSTS}"); do
    ensure_agent "host${k}"
  done
  wait_for_hosts
  echo
  "${BDCOORD}" hosts --coordinator "${ADDR}"
  push_standin

  ((apply && real)) && prepare_real
  if ((apply)); then
    # The other example's cluster has the same name and network, with other addresses.
    if [[ -f ${RUN_DIR}/applied && $(cat "${RUN_DIR}/applied") != "${SPEC}" ]]; then
      log "removing the cluster of $(cat "${RUN_DIR}/applied") first"
      timeout 300 "${BDCOORD}" down -c "${CLUSTER}" --coordinator "${ADDR}" >/dev/null ||
        die_with_logs "bdcoord down -c ${CLUSTER} failed"
    fi
    echo
    echo "== bdcoord apply ${SPEC}"
    if ! timeout "${APPLY_TIMEOUT}" "${BDCOORD}" apply "${SPEC}" --coordinator "${ADDR}" 2>&1 |
      tee "${RUN_DIR}/apply.log"; then
      die_with_logs "bdcoord apply ${SPEC} failed or took more than ${APPLY_TIMEOUT}s" \
        "(${RUN_DIR}/apply.log)"
    fi
    echo "${SPEC}" >"${RUN_DIR}/applied"
    echo
    echo "== bdcoord status"
    "${BDCOORD}" status --coordinator "${ADDR}" || die_with_logs "bdcoord status failed"
    if ((real)); then
      show_real_proof
    else
      show_lookup
    fi
  fi

  cat <<EOF

Everything runs. Look around:
  export BDCOORD_ADDR=${ADDR}
  ${BDCOORD} status                  # every instance: host, IP, state, readiness
  ${BDCOORD} hosts                   # the ${HOSTS} agents, their labels and facts
  ${BDCOORD} place ${SPEC} --live -o hosts   # the /etc/hosts of every container
  ${BDCOORD} place ${SPEC} --show-config kafka1
  ${BDCOORD} logs -f zk              # the three ZooKeepers' logs, merged, from their hosts
  ${BDCOORD} events                  # what happens from now on (Ctrl-C to stop)
  ${BDCOORD} scale kafka 6           # a sixth broker; every /etc/hosts learns its name
  ${BDCOORD} drain host4             # move host4's instances elsewhere (--undo takes it back)
  ${BDCOORD} down -c ${CLUSTER}             # remove the cluster, keep the daemons and the testbed
  docker -H unix://${TESTBED_ROOT}/host1/docker.sock ps        # what host1 runs
  ${RUN_DIR}/*.log           # bdcoordd and agent logs
$( ((apply)) || echo "  ${BDCOORD} apply ${SPEC}   # what --no-apply left out")
Remove everything: deploy/quickstart.sh down
EOF
}

# --- down -----------------------------------------------------------------------------------

cmd_down() {
  [[ $# -eq 0 ]] || die "down takes no arguments"
  require_root
  cd "${REPO_DIR}"
  local pid f
  if pid=$(our_pid "${RUN_DIR}/bdcoordd.pid" bdcoordd "${ADDR}") &&
    [[ -x ${BDCOORD} ]] && "${BDCOORD}" --help 2>/dev/null | grep -qE '^ +down +'; then
    log "bdcoord down -c ${CLUSTER}"
    timeout 120 "${BDCOORD}" down -c "${CLUSTER}" --coordinator "${ADDR}" ||
      log "bdcoord down failed; the testbed going down removes the containers anyway"
  fi
  for f in "${RUN_DIR}"/agent-*.pid; do
    [[ -e ${f} ]] || continue
    if pid=$(our_pid "${f}" bdagent "$(basename "${f}" .pid | sed 's/^agent-//')"); then
      log "stopping bdagent ${pid} ($(basename "${f}" .pid))"
      stop_pid "${pid}" bdagent
    fi
  done
  if pid=$(our_pid "${RUN_DIR}/bdcoordd.pid" bdcoordd "${ADDR}"); then
    log "stopping bdcoordd ${pid}"
    stop_pid "${pid}" bdcoordd
  fi
  source "${REPO_DIR}/deploy/real/checks.sh"
  real_gateway_down # --real's gateway address on the LAN bridge
  log "taking the testbed down"
  "${TESTBED}" down || die "deploy/testbed.sh down failed"
  rm -rf "${RUN_DIR}" "${DATA_DIR}"
  log "down: removed the daemons, the testbed, ${RUN_DIR} and ${DATA_DIR}"
}

main() {
  case ${1:-up} in
    up) [[ $# -gt 0 ]] && shift; cmd_up "$@" ;;
    --no-apply | --real) cmd_up "$@" ;;
    down) shift && cmd_down "$@" ;;
    -h | --help | help) usage ;;
    *)
      printf 'quickstart: error: unknown command %s\n\n' "'$1'" >&2
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
