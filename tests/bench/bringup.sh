#!/usr/bin/env bash
# tests/bench/bringup.sh: bring-up time of the 36-container Big Data demo on the 4-host testbed,
# bdcoord against its peers in the same run: the hand-written baseline of "Doing Some Big Data
# Tools' Docker Images Right" (a shell loop of `docker run` per host, the hosts in parallel),
# Docker Swarm, and docker-compose on one host. Run by hand, not by ctest.
# `bringup.sh --help` for what it measures.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/bench/bringup.sh [--only LIST] [--rounds N] [--idle SECONDS] BUILD_DIR [ROUNDS] [IDLE_SECONDS]

Needs the testbed with hosts host1..host4 (deploy/testbed.sh up 4), as root, and for (e)
Debian's docker-compose (deploy/install-deps.sh). Per round, each peer from a clean state (no
containers, no network, a fresh bdcoordd data dir), the peers one after the other:
  baseline  (a) per host a shell loop of `docker network create` + `docker run -d --network lan
            --ip IP --add-host NAME:IP (x72) ... bdcoord/standin:latest ...` for the containers
            bdcoord's placement gives the host (9, 12, 7, 8), the 4 hosts in parallel; timed
            until every loop has returned.
  apply     (b) `bdcoord apply` of the same 36 containers without depends_on, ready or
            resources, timed from the command until it exits 0 (every instance running,
            namenode-format completed).
  swarm     (d) Docker Swarm on the 4 hosts (host1 manager; untimed: init, join, a --config-only
            macvlan network per host with its quarter of 10.0.50.64/26): timed from the
            swarm-scoped macvlan network (--config-from) and one `docker service create` per
            service (same replicas and args, --endpoint-mode dnsrr, --no-resolve-image,
            namenode-format as a replicated-job) until every task runs and the job completed.
            No static IPs, no hosts entries. The swarm is left (and its networks removed) after
            each round.
  compose   (e) the same 36 containers all on host1: its `docker run` loop; `docker-compose up
            -d` of a generated file (macvlan network, ipv4_address, extra_hosts, the same args);
            `bdcoord apply` of the spec with every service pinned to host1 (one agent).
  demo      (c) `bdcoord apply deploy/examples/bigdata-demo.yaml`: with ordering and readiness;
            and its baseline (c0), the same demo without depends_on and ready (its resources
            kept), so that (c) / (c0) is what the gates cost.
  calls     after the rounds, one untimed pass of baseline, apply, demo and compose's three with
            every dockerd logging its API requests (deploy/testbed.sh debug on, off after):
            Docker Engine API calls per container, per endpoint.
  idle      with the last round's demo running (needs demo), the RSS of bdcoordd and of each
            bdagent and their CPU time over IDLE_SECONDS idle seconds.
CPU per container, per timed run: bdcoordd + every bdagent, and Docker (dockerd, containerd,
its shims and runc of the testbed hosts), from /proc/PID/stat (utime + stime, children reaped
included); the client (docker CLI, docker-compose, bdcoord CLI) from this script's children.
Prints every round, then one table: medians, ratios, min-max, load average, API calls and CPU.

Options:
  --only LIST     comma-separated peers (default: baseline,apply,swarm,compose,demo,calls,idle)
  --rounds N      rounds (default: $ROUNDS or 3); also the second argument
  --idle SECONDS  idle window (default: $IDLE_SECONDS or 60); also the third argument
Environment: AGENT_ARGS, appended to every bdagent command line (AGENT_ARGS="--parallelism 8");
KEEP=1 keeps the work directory (/tmp/bdcoord-bringup.*); TIMELINE=1 prints, after each timed
run of (a) and (b), each host's first create and last start (Docker's events) from the start.
EOF
}

ALL_PEERS=baseline,apply,swarm,compose,demo,calls,idle
ONLY=${ALL_PEERS}
ROUNDS=${ROUNDS:-3}
IDLE_SECONDS=${IDLE_SECONDS:-60}
positional=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage && exit 0 ;;
    --only) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; ONLY=$2 && shift 2 ;;
    --only=*) ONLY=${1#*=} && shift ;;
    --rounds) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; ROUNDS=$2 && shift 2 ;;
    --rounds=*) ROUNDS=${1#*=} && shift ;;
    --idle) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; IDLE_SECONDS=$2 && shift 2 ;;
    --idle=*) IDLE_SECONDS=${1#*=} && shift ;;
    -*) echo "bringup: unknown option $1 (see --help)" >&2 && exit 2 ;;
    *) positional+=("$1") && shift ;;
  esac
done
[[ ${#positional[@]} -ge 1 && ${#positional[@]} -le 3 ]] || { usage >&2; exit 2; }
BUILD_DIR=$(readlink -f "${positional[0]}")
ROUNDS=${positional[1]:-${ROUNDS}}
IDLE_SECONDS=${positional[2]:-${IDLE_SECONDS}}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$(dirname "${HERE}")")
TESTBED=${REPO}/deploy/testbed.sh
BDCOORD=${BUILD_DIR}/cli/bdcoord
BDCOORDD=${BUILD_DIR}/coordinator/bdcoordd
BDAGENT=${BUILD_DIR}/agent/bdagent
DEMO=${REPO}/deploy/examples/bigdata-demo.yaml
IMAGE=bdcoord/standin:latest
HOSTS=(host1 host2 host3 host4)
N=36

die() { echo "bringup: error: $*" >&2; exit 1; }
[[ ${ROUNDS} =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, not '${ROUNDS}'"
[[ ${IDLE_SECONDS} =~ ^[0-9]+$ ]] || die "IDLE_SECONDS must be a number, not '${IDLE_SECONDS}'"
IFS=, read -r -a peers <<<"${ONLY}"
for p in "${peers[@]}"; do
  [[ ,${ALL_PEERS}, == *,${p},* ]] || die "--only: unknown peer '${p}' (known: ${ALL_PEERS})"
done
want() { [[ ,${ONLY}, == *,$1,* ]]; }
if want idle && ! want demo; then
  echo "bringup: idle needs demo (the demo running): not measuring idle" >&2
  ONLY=${ONLY//idle/}
fi
for b in "${BDCOORD}" "${BDCOORDD}" "${BDAGENT}"; do
  [[ -x ${b} ]] || die "missing ${b} (build bdcoord bdcoordd bdagent in ${BUILD_DIR})"
done
[[ ${EUID} -eq 0 ]] || die "must run as root"
if want compose; then
  command -v docker-compose >/dev/null || die "no docker-compose: run deploy/install-deps.sh"
fi
env_out=$("${TESTBED}" env 2>&1) || die "${env_out}"
eval "${env_out}"
for h in "${HOSTS[@]}"; do
  [[ " ${BDCOORD_TESTBED_HOSTS} " == *" ${h} "* ]] ||
    die "the testbed has no ${h} (it has: ${BDCOORD_TESTBED_HOSTS}): deploy/testbed.sh up 4"
done
# Extra agent flags, and a state directory per agent when the agent has the flag (several
# agents on one machine must not share one).
read -r -a AGENT_EXTRA <<<"${AGENT_ARGS:-}"
AGENT_STATE_DIR=0
[[ $("${BDAGENT}" --help 2>&1) != *--state-dir* ]] || AGENT_STATE_DIR=1

WORK=$(mktemp -d /tmp/bdcoord-bringup.XXXXXX)
ADDR=unix://${WORK}/bdcoordd.sock
declare -A PIDS=()
# shellcheck source=tests/bench/bench_lib.sh
source "${HERE}/bench_lib.sh"

SWARM_UP=0  # cleanup() leaves a swarm only when one was made
DEBUG_ON=0  # and turns dockerd debug logging off only when it was turned on
cleanup() {
  stop_daemons
  ((SWARM_UP == 0)) || swarm_down || true
  ((DEBUG_ON == 0)) || "${TESTBED}" debug off 2>/dev/null || true
  clean_hosts || true
  [[ -n ${KEEP:-} ]] || rm -rf "${WORK}"
}
trap cleanup EXIT

fail() {
  echo "bringup: FAIL: $*" >&2
  local f
  for f in "${WORK}"/*.log; do
    [[ -e ${f} ]] || continue
    echo "== ${f}" >&2
    tail -n 15 "${f}" >&2
  done
  exit 1
}

now_ms() { date +%s%3N; }

# A fresh coordinator (empty data dir) and one agent per host given (default: every host), all
# connected.
start_daemons() {
  local hosts=("$@")
  [[ ${#hosts[@]} -gt 0 ]] || hosts=("${HOSTS[@]}")
  rm -rf "${WORK}/data"
  "${BDCOORDD}" --listen "${ADDR}" --data-dir "${WORK}/data" 2>>"${WORK}/bdcoordd.log" &
  PIDS[bdcoordd]=$!
  local h labels extra
  for h in "${hosts[@]}"; do
    labels=BDCOORD_TESTBED_${h^^}_LABELS
    extra=("${AGENT_EXTRA[@]+"${AGENT_EXTRA[@]}"}")
    if ((AGENT_STATE_DIR)); then
      rm -rf "${WORK}/agent-${h}"
      extra+=(--state-dir "${WORK}/agent-${h}")
    fi
    nsenter --net="/var/run/netns/bdcoord-${h}" "${BDAGENT}" --coordinator "${ADDR}" \
      --host-name "${h}" --docker-socket "${BDCOORD_TESTBED_ROOT}/${h}/docker.sock" \
      --config /dev/null --label "${!labels}" "${extra[@]+"${extra[@]}"}" \
      2>>"${WORK}/agent-${h}.log" &
    PIDS[${h}]=$!
  done
  local deadline=$((SECONDS + 60))
  until [[ $("${BDCOORD}" hosts --coordinator "${ADDR}" -o json 2>/dev/null |
    grep -c '"connected": true') -eq ${#hosts[@]} ]]; do
    ((SECONDS < deadline)) || fail "the ${#hosts[@]} agent(s) did not connect in 60s"
    sleep 0.1
  done
}

# Every long-running container of the demo runs (35), and namenode-format1 runs, exited 0 or is
# gone (the agent removes a completed run-once container). Fails otherwise.
check_running() {
  local what=$1 h running=0 n code=absent
  for h in "${HOSTS[@]}"; do
    n=$(dk "${h}" ps --format '{{.Names}}' | grep -vc '^namenode-format1$' || true)
    running=$((running + n))
  done
  [[ ${running} -eq 35 ]] || fail "${what}: ${running} containers running, want 35"
  for h in "${HOSTS[@]}"; do
    code=$(dk "${h}" inspect -f '{{.State.Status}} {{.State.ExitCode}}' namenode-format1 \
      2>/dev/null) && break
    code=absent
  done
  [[ ${code} == "exited 0" || ${code} == "running 0" || ${code} == absent ]] ||
    fail "${what}: namenode-format1 is '${code}'"
}

# --- CPU: bdcoord's daemons, Docker's processes, this script's children ---------------------

TICK_MS=$((1000 / $(getconf CLK_TCK)))
# utime + stime + cutime + cstime of the PIDs (children reaped included: runc by its shim, a
# shim by containerd), in clock ticks; a PID gone meanwhile counts 0.
ticks_of() {
  local pid total=0 st
  for pid in "$@"; do
    st=$(cat "/proc/${pid}/stat" 2>/dev/null) || continue
    st=${st##*) }
    # shellcheck disable=SC2086  # the fields after "(comm) "
    set -- ${st}
    total=$((total + ${12} + ${13} + ${14} + ${15}))
  done
  echo "${total}"
}
# dockerd, containerd and the shims of the testbed's hosts (they name its state directory).
docker_pids() {
  local f pid comm
  for f in $(grep -lsaF -- "${BDCOORD_TESTBED_ROOT}/" /proc/[0-9]*/cmdline 2>/dev/null || true); do
    pid=${f#/proc/} pid=${pid%/cmdline}
    comm=$(cat "/proc/${pid}/comm" 2>/dev/null) || continue
    case ${comm} in dockerd | containerd | containerd-shim* | runc) echo "${pid}" ;; esac
  done
}
# This script's reaped children (the client of a peer: docker CLI, docker-compose, bdcoord CLI).
self_child_ticks() {
  local st
  read -r st </proc/$$/stat
  st=${st##*) }
  read -r -a st <<<"${st}"
  SELF_TICKS=$((st[13] + st[14]))
}
# Starts a CPU window: Docker's, bdcoord's daemons', the client's.
cpu_begin() {
  self_child_ticks
  CPU0_SELF=${SELF_TICKS}
  # shellcheck disable=SC2046  # lists of PIDs
  CPU0_DOCKER=$(ticks_of $(docker_pids))
  CPU0_BD=$(ticks_of "${PIDS[@]}")
}
# Ends it: CPU_DOCKER, CPU_BD, CPU_CLIENT in ms.
cpu_end() {
  self_child_ticks
  CPU_CLIENT=$(((SELF_TICKS - CPU0_SELF) * TICK_MS))
  # shellcheck disable=SC2046
  CPU_DOCKER=$((($(ticks_of $(docker_pids)) - CPU0_DOCKER) * TICK_MS))
  CPU_BD=$((($(ticks_of "${PIDS[@]}") - CPU0_BD) * TICK_MS))
}

# --- API calls: dockerd's debug log, per host, over a window ---------------------------------

declare -A LOG_OFFSET=()
calls_begin() {
  local h
  for h in "${HOSTS[@]}"; do
    LOG_OFFSET[${h}]=$(stat -c %s "${BDCOORD_TESTBED_ROOT}/${h}/dockerd.log")
  done
}
# The requests every dockerd served since calls_begin, one "METHOD /path" a line, into $1.
calls_end() {
  local out=$1 h
  for h in "${HOSTS[@]}"; do
    tail -c "+$((LOG_OFFSET[${h}] + 1))" "${BDCOORD_TESTBED_ROOT}/${h}/dockerd.log" |
      sed -n 's/.*msg="Calling \([A-Z]*\) \([^"]*\)".*/\1 \2/p'
  done >"${out}"
}

# --- the baseline scripts and the compose file, generated from bdcoord's offline placement ---

# The demo without readiness gates, ordering or resources: the baseline's 36 containers. The
# templates that read resources get numbers instead.
sed -E -e '/^    (depends_on|ready|resources):/d' -e 's/\{\{resources\.memory_mib\}\}/256/g' \
  -e 's/\{\{resources\.heap_mib\}\}/128/g' -e 's/\{\{resources\.cpus\}\}/1/g' \
  "${DEMO}" >"${WORK}/bringup.yaml"
grep -qE '^    (depends_on|ready):' "${WORK}/bringup.yaml" && fail "bringup.yaml still has gates"
# The demo without its gates only (resources kept): what (c) costs over it is the gates' cost.
sed -E '/^    (depends_on|ready):/d' "${DEMO}" >"${WORK}/ungated.yaml"
grep -qE '^    resources:' "${WORK}/ungated.yaml" || fail "ungated.yaml lost its resources"
# The same, every service pinned to host1.
sed -E 's/^    placement:.*/    placement: {hosts: [host1]}/' "${WORK}/bringup.yaml" >"${WORK}/onehost.yaml"
[[ $(grep -c '^    placement: {hosts: \[host1\]}$' "${WORK}/onehost.yaml") -eq \
  $(grep -c '^  [a-z-]*:$' <(sed -n '/^services:/,$p' "${WORK}/onehost.yaml")) ]] ||
  fail "onehost.yaml: not every service has its placement pinned to host1"

"${BDCOORD}" place "${DEMO}" -o json >"${WORK}/place.json" || fail "bdcoord place ${DEMO}"
"${BDCOORD}" place "${WORK}/onehost.yaml" -o json >"${WORK}/place-onehost.json" ||
  fail "bdcoord place onehost.yaml"
# Writes, from a placement, a `docker run` loop per host (PREFIX-HOST.sh), and with a fourth
# argument the docker-compose file of the whole placement and the swarm services list.
gen() {
  /usr/bin/python3 - "$@" <<'PY' || fail "generating the peers' scripts"
import json, sys
place, prefix, image = sys.argv[1], sys.argv[2], sys.argv[3]
compose = sys.argv[4] if len(sys.argv) > 4 else None
insts = json.load(open(place))["instances"]
# What bdcoord puts in /etc/hosts, as --add-host flags: FQDN and short name of every member.
add_hosts = " ".join("--add-host %s:%s --add-host %s:%s" % (i["fqdn"], i["ip"], i["name"], i["ip"])
                     for i in insts)
# standin's flags per service, as in the demo (the ports each service listens on).
args = {"zk": "--listen 2181,2888,3888", "kafka": "--listen 9092",
        "namenode-format": "--exit-after 1s", "namenode": "--listen 8020,9870",
        "datanode": "--listen 9866,9864", "jobmanager": "--listen 6123,8081",
        "taskmanager": "--listen 6122", "drill": "--listen 8047,31010"}
by_host = {}
for i in insts:
    by_host.setdefault(i["host"], []).append(i)
for host, rows in sorted(by_host.items()):
    lines = ['set -e',
             'D="docker -H unix:///run/bdcoord-testbed/%s/docker.sock"' % host,
             '$D network create -d macvlan -o parent=eth0 --subnet 10.0.50.0/24 '
             '--gateway 10.0.50.1 lan >/dev/null',
             'while read -r name ip args; do',
             '  $D run -d --network lan --ip "$ip" --hostname "$name" --name "$name" %s %s '
             '--name "$name" $args >/dev/null' % (add_hosts, image),
             'done <<\'EOF\'']
    lines += ["%s %s %s" % (i["name"], i["ip"], args[i["service"]]) for i in rows]
    lines += ["EOF"]
    open("%s-%s.sh" % (prefix, host), "w").write("\n".join(lines) + "\n")
    print("%s %s: %d containers" % (prefix.rsplit("/", 1)[-1], host, len(rows)))
if compose:
    extra = [x for i in insts for x in ("%s:%s" % (i["fqdn"], i["ip"]), "%s:%s" % (i["name"], i["ip"]))]
    doc = {"version": "2.4",
           "networks": {"lan": {"name": "lan", "driver": "macvlan",
                                "driver_opts": {"parent": "eth0"},
                                "ipam": {"config": [{"subnet": "10.0.50.0/24",
                                                     "gateway": "10.0.50.1"}]}}},
           "services": {i["name"]: {"image": image, "container_name": i["name"],
                                    "hostname": i["name"],
                                    "command": ["--name", i["name"]] + args[i["service"]].split(),
                                    "networks": {"lan": {"ipv4_address": i["ip"]}},
                                    "extra_hosts": extra} for i in insts}}
    json.dump(doc, open(compose, "w"), indent=1)  # JSON is YAML
    services = {}
    for i in insts:
        services[i["service"]] = services.get(i["service"], 0) + 1
    with open(compose + ".services", "w") as f:
        for s, n in services.items():
            f.write("%s %d %s\n" % (s, n, args[s]))
PY
}
gen "${WORK}/place.json" "${WORK}/baseline" "${IMAGE}"
gen "${WORK}/place-onehost.json" "${WORK}/onehost" "${IMAGE}" "${WORK}/compose.yaml"
mv "${WORK}/compose.yaml.services" "${WORK}/swarm-services.txt"

# Runs the loops PREFIX-hostK.sh, the hosts in parallel; T = ms until every loop returned.
run_loops() {
  local prefix=$1 h pids=() failed=0 i
  T0=$(now_ms)
  for h in "${HOSTS[@]}"; do
    [[ -e ${prefix}-${h}.sh ]] || continue
    bash "${prefix}-${h}.sh" >"${prefix}-${h}.log" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "${i}" || failed=1; done
  T=$(($(now_ms) - T0))
  ((failed == 0)) || fail "a docker run loop (${prefix##*/}) failed"
}

run_apply() {
  local spec=$1
  T0=$(now_ms)
  timeout 300 "${BDCOORD}" apply "${spec}" --coordinator "${ADDR}" >"${WORK}/apply.log" 2>&1 ||
    fail "bdcoord apply ${spec}: $(tail -5 "${WORK}/apply.log")"
  T=$(($(now_ms) - T0))
  grep -q "36/36 instances ready, done" "${WORK}/apply.log" ||
    fail "no '36/36 instances ready, done' line: $(tail -3 "${WORK}/apply.log")"
}

run_compose() {
  local t0
  t0=$(now_ms)
  DOCKER_HOST=unix://${BDCOORD_TESTBED_ROOT}/host1/docker.sock COMPOSE_PARALLEL_LIMIT=64 \
    timeout 300 docker-compose -p bringup -f "${WORK}/compose.yaml" up -d \
    >"${WORK}/compose.log" 2>&1 || fail "docker-compose up: $(tail -5 "${WORK}/compose.log")"
  T=$(($(now_ms) - t0))
}

# --- Docker Swarm ---------------------------------------------------------------------------

SWARM_SKIP=
# Init on host1, join the others, a config-only macvlan network per host with its own quarter
# of 10.0.50.64/26 (a swarm-scoped macvlan network's IPAM is per host). Untimed.
swarm_up() {
  local addr token i h ranges=(10.0.50.64/28 10.0.50.80/28 10.0.50.96/28 10.0.50.112/28)
  SWARM_UP=1
  dk host1 swarm init --advertise-addr "${BDCOORD_TESTBED_HOST1_ADDR}" \
    --default-addr-pool 10.252.0.0/16 >"${WORK}/swarm.log" 2>&1 || return 1
  token=$(dk host1 swarm join-token -q worker 2>>"${WORK}/swarm.log") || return 1
  for h in "${HOSTS[@]:1}"; do
    addr=BDCOORD_TESTBED_${h^^}_ADDR
    dk "${h}" swarm join --token "${token}" --advertise-addr "${!addr}" \
      "${BDCOORD_TESTBED_HOST1_ADDR}:2377" >>"${WORK}/swarm.log" 2>&1 || return 1
  done
  for i in "${!HOSTS[@]}"; do
    dk "${HOSTS[i]}" network create --config-only --subnet 10.0.50.0/24 --gateway 10.0.50.1 \
      --ip-range "${ranges[i]}" -o parent=eth0 lan-config >>"${WORK}/swarm.log" 2>&1 || return 1
  done
}

# Leaves the swarm on every host (workers first), removes its networks; checks that no host is
# left in a swarm.
swarm_down() {
  local h state
  # shellcheck disable=SC2046  # the service names
  dk host1 service rm $(cut -d' ' -f1 "${WORK}/swarm-services.txt") >/dev/null 2>&1 || true
  for h in "${HOSTS[@]:1}" host1; do
    dk "${h}" swarm leave --force >/dev/null 2>&1 || true
  done
  clean_hosts
  for h in "${HOSTS[@]}"; do
    dk "${h}" network rm lan-config docker_gwbridge >/dev/null 2>&1 || true
    state=$(dk "${h}" info --format '{{.Swarm.LocalNodeState}}')
    [[ ${state} == inactive ]] || { echo "bringup: ${h} is still '${state}' in a swarm" >&2; return 1; }
  done
  SWARM_UP=0
}

# Timed: the swarm-scoped network, one service per service, until every task runs. Swarm pulls
# a tag before each task (whatever --no-resolve-image says) and the testbed has no registry:
# the image goes by its ID, which it does not pull.
run_swarm() {
  local t0 service replicas args id deadline want got line
  local re_up='^[^ ]+ ([0-9]+)/([0-9]+)$' re_job='[(]([0-9]+)/([0-9]+) completed[)]$'
  id=$(dk host1 image inspect -f '{{.Id}}' "${IMAGE}")
  t0=$(now_ms)
  dk host1 network create -d macvlan --scope swarm --config-from lan-config lan \
    >>"${WORK}/swarm.log" 2>&1 || { SWARM_SKIP="network create failed: $(tail -1 "${WORK}/swarm.log")"; return 1; }
  while read -r service replicas args; do
    local mode=(--replicas "${replicas}")
    [[ ${service} != namenode-format ]] || mode=(--mode replicated-job)
    # shellcheck disable=SC2086  # standin's flags
    dk host1 service create --detach --name "${service}" "${mode[@]}" --network lan \
      --endpoint-mode dnsrr --no-resolve-image "${id}" --name "${service}" ${args} \
      >>"${WORK}/swarm.log" 2>&1 || { SWARM_SKIP="service create ${service} failed: $(tail -1 "${WORK}/swarm.log")"; return 1; }
  done <"${WORK}/swarm-services.txt"
  want=$(wc -l <"${WORK}/swarm-services.txt")
  deadline=$((SECONDS + 300))
  while :; do
    got=0
    while read -r line; do
      # "zk 3/3", "namenode-format 0/1 (1/1 completed)"
      [[ ${line} =~ ${re_up} && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] ||
        [[ ${line} =~ ${re_job} && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] ||
        continue
      got=$((got + 1))
    done < <(dk host1 service ls --format '{{.Name}} {{.Replicas}}')
    ((got < want)) || break
    if ((SECONDS >= deadline)); then
      SWARM_SKIP="tasks not running after 300 s: $(dk host1 service ps --no-trunc \
        --format '{{.Name}} {{.CurrentState}} {{.Error}}' $(cut -d' ' -f1 "${WORK}/swarm-services.txt") |
        grep -v Running | head -3 | tr '\n' ';')"
      return 1
    fi
    sleep 0.25
  done
  T=$(($(now_ms) - t0))
}

# --- rounds ---------------------------------------------------------------------------------

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
secs() { awk -v ms="$1" 'BEGIN {printf "%.2f s", ms / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Per peer key: times, and CPU (ms) of bdcoord's daemons, Docker and the client, per round.
declare -A TIMES=() CPUBD=() CPUDK=() CPUCL=()
# TIMELINE=1: per host, Docker's first container create and last start since T0, in ms, and
# the run's end: where a run spends what is not Docker's work (ramp-up, tail).
timeline() {
  local key=$1 h line
  [[ -n ${TIMELINE:-} && ${key} == [ab] ]] || return 0
  line="  timeline ${key} (ms from the start; end +${T}):"
  for h in "${HOSTS[@]}"; do
    line+=" ${h} $(dk "${h}" events --since "$((T0 / 1000)).$(printf %03d $((T0 % 1000)))" \
      --until "$(date +%s.%N)" --filter type=container --filter event=create \
      --filter event=start --format '{{.TimeNano}} {{.Action}}' |
      awk -v t0="${T0}" '{t = int($1 / 1000000) - t0}
        $2 == "create" && (c == "" || t < c) {c = t}
        $2 == "start" {n++; if (t > s) s = t}
        END {printf "%s..%s/%d", c, s, n}'),"
  done
  echo "${line%,}"
}

record() {
  local key=$1
  timeline "${key}"
  TIMES[${key}]+=" ${T}"
  CPUBD[${key}]+=" ${CPU_BD}"
  CPUDK[${key}]+=" ${CPU_DOCKER}"
  CPUCL[${key}]+=" ${CPU_CLIENT}"
  ROUND_LINE+=" ${key} $(secs "${T}"),"
}

echo "agent: ${BDAGENT} ${AGENT_ARGS:-}$( ((AGENT_STATE_DIR)) && echo ' (--state-dir per agent)')"
versions="docker CLI $(docker --version | awk '{print $3}' | tr -d ,), dockerd $(dk host1 version -f '{{.Server.Version}}')"
! want compose || versions+=", docker-compose $(docker-compose version --short 2>/dev/null)"
echo "${versions}"
clean_hosts
LOAD_START=$(loadavg)
echo "load average at the start: ${LOAD_START} ($(nproc) CPUs)"
for ((r = 1; r <= ROUNDS; r++)); do
  ROUND_LINE=
  if want baseline; then
    stop_daemons
    clean_hosts
    cpu_begin
    run_loops "${WORK}/baseline"
    cpu_end
    check_running "baseline round ${r}"
    record a
  fi
  if want apply; then
    stop_daemons
    clean_hosts
    start_daemons
    cpu_begin
    run_apply "${WORK}/bringup.yaml"
    cpu_end
    check_running "apply (no gates) round ${r}"
    record b
  fi
  if want swarm && [[ -z ${SWARM_SKIP} ]]; then
    stop_daemons
    clean_hosts
    if ! swarm_up; then
      SWARM_SKIP="swarm init/join/config-only network failed: $(tail -2 "${WORK}/swarm.log" | tr '\n' ' ')"
    else
      cpu_begin
      if run_swarm; then
        cpu_end
        check_running "swarm round ${r}"
        record d
      fi
    fi
    swarm_down || fail "the swarm is not left: see above"
    [[ -z ${SWARM_SKIP} ]] || echo "bringup: (d) Docker Swarm skipped: ${SWARM_SKIP}" >&2
  fi
  if want compose; then
    stop_daemons
    clean_hosts
    cpu_begin
    run_loops "${WORK}/onehost"
    cpu_end
    check_running "one-host loop round ${r}"
    record e1
    clean_hosts
    cpu_begin
    run_compose
    cpu_end
    check_running "docker-compose round ${r}"
    record e2
    clean_hosts
    start_daemons host1
    cpu_begin
    run_apply "${WORK}/onehost.yaml"
    cpu_end
    check_running "one-host apply round ${r}"
    record e3
  fi
  if want demo; then
    stop_daemons
    clean_hosts
    start_daemons
    cpu_begin
    run_apply "${WORK}/ungated.yaml"
    cpu_end
    check_running "apply (demo without gates) round ${r}"
    record c0
    stop_daemons
    clean_hosts
    start_daemons
    cpu_begin
    run_apply "${DEMO}"
    cpu_end
    check_running "apply (demo) round ${r}"
    record c
  fi
  echo "round ${r} (load $(loadavg)):${ROUND_LINE%,}"
done
LOAD_END=$(loadavg)

# --- idle cost with the demo running (the last round's) -----------------------------------

IDLE_OUT=
if want idle && ((IDLE_SECONDS > 0)); then
  declare -A start_ticks=()
  names=(bdcoordd "${HOSTS[@]}")
  for name in "${names[@]}"; do start_ticks[${name}]=$(ticks_of "${PIDS[${name}]}"); done
  sleep "${IDLE_SECONDS}" # the idle window being measured, not a wait for a condition
  IDLE_OUT+=$'\n'"idle with the demo running, over ${IDLE_SECONDS} s:"
  for name in "${names[@]}"; do
    pid=${PIDS[${name}]}
    [[ -d /proc/${pid} ]] || fail "${name} (${pid}) exited during the idle window"
    rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/${pid}/status")
    ms=$((($(ticks_of "${pid}") - start_ticks[${name}]) * TICK_MS))
    label=${name}
    [[ ${name} == bdcoordd ]] || label="bdagent ${name}"
    IDLE_OUT+=$'\n'$(printf '  %-14s RSS %5.1f MiB  CPU %4d ms (%.2f%% of one core)' "${label}" \
      "$(awk -v k="${rss_kb}" 'BEGIN {print k / 1024}')" "${ms}" \
      "$(awk -v c="${ms}" -v w="${IDLE_SECONDS}" 'BEGIN {print c / (w * 10)}')")
  done
fi

# --- API calls per container (one untimed pass, dockerd logging its requests) ---------------

CALLS_KEYS=()
if want calls; then
  if [[ $("${TESTBED}" --help) != *$'\n  debug on|off'* ]]; then
    echo "bringup: ${TESTBED} has no 'debug on|off': API calls not counted" >&2
  else
    DEBUG_ON=1
    "${TESTBED}" debug on 2>/dev/null
    # Wait (with a deadline) until every dockerd logs its requests.
    deadline=$((SECONDS + 30))
    for h in "${HOSTS[@]}"; do
      log=${BDCOORD_TESTBED_ROOT}/${h}/dockerd.log
      offset=$(stat -c %s "${log}")
      until dk "${h}" version >/dev/null && tail -c "+$((offset + 1))" "${log}" | grep -q 'msg="Calling '; do
        ((SECONDS < deadline)) || fail "${h}: dockerd does not log its requests after 'debug on'"
        sleep 0.2
      done
    done
    stop_daemons
    clean_hosts
    if want baseline; then
      calls_begin
      run_loops "${WORK}/baseline"
      calls_end "${WORK}/a.calls"
      check_running "baseline (calls)"
      CALLS_KEYS+=(a)
      clean_hosts
    fi
    if want apply; then
      start_daemons
      calls_begin
      run_apply "${WORK}/bringup.yaml"
      calls_end "${WORK}/b.calls"
      check_running "apply (calls)"
      CALLS_KEYS+=(b)
      stop_daemons
      clean_hosts
    fi
    if want demo; then
      start_daemons
      calls_begin
      run_apply "${DEMO}"
      calls_end "${WORK}/c.calls"
      check_running "demo (calls)"
      CALLS_KEYS+=(c)
      stop_daemons
      clean_hosts
    fi
    if want compose; then
      calls_begin
      run_loops "${WORK}/onehost"
      calls_end "${WORK}/e1.calls"
      check_running "one-host loop (calls)"
      CALLS_KEYS+=(e1)
      clean_hosts
      calls_begin
      run_compose
      calls_end "${WORK}/e2.calls"
      check_running "docker-compose (calls)"
      CALLS_KEYS+=(e2)
      clean_hosts
      start_daemons host1
      calls_begin
      run_apply "${WORK}/onehost.yaml"
      calls_end "${WORK}/e3.calls"
      check_running "one-host apply (calls)"
      CALLS_KEYS+=(e3)
      stop_daemons
      clean_hosts
    fi
    "${TESTBED}" debug off 2>/dev/null
    DEBUG_ON=0
  fi
fi

# --- the table ------------------------------------------------------------------------------

declare -A LABEL=(
  [a]="(a) docker run loops, 4 hosts in parallel"
  [b]="(b) bdcoord apply, no gates"
  [c0]="(c0) bdcoord apply, the demo without gates (resources kept)"
  [c]="(c) bdcoord apply, demo with gates"
  [d]="(d) Docker Swarm, 4 hosts (no static IPs, no hosts entries)"
  [e1]="(e) host1 only: docker run loop"
  [e2]="(e) host1 only: docker-compose up -d"
  [e3]="(e) host1 only: bdcoord apply"
)
# API calls per container of each counted peer, for the table.
declare -A CALLS=()
for k in "${CALLS_KEYS[@]+"${CALLS_KEYS[@]}"}"; do
  CALLS[${k}]=$(awk -v n="${N}" 'END {printf "%.1f", NR / n}' "${WORK}/${k}.calls")
done

per_c() { awk -v ms="$1" -v n="${N}" 'BEGIN {printf "%.3f", ms / 1000 / n}'; }
echo
echo "load average at the start: ${LOAD_START}; at the end: ${LOAD_END} ($(nproc) CPUs)"
echo "median of ${ROUNDS} round(s), 36 containers; ratio to the docker run loop on as many hosts;"
echo "CPU in s per container: bdcoord = bdcoordd + bdagents; Docker = dockerd + containerd + shims + runc;"
echo "client = the command timed (docker CLI, docker-compose, bdcoord CLI; swarm: CLI + polling)"
printf '%-62s %9s %6s %17s %7s %8s %8s %8s %8s\n' peer median ratio min-max calls/c \
  bdcoord Docker bd/Dock client
# shellcheck disable=SC2086  # the lists of times and CPU figures are split on purpose
for k in a b c0 c d e1 e2 e3; do
  [[ -n ${TIMES[${k}]:-} ]] || continue
  read -r -a ts <<<"${TIMES[${k}]}"
  m=$(median "${ts[@]}")
  base=a
  [[ ${k} != e* ]] || base=e1
  rt=-
  [[ -z ${TIMES[${base}]:-} ]] || rt=x$(ratio "${m}" "$(median ${TIMES[${base}]})")
  mn=$(printf '%s\n' "${ts[@]}" | sort -n | head -1)
  mx=$(printf '%s\n' "${ts[@]}" | sort -n | tail -1)
  bd=- share=-
  md=$(median ${CPUDK[${k}]})
  if [[ ${k} == b || ${k} == c0 || ${k} == c || ${k} == e3 ]]; then
    mb=$(median ${CPUBD[${k}]})
    bd=$(per_c "${mb}")
    share=$(awk -v a="${mb}" -v b="${md}" 'BEGIN {printf "%.1f%%", b ? 100 * a / b : 0}')
  fi
  printf '%-62s %9s %6s %17s %7s %8s %8s %8s %8s\n' "${LABEL[${k}]}" "$(secs "${m}")" "${rt}" \
    "$(awk -v a="${mn}" -v b="${mx}" 'BEGIN {printf "%.2f-%.2f s", a / 1000, b / 1000}')" \
    "${CALLS[${k}]:--}" "${bd}" "$(per_c "${md}")" "${share}" "$(per_c "$(median ${CPUCL[${k}]})")"
done
if want swarm; then
  if [[ -n ${SWARM_SKIP} ]]; then
    echo "(d) Docker Swarm skipped: ${SWARM_SKIP}"
  else
    echo "(d) Swarm gives no static IPs and no hosts entries (DNS round robin on its own resolver);"
    echo "    its orchestration runs inside dockerd, so its CPU is in the Docker column."
  fi
fi
echo "bd/Dock: bdcoord's daemons' CPU over Docker's in the same window (issue 11's target: <= 5%)."
# Issue 11's targets, from the medians above.
# shellcheck disable=SC2086  # a list of times
med() { [[ -n ${TIMES[$1]:-} ]] && median ${TIMES[$1]}; }
target() {
  local what=$1 a b goal=$4
  a=$(med "$2") && b=$(med "$3") || return 0
  printf '  %-44s x%s (target <= x%s)\n' "${what}" "$(ratio "${a}" "${b}")" "${goal}"
}
echo "issue 11's targets:"
target "(b) apply without gates / (a) the loops" b a 0.9
target "(b) apply without gates / (d) Swarm" b d 1.0
target "(c) the gated demo / (c0) without gates" c c0 1.1
target "(e) one host: bdcoord / docker-compose" e3 e2 1.0

if [[ ${#CALLS_KEYS[@]} -gt 0 ]]; then
  echo
  echo "Docker Engine API calls per container, per endpoint (one pass, dockerd's debug log; every"
  echo "request the hosts' dockerds served while the peer ran, /v1.NN and query left out; Swarm"
  echo "not counted: its work goes through swarmkit inside dockerd, not the API):"
  args=()
  for k in "${CALLS_KEYS[@]}"; do args+=("${k}" "${WORK}/${k}.calls"); done
  /usr/bin/python3 - "${N}" "${args[@]}" <<'PY'
import re, sys
n = int(sys.argv[1])
keys, files = sys.argv[2::2], sys.argv[3::2]
actions = {"json", "start", "stop", "archive", "wait", "kill", "logs", "attach", "resize", "exec",
           "connect", "disconnect", "restart", "rename", "top", "stats", "update", "changes"}
def norm(method, path):
    path = re.sub(r"^/v[0-9.]+", "", path.split("?", 1)[0])
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[-1] in actions:
        path = "/%s/*/%s" % (parts[0], parts[-1])
    elif len(parts) == 2 and parts[1] not in ("create", "json", "prune"):
        path = "/%s/*" % parts[0]
    return "%s %s" % (method, path)
counts = {}
for k, f in zip(keys, files):
    for line in open(f):
        method, _, path = line.strip().partition(" ")
        e = norm(method, path)
        counts.setdefault(e, {})[k] = counts.get(e, {}).get(k, 0) + 1
print("%-36s" % "endpoint" + "".join("%8s" % k for k in keys))
for e in sorted(counts, key=lambda e: -sum(counts[e].values())):
    print("%-36s" % e + "".join("%8s" % ("%.2f" % (counts[e][k] / n) if k in counts[e] else "-")
                                for k in keys))
print("%-36s" % "total" + "".join("%8.2f" % (sum(c.get(k, 0) for c in counts.values()) / n)
                                   for k in keys))
PY
fi
[[ -z ${IDLE_OUT} ]] || echo "${IDLE_OUT}"
