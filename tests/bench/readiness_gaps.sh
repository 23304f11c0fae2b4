#!/usr/bin/env bash
# tests/bench/readiness_gaps.sh: how long each depends_on edge of the gated demo waits, on the
# 4-host testbed (deploy/testbed.sh up 4). Run by hand, as root, not by ctest. Per round: a fresh
# coordinator and 4 agents, `bdcoord apply deploy/examples/bigdata-demo.yaml`, then per service
# with depends_on: when its last condition came true (a dependency's instances all ready, as
# their agents logged it; completed as Docker recorded it, started as below) and when the
# service's first program began (its first log line: a held container is started earlier behind
# bdgate, or created earlier without it, and its program runs on release). Prints
# the gap per edge, its median over the rounds, and the apply's wall time. `readiness_gaps.sh
# --help` for the arguments.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/bench/readiness_gaps.sh BUILD_DIR [ROUNDS]

Needs the testbed with hosts host1..host4 (deploy/testbed.sh up 4), as root. Per round (default
3): a fresh bdcoordd and 4 bdagents from BUILD_DIR, `bdcoord apply
deploy/examples/bigdata-demo.yaml`, then for each depends_on edge the gap between its last
condition coming true and the service's first program beginning (its first log line). Prints the gaps per
round, their medians and the apply's wall time. KEEP=1 keeps the work directory
(/tmp/bdcoord-gaps.*).
EOF
}
positional=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage && exit 0 ;;
    -*) echo "readiness_gaps: unknown option $1 (see --help)" >&2 && exit 2 ;;
    *) positional+=("$1") && shift ;;
  esac
done
[[ ${#positional[@]} -ge 1 && ${#positional[@]} -le 2 ]] || { usage >&2; exit 2; }
BUILD_DIR=$(readlink -f "${positional[0]}")
ROUNDS=${positional[1]:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$(dirname "${HERE}")")
BDCOORD=${BUILD_DIR}/cli/bdcoord
BDCOORDD=${BUILD_DIR}/coordinator/bdcoordd
BDAGENT=${BUILD_DIR}/agent/bdagent
DEMO=${REPO}/deploy/examples/bigdata-demo.yaml
HOSTS=(host1 host2 host3 host4)
export TZ=UTC  # the agents' log times and Docker's are compared

die() { echo "readiness_gaps: error: $*" >&2; exit 1; }
[[ ${EUID} -eq 0 ]] || die "must run as root"
env_out=$("${REPO}/deploy/testbed.sh" env 2>&1) || die "${env_out}"
eval "${env_out}"

WORK=$(mktemp -d /tmp/bdcoord-gaps.XXXXXX)
ADDR=unix://${WORK}/bdcoordd.sock
declare -A PIDS=()
# shellcheck source=tests/bench/bench_lib.sh
source "${HERE}/bench_lib.sh"

cleanup() {
  stop_daemons
  clean_hosts || true
  [[ -n ${KEEP:-} ]] || rm -rf "${WORK}"
}
trap cleanup EXIT

start_daemons() {
  local round=$1 h labels
  rm -rf "${WORK}/data"
  "${BDCOORDD}" --listen "${ADDR}" --data-dir "${WORK}/data" 2>"${WORK}/r${round}-bdcoordd.log" &
  PIDS[bdcoordd]=$!
  for h in "${HOSTS[@]}"; do
    labels=BDCOORD_TESTBED_${h^^}_LABELS
    nsenter --net="/var/run/netns/bdcoord-${h}" "${BDAGENT}" --coordinator "${ADDR}" \
      --host-name "${h}" --docker-socket "/run/bdcoord-testbed/${h}/docker.sock" \
      --config /dev/null --label "${!labels}" --state-dir "${WORK}/state-${h}" \
      2>"${WORK}/r${round}-agent-${h}.log" &
    PIDS[${h}]=$!
  done
  local deadline=$((SECONDS + 60))
  until [[ $("${BDCOORD}" hosts --coordinator "${ADDR}" -o json 2>/dev/null |
    grep -c '"connected": true') -eq 4 ]]; do
    ((SECONDS < deadline)) || die "the 4 agents did not connect in 60s"
    sleep 0.1
  done
}

clean_hosts
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
for ((r = 1; r <= ROUNDS; r++)); do
  clean_hosts
  start_daemons "${r}"
  t0=$(date +%s%3N)
  timeout 300 "${BDCOORD}" apply "${DEMO}" --coordinator "${ADDR}" >"${WORK}/r${r}-apply.log" 2>&1 ||
    die "apply: $(tail -5 "${WORK}/r${r}-apply.log")"
  echo "round ${r}: apply $(awk -v ms=$(($(date +%s%3N) - t0)) 'BEGIN {printf "%.2f s", ms / 1000}')" |
    tee -a "${WORK}/walls"
  for h in "${HOSTS[@]}"; do
    ids=$(dk "${h}" ps -aq)
    # shellcheck disable=SC2086  # a list of IDs
    dk "${h}" inspect ${ids} >"${WORK}/r${r}-inspect-${h}.json"
    # When each program began: its first log line (a held container starts early behind bdgate).
    for id in ${ids}; do echo "${id} $(dk "${h}" logs -t "${id}" 2>&1 | head -1 | cut -d' ' -f1)"; done \
      >"${WORK}/r${r}-program-${h}.txt"
  done
  stop_daemons
done

/usr/bin/python3 - "${WORK}" "${ROUNDS}" "${DEMO}" <<'PY'
import datetime, glob, json, re, statistics, sys
work, rounds, demo = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def ts(docker_time):  # RFC 3339 with nanoseconds, UTC
    head, _, frac = docker_time.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + (float("0." + frac) if frac else 0.0)

# depends_on of the demo, read from its YAML lines (no YAML module needed).
deps, service = {}, None
for line in open(demo):
    m = re.match(r"^  ([a-z-]+):\s*$", line)
    if m: service = m.group(1)
    m = re.match(r"^    depends_on: \{(.*)\}", line)
    if m and service:
        deps[service] = dict(kv.split(": ") for kv in m.group(1).split(", "))
gaps, seen = {}, {}
for r in range(1, rounds + 1):
    containers = []
    for f in glob.glob("%s/r%d-inspect-*.json" % (work, r)):
        containers += json.load(open(f))
    svc = lambda c: c["Config"]["Labels"].get("io.bdcoord.service")
    began = {}  # short id -> its program's first log line
    for f in glob.glob("%s/r%d-program-*.txt" % (work, r)):
        for line in open(f):
            short_id, stamp = line.split()
            began[short_id[:12]] = ts(stamp)
    started = lambda c: began.get(c["Id"][:12], ts(c["State"]["StartedAt"]))
    ready = {}
    for f in glob.glob("%s/r%d-agent-*.log" % (work, r)):
        for line in open(f):
            m = re.match(r"^\[(\S+ \S+)\].*'([^']+)' is ready", line)
            if m:
                t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
                ready[m.group(2)] = t.replace(tzinfo=datetime.timezone.utc).timestamp()
    def holds(dep, cond):
        mine = [c for c in containers if svc(c) == dep]
        if cond == "ready":
            # Instances without a probe are ready once started.
            return max(ready.get(c["Name"].lstrip("/"), started(c)) for c in mine)
        if cond == "completed":
            return max(ts(c["State"]["FinishedAt"]) for c in mine)
        return max(started(c) for c in mine)
    for c in containers:
        name = c["Name"].lstrip("/")
        if name in ready:
            seen.setdefault(svc(c), []).append(ready[name] - started(c))
    for service, conditions in deps.items():
        gate = max((holds(d, c), d, c) for d, c in conditions.items())
        first = min(started(c) for c in containers if svc(c) == service)
        gaps.setdefault(service, []).append((first - gate[0], "%s: %s" % (gate[1], gate[2])))
print("\nper service: its last condition to hold -> its first program began (ms), per round:")
for service in deps:
    values = gaps[service]
    print("  %-12s %s  median %5.0f ms" % (service, "  ".join(
        "%5.0f (%s)" % (v * 1000, why) for v, why in values),
        statistics.median(v for v, _ in values) * 1000))
print("\nper service with a probe: its program began -> the agent saw it ready (ms), over every round:")
for service, values in seen.items():
    print("  %-12s median %5.0f  max %5.0f  (%d instances)" % (service, statistics.median(values) * 1000,
          max(values) * 1000, len(values)))
PY
