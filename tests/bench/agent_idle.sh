#!/usr/bin/env bash
# Idle cost of bdagent on testbed host1 (deploy/testbed.sh up 1 first): starts the agent with
# 9 running containers, waits until it has reconciled, then prints its resident memory and the
# CPU it used over an idle window. `agent_idle.sh --help` for the arguments.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/bench/agent_idle.sh BDAGENT [WINDOW_SECONDS]

Needs testbed host1 (deploy/testbed.sh up 1), as root. Starts BDAGENT (e.g.
build/agent/bdagent) in host1's namespace with 9 running containers from a local desired
state, waits until it has reconciled, then prints its resident memory and the CPU it used over
WINDOW_SECONDS idle seconds (default 30). Removes the containers at the end.
EOF
}
positional=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage && exit 0 ;;
    -*) echo "agent_idle: unknown option $1 (see --help)" >&2 && exit 2 ;;
    *) positional+=("$1") && shift ;;
  esac
done
[[ ${#positional[@]} -ge 1 && ${#positional[@]} -le 2 ]] || { usage >&2; exit 2; }
BDAGENT=${positional[0]}
WINDOW=${positional[1]:-30}
HERE=$(cd "$(dirname "$0")" && pwd)
eval "$("${HERE}/../../deploy/testbed.sh" env)"
SOCK=${BDCOORD_TESTBED_HOST1_SOCK}
NETNS=${BDCOORD_TESTBED_HOST1_NETNS}
WORK=$(mktemp -d /tmp/bdagent-idle.XXXXXX)
PID=
cleanup() {
  [[ -n ${PID} ]] && kill "${PID}" 2>/dev/null && wait "${PID}" 2>/dev/null || true
  printf '{"cluster":"idle"}' >"${WORK}/empty.json"
  nsenter --net="${NETNS}" "${BDAGENT}" --docker-socket "${SOCK}" --config /dev/null \
    --state-dir "${WORK}/state" --desired "${WORK}/empty.json" --once >/dev/null 2>&1 || true
  rm -rf "${WORK}"
}
trap cleanup EXIT

instances=()
hosts="127.0.0.1\tlocalhost\n"
for i in $(seq 1 9); do
  instances+=("{\"cluster\":\"idle\",\"service\":\"s\",\"name\":\"idle${i}\",\"domain\":\"it.lan\",\"image\":\"bdcoord/standin:latest\",\"user\":\"1000:1000\",\"network\":\"bdcoord-idle\",\"ip\":\"10.251.0.$((80 + i))\"}")
  hosts+="10.251.0.$((80 + i))\tidle${i}.it.lan idle${i}\n"
done
(IFS=,; printf '{"cluster":"idle","networks":[{"name":"bdcoord-idle","driver":"NETWORK_DRIVER_MACVLAN","parent":"eth0","subnet":"%s","ip_range":"10.251.0.80/28"}],"hosts_file":"%s","instances":[%s]}' \
  "${BDCOORD_TESTBED_SUBNET}" "${hosts}" "${instances[*]}") >"${WORK}/desired.json"

nsenter --net="${NETNS}" "${BDAGENT}" --docker-socket "${SOCK}" --config /dev/null \
  --state-dir "${WORK}/state" --desired "${WORK}/desired.json" >"${WORK}/agent.log" 2>&1 &
PID=$!
deadline=$((SECONDS + 60))
until grep -q "reconciled:" "${WORK}/agent.log"; do
  ((SECONDS < deadline)) || { echo "agent did not reconcile" >&2; cat "${WORK}/agent.log" >&2; exit 1; }
  sleep 0.2
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/${PID}/stat"; }
ticks_per_second=$(getconf CLK_TCK)
start=$(cpu_ticks)
sleep "${WINDOW}"  # the idle window being measured, not a wait for a condition
end=$(cpu_ticks)
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/${PID}/status")
cpu_ms=$(( (end - start) * 1000 / ticks_per_second ))
echo "bdagent idle with 9 containers: RSS $((rss_kb / 1024)) MiB (${rss_kb} KiB), CPU ${cpu_ms} ms over ${WINDOW} s ($(awk -v c="${cpu_ms}" -v w="${WINDOW}" 'BEGIN {printf "%.2f", c / (w * 10)}')% of one core)"
