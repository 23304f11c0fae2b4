# Sourced by the e2e scripts that run bdcoordd and one bdagent per simulated host of the testbed
# (deploy/testbed.sh, already up). `testbed_setup NAME CLUSTER NETWORK [HOST...]` reads the
# testbed's environment, sets HOSTS (default: host1 host2; `all`: every testbed host), makes ${work} and the coordinator's
# ${sock} in it, and at exit kills every process started here (${pids[@]}, ${agent_pid[@]},
# ${coordinator_pid}), removes the containers of CLUSTER (of every cluster when it is empty) and
# the Docker network NETWORK on every host, and ${work} unless KEEP is set.
TESTBED_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

testbed_setup() {
  eval "$("${TESTBED_REPO}/deploy/testbed.sh" env)"
  local name=$1
  testbed_cluster=$2
  testbed_network=$3
  shift 3
  if [[ ${1:-} == all ]]; then
    read -r -a HOSTS <<<"${BDCOORD_TESTBED_HOSTS}"
  elif (($# > 0)); then
    HOSTS=("$@")
  else
    HOSTS=(host1 host2)
  fi
  work=$(mktemp -d "/tmp/bdcoord-${name}-e2e.XXXXXX")
  sock="unix://${work}/bdcoordd.sock"
  pids=()
  declare -gA agent_pid=()
  coordinator_pid=""
  trap testbed_cleanup EXIT
}
testbed_cleanup() {
  for pid in "${pids[@]}" "${agent_pid[@]}" ${coordinator_pid}; do kill "${pid}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  local h ids
  for h in "${HOSTS[@]}"; do
    ids=$(dockerh "${h}" ps -aq --filter "label=io.bdcoord.cluster${testbed_cluster:+=${testbed_cluster}}" 2>/dev/null || true)
    # shellcheck disable=SC2086  # a list of IDs
    [[ -n ${ids} ]] && dockerh "${h}" rm -f ${ids} >/dev/null 2>&1 || true
    dockerh "${h}" network rm "${testbed_network}" >/dev/null 2>&1 || true
  done
  [[ -n ${KEEP:-} ]] || rm -rf "${work}"
}
dockerh() { local h=$1; shift; docker -H "unix:///run/bdcoord-testbed/${h}/docker.sock" "$@"; }
# program_started HOST CONTAINER: when the container's program began, as nanoseconds since the
# epoch: the time Docker stamped on its first log line (standin's "started"). Not Docker's
# StartedAt: a held instance's container starts early behind bdgate, its program on release. A
# program reported running may not have written that line yet: waited for, 20 s at most.
program_started() {
  local line="" deadline=$((SECONDS + 20))
  until line=$(dockerh "$1" logs -t "$2" 2>&1 | head -1) && [[ -n ${line} ]]; do
    if ((SECONDS >= deadline)); then
      echo "program_started: $2 on $1 logged nothing in 20 s" >&2
      return 1
    fi
    sleep 0.1
  done
  /usr/bin/python3 -c '
import datetime, sys
date, _, fraction = sys.argv[1].split(" ", 1)[0].rstrip("Z").partition(".")
seconds = datetime.datetime.fromisoformat(date).replace(tzinfo=datetime.timezone.utc).timestamp()
print(int(seconds) * 10**9 + int((fraction + "000000000")[:9]))' "${line}"
}
# fail MESSAGE: prints it and the end of every log of this run, and ends the test.
fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "${work}"/*.log "${work}"/*.out "${work}"/*.err; do
    [[ -f ${f} ]] || continue
    echo "== ${f}" >&2
    tail -20 "${f}" >&2
  done
  exit 1
}
# wait_until SECONDS WHAT COMMAND...: polls COMMAND until it succeeds, or fails the test.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || fail "${what} (after ${limit} s)"
    sleep 0.1
  done
}
# start_coordinator [FLAG...]: bdcoordd on ${sock} with its state in ${work}/data; on a unix
# socket, returns once it listens (agents dialling sooner back off for seconds).
start_coordinator() {
  "${BDCOORDD}" --listen "${sock}" --data-dir "${work}/data" "$@" 2>>"${work}/bdcoordd.log" &
  coordinator_pid=$!
  [[ ${sock} != unix://* ]] || wait_until 10 "bdcoordd did not listen on ${sock}" test -S "${sock#unix://}"
}
# start_agent HOST [FLAG...]: bdagent in HOST's network namespace, dialling ${sock}.
start_agent() {
  local h=$1
  shift
  nsenter --net="/var/run/netns/bdcoord-${h}" "${BDAGENT}" --coordinator "${sock}" --host-name "${h}" \
    --docker-socket "/run/bdcoord-testbed/${h}/docker.sock" --config /dev/null \
    --state-dir "${work}/state-${h}" "$@" \
    2>>"${work}/agent-${h}.log" &
  agent_pid[${h}]=$!
}
connected_hosts() { "${BDCOORD}" hosts --coordinator "${sock}" -o json 2>/dev/null | grep -c '"connected": true' || true; }
all_connected() { [[ $(connected_hosts) -eq ${#HOSTS[@]} ]]; }
