#!/usr/bin/env bash
# tests/bench/bringup.sh: bring-up time of the 36-container Big Data demo on the 4-host testbed,
# bdcoord against the hand-written baseline of "Doing Some Big Data Tools' Docker Images Right"
# (a shell loop of `docker run` per host, the hosts in parallel). Run by hand, not by ctest.
# `bringup.sh --help` for what it measures.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/bench/bringup.sh BUILD_DIR [ROUNDS=5] [IDLE_SECONDS=60]

Needs the testbed with hosts host1..host4 (deploy/testbed.sh up 4), as root. Per round, each
from a clean state (no containers, no network, a fresh bdcoordd data dir):
  (a) baseline: per host a shell loop of `docker network create` + 9x `docker run -d --network
      lan --ip IP --add-host NAME:IP (x36) ... bdcoord/standin:latest ...`, the 4 hosts in
      parallel; timed until every loop has returned (every container started).
  (b) `bdcoord apply` of the same 36 containers without depends_on, ready or resources (the
      demo with those lines removed), timed from the command until it exits 0 (every instance
      running, namenode-format completed).
  (c) `bdcoord apply deploy/examples/bigdata-demo.yaml`: with ordering and readiness gates.
Prints every time, the medians and the ratios to the baseline, then, with the demo running,
the RSS of bdcoordd and of each bdagent and their CPU time over IDLE_SECONDS idle seconds
(utime + stime from /proc/PID/stat).
EOF
}

[[ ${1:-} == -h || ${1:-} == --help ]] && usage && exit 0
[[ $# -ge 1 ]] || { usage >&2; exit 2; }
BUILD_DIR=$(readlink -f "$1")
ROUNDS=${2:-5}
IDLE_SECONDS=${3:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$(dirname "${HERE}")")
BDCOORD=${BUILD_DIR}/cli/bdcoord
BDCOORDD=${BUILD_DIR}/coordinator/bdcoordd
BDAGENT=${BUILD_DIR}/agent/bdagent
DEMO=${REPO}/deploy/examples/bigdata-demo.yaml
IMAGE=bdcoord/standin:latest
HOSTS=(host1 host2 host3 host4)

die() { echo "bringup: error: $*" >&2; exit 1; }
for b in "${BDCOORD}" "${BDCOORDD}" "${BDAGENT}"; do
  [[ -x ${b} ]] || die "missing ${b} (build bdcoord bdcoordd bdagent in ${BUILD_DIR})"
done
[[ ${EUID} -eq 0 ]] || die "must run as root"
env_out=$("${REPO}/deploy/testbed.sh" env 2>&1) || die "${env_out}"
eval "${env_out}"
for h in "${HOSTS[@]}"; do
  [[ " ${BDCOORD_TESTBED_HOSTS} " == *" ${h} "* ]] ||
    die "the testbed has no ${h} (it has: ${BDCOORD_TESTBED_HOSTS}): deploy/testbed.sh up 4"
done

WORK=$(mktemp -d /tmp/bdcoord-bringup.XXXXXX)
ADDR=unix://${WORK}/bdcoordd.sock
declare -A PIDS=()
dk() { local h=$1; shift; docker -H "unix:///run/bdcoord-testbed/${h}/docker.sock" "$@"; }

stop_daemons() {
  local name pid deadline
  for name in "${!PIDS[@]}"; do
    pid=${PIDS[${name}]}
    kill -TERM "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
    unset "PIDS[${name}]"
  done
}

# Removes every container and the lan network on every host, in parallel.
clean_hosts() {
  local h
  for h in "${HOSTS[@]}"; do
    (
      ids=$(dk "${h}" ps -aq)
      # shellcheck disable=SC2086  # a list of IDs
      [[ -z ${ids} ]] || dk "${h}" rm -f ${ids} >/dev/null
      dk "${h}" network rm lan >/dev/null 2>&1 || true
      dk "${h}" volume prune -f >/dev/null 2>&1 || true
    ) &
  done
  wait
}

cleanup() {
  stop_daemons
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

# A fresh coordinator (empty data dir) and one agent per host, all connected.
start_daemons() {
  rm -rf "${WORK}/data"
  "${BDCOORDD}" --listen "${ADDR}" --data-dir "${WORK}/data" 2>>"${WORK}/bdcoordd.log" &
  PIDS[bdcoordd]=$!
  local h labels
  for h in "${HOSTS[@]}"; do
    labels=BDCOORD_TESTBED_${h^^}_LABELS
    nsenter --net="/var/run/netns/bdcoord-${h}" "${BDAGENT}" --coordinator "${ADDR}" \
      --host-name "${h}" --docker-socket "/run/bdcoord-testbed/${h}/docker.sock" \
      --state-dir "${WORK}/agent-${h}" \
      --config /dev/null --label "${!labels}" 2>>"${WORK}/agent-${h}.log" &
    PIDS[${h}]=$!
  done
  local deadline=$((SECONDS + 60))
  until [[ $("${BDCOORD}" hosts --coordinator "${ADDR}" -o json 2>/dev/null |
    grep -c '"connected": true') -eq 4 ]]; do
    ((SECONDS < deadline)) || fail "the 4 agents did not connect in 60s"
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

# --- the baseline script, generated from the demo's offline placement ---------------------

"${BDCOORD}" place "${DEMO}" -o json >"${WORK}/place.json" || fail "bdcoord place ${DEMO}"
/usr/bin/python3 - "${WORK}/place.json" "${WORK}" "${IMAGE}" <<'PY' || fail "baseline scripts"
import json, sys
doc = json.load(open(sys.argv[1]))
work, image = sys.argv[2], sys.argv[3]
insts = doc["instances"]
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
    open("%s/baseline-%s.sh" % (work, host), "w").write("\n".join(lines) + "\n")
    print("baseline %s: %d containers" % (host, len(rows)))
PY

# The demo without readiness gates, ordering or resources: the baseline's 36 containers.
sed -E '/^    (depends_on|ready|resources):/d' "${DEMO}" >"${WORK}/bringup.yaml"
grep -qE '^    (depends_on|ready):' "${WORK}/bringup.yaml" && fail "bringup.yaml still has gates"

run_baseline() {
  local t0 h pids=() failed=0 i
  t0=$(now_ms)
  for h in "${HOSTS[@]}"; do
    [[ -e ${WORK}/baseline-${h}.sh ]] || continue
    bash "${WORK}/baseline-${h}.sh" >"${WORK}/baseline-${h}.log" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "${i}" || failed=1; done
  T=$(($(now_ms) - t0))
  ((failed == 0)) || fail "a baseline loop failed"
}

run_apply() {
  local spec=$1 t0
  t0=$(now_ms)
  timeout 300 "${BDCOORD}" apply "${spec}" --coordinator "${ADDR}" >"${WORK}/apply.log" 2>&1 ||
    fail "bdcoord apply ${spec}: $(tail -5 "${WORK}/apply.log")"
  T=$(($(now_ms) - t0))
  grep -q "36/36 instances ready, done" "${WORK}/apply.log" ||
    fail "no '36/36 instances ready, done' line: $(tail -3 "${WORK}/apply.log")"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
secs() { awk -v ms="$1" 'BEGIN {printf "%.2f s", ms / 1000}'; }

A=() B=() C=()
clean_hosts
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
for ((r = 1; r <= ROUNDS; r++)); do
  stop_daemons
  clean_hosts
  run_baseline
  check_running "baseline round ${r}"
  A+=("${T}")
  clean_hosts
  start_daemons
  run_apply "${WORK}/bringup.yaml"
  check_running "apply (no gates) round ${r}"
  B+=("${T}")
  stop_daemons
  clean_hosts
  start_daemons
  run_apply "${DEMO}"
  check_running "apply (demo) round ${r}"
  C+=("${T}")
  echo "round ${r}: baseline $(secs "${A[-1]}"), apply without gates $(secs "${B[-1]}"), demo with gates $(secs "${C[-1]}")"
done

ma=$(median "${A[@]}") mb=$(median "${B[@]}") mc=$(median "${C[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median of ${ROUNDS} rounds (36 containers, 4 hosts):"
echo "  (a) baseline, docker run loops in parallel: $(secs "${ma}")"
echo "  (b) bdcoord apply, no readiness gates:      $(secs "${mb}")  (x$(ratio "${mb}" "${ma}") baseline)"
echo "  (c) bdcoord apply, demo with gates:         $(secs "${mc}")  (x$(ratio "${mc}" "${ma}") baseline)"

# --- idle cost with the demo running (the last round's) -----------------------------------

ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A start_ticks=()
names=(bdcoordd "${HOSTS[@]}")
for name in "${names[@]}"; do start_ticks[${name}]=$(cpu_ticks "${PIDS[${name}]}"); done
sleep "${IDLE_SECONDS}"  # the idle window being measured, not a wait for a condition
echo
echo "idle with the demo running, over ${IDLE_SECONDS} s:"
for name in "${names[@]}"; do
  pid=${PIDS[${name}]}
  [[ -d /proc/${pid} ]] || fail "${name} (${pid}) exited during the idle window"
  rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/${pid}/status")
  ms=$((($(cpu_ticks "${pid}") - start_ticks[${name}]) * 1000 / ticks_per_second))
  label=${name}
  [[ ${name} == bdcoordd ]] || label="bdagent ${name}"
  printf '  %-14s RSS %5.1f MiB  CPU %4d ms (%.2f%% of one core)\n' "${label}" \
    "$(awk -v k="${rss_kb}" 'BEGIN {print k / 1024}')" "${ms}" \
    "$(awk -v c="${ms}" -v w="${IDLE_SECONDS}" 'BEGIN {print c / (w * 10)}')"
done
