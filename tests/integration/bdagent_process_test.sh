#!/usr/bin/env bash
# The bdagent binary on testbed host1, run the way systemd runs it: inside the host's network
# namespace, from a desired-state file. Checks --once statuses (running, ready through the host
# shim), that a second agent run restarts nothing, that SIGTERM leaves containers running, that
# an empty desired state removes containers, network and shim, and that bad input is rejected.
# Usage: bdagent_process_test.sh BDAGENT
set -euo pipefail
BDAGENT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
eval "$("${HERE}/../../deploy/testbed.sh" env)"
SOCK=${BDCOORD_TESTBED_HOST1_SOCK}
NETNS=${BDCOORD_TESTBED_HOST1_NETNS}
WORK=$(mktemp -d /tmp/bdagent-test.XXXXXX)
AGENT_PID=
cleanup() {
  [[ -n ${AGENT_PID} ]] && kill "${AGENT_PID}" 2>/dev/null || true
  printf '{"cluster":"itproc"}' >"${WORK}/empty.json"
  nsenter --net="${NETNS}" "${BDAGENT}" --docker-socket "${SOCK}" --desired "${WORK}/empty.json" \
    --once --config /dev/null --state-dir "${WORK}/state" >/dev/null 2>&1 || true
  rm -rf "${WORK}"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
agent() {
  nsenter --net="${NETNS}" "${BDAGENT}" --docker-socket "${SOCK}" --config /dev/null \
    --state-dir "${WORK}/state" "$@"
}
started_at() { docker -H "unix://${SOCK}" inspect -f '{{.State.StartedAt}}' "$1"; }

instance() {  # instance NAME IP
  cat <<JSON
{"cluster":"itproc","service":"web","name":"$1","domain":"it.lan","image":"bdcoord/standin:latest",
 "command":["--listen","7000"],"user":"1000:1000","network":"bdcoord-it-proc","ip":"$2",
 "ready":{"tcp":{"port":7000}},"restart":{"mode":"MODE_ALWAYS"}}
JSON
}
cat >"${WORK}/desired.json" <<JSON
{"cluster":"itproc",
 "networks":[{"name":"bdcoord-it-proc","driver":"NETWORK_DRIVER_MACVLAN","parent":"eth0",
              "subnet":"${BDCOORD_TESTBED_SUBNET}","ip_range":"10.251.0.64/28","host_shim":true}],
 "shim_addresses":{"bdcoord-it-proc":"10.251.0.251/32"},
 "hosts_file":"127.0.0.1\tlocalhost\n10.251.0.65\tw1.it.lan w1\n10.251.0.66\tw2.it.lan w2\n",
 "instances":[$(instance w1 10.251.0.65),$(instance w2 10.251.0.66)]}
JSON

# 1. One pass runs both; they are ready (the tcp probe reaches them through the shim) in that
#    pass or, on a loaded machine where the listener comes up after the probe, in a later one.
both_ready() {
  python3 - "${WORK}/once.json" <<'PY'
import json, sys
statuses = json.load(open(sys.argv[1]))
assert [s["name"] for s in statuses] == ["w1", "w2"], statuses
for s in statuses:
    assert s["state"] == "INSTANCE_STATE_RUNNING", s
    assert s.get("ready") is True, s
PY
}
deadline=$((SECONDS + 20))
until agent --desired "${WORK}/desired.json" --once >"${WORK}/once.json" && both_ready 2>/dev/null; do
  ((SECONDS < deadline)) || fail "--once: not both running and ready after 20 s: $(cat "${WORK}/once.json")"
  sleep 0.5
done
echo "ok: --once runs both instances, ready through the host shim"
before=$(started_at w1)

# 2. A second agent process restarts nothing.
agent --desired "${WORK}/desired.json" --once >/dev/null || fail "second --once failed"
[[ $(started_at w1) == "${before}" ]] || fail "w1 was restarted by a second agent run"
echo "ok: a second agent run restarts nothing"

# 3. As a daemon (a pass a minute): a container restarted by Docker gets Docker's own /etc/hosts
#    back, and the agent, woken by the Docker event, restores the cluster's map within seconds.
#    Then SIGTERM stops the agent, not the containers.
# nsenter execs bdagent, so $! is the agent itself.
nsenter --net="${NETNS}" "${BDAGENT}" --docker-socket "${SOCK}" --config /dev/null \
  --state-dir "${WORK}/state" --desired "${WORK}/desired.json" --interval 60 >"${WORK}/agent.log" 2>&1 &
AGENT_PID=$!
deadline=$((SECONDS + 20))
until grep -q "desired state from" "${WORK}/agent.log"; do
  ((SECONDS < deadline)) || fail "the agent did not start: $(cat "${WORK}/agent.log")"
  sleep 0.2
done
hosts_of_w1() { docker -H "unix://${SOCK}" exec w1 cat /etc/hosts; }
hosts_of_w1 | grep -q $'w2.it.lan w2' || fail "w1 lacks the cluster hosts map: $(hosts_of_w1)"
docker -H "unix://${SOCK}" restart -t 1 w1 >/dev/null
deadline=$((SECONDS + 15))
until hosts_of_w1 2>/dev/null | grep -q $'w2.it.lan w2'; do
  ((SECONDS < deadline)) || fail "the agent did not restore w1's /etc/hosts after a restart: $(hosts_of_w1)"
  sleep 0.2
done
echo "ok: a restarted container gets the cluster's hosts map back at once (Docker event)"
before=$(started_at w1)
kill -TERM "${AGENT_PID}"
wait "${AGENT_PID}" || fail "the agent exited non-zero on SIGTERM"
AGENT_PID=
grep -q "containers keep running" "${WORK}/agent.log" || fail "no clean stop: $(cat "${WORK}/agent.log")"
[[ $(docker -H "unix://${SOCK}" inspect -f '{{.State.Running}}' w1) == true ]] || fail "w1 stopped with the agent"
echo "ok: SIGTERM stops the agent and leaves the containers running"

# 4. Bad input changes nothing and says why.
echo '{"cluster": 7' >"${WORK}/bad.json"
set +e
agent --desired "${WORK}/bad.json" --once >/dev/null 2>"${WORK}/bad.err"
status=$?
set -e
[[ ${status} -eq 2 ]] || fail "bad desired file: exit ${status}, want 2"
grep -q "bad.json: not a desired state" "${WORK}/bad.err" || fail "bad desired file message: $(cat "${WORK}/bad.err")"
[[ $(started_at w1) == "${before}" ]] || fail "a bad desired file touched w1"
echo "ok: a bad desired file is rejected and changes nothing"
set +e
nsenter --net="${NETNS}" "${BDAGENT}" --docker-socket "${SOCK}" --config /dev/null \
  --state-dir "${WORK}/gate-state" --desired "${WORK}/empty.json" --once --gate /nonexistent/bdgate \
  >/dev/null 2>"${WORK}/gate.err"
status=$?
set -e
[[ ${status} -eq 2 ]] || fail "--gate /nonexistent/bdgate: exit ${status}, want 2"
grep -qx "bdagent: --gate /nonexistent/bdgate: not an executable file given by its absolute path (build it with the agent: target bdgate; or --gate none)" \
  "${WORK}/gate.err" || fail "--gate message: $(cat "${WORK}/gate.err")"
[[ ! -e ${WORK}/gate-state ]] || fail "a wrong --gate made the state directory"
echo "ok: a wrong --gate is refused (exit 2) before anything is made"

# 5. An empty desired state removes the containers, then the network and the shim.
printf '{"cluster":"itproc"}' >"${WORK}/empty.json"
agent --desired "${WORK}/empty.json" --once >/dev/null || fail "empty desired state failed"
[[ -z $(docker -H "unix://${SOCK}" ps -aq --filter label=io.bdcoord.cluster=itproc) ]] || fail "containers left"
[[ -z $(docker -H "unix://${SOCK}" network ls -q --filter name=bdcoord-it-proc) ]] || fail "network left"
if nsenter --net="${NETNS}" ip link show bdc-bdcoord-it- >/dev/null 2>&1; then fail "shim left"; fi
echo "ok: an empty desired state removes containers, network and shim"

# 6. The agent's own policy, with no coordinator in between: root (given, or the image's default
#    user) and the Docker socket are refused before anything is made; --allow-root lets root run.
cat >"${WORK}/root.json" <<JSON
{"cluster":"itproc","instances":[
 {"cluster":"itproc","service":"web","name":"r1","image":"bdcoord/standin:latest",
  "command":["--listen","7000"],"user":"0:0","network":"none"},
 {"cluster":"itproc","service":"web","name":"r2","image":"bdcoord/standin:latest",
  "command":["--listen","7000"],"network":"none"},
 {"cluster":"itproc","service":"web","name":"r3","image":"bdcoord/standin:latest",
  "command":["--listen","7000"],"user":"1000:1000","network":"none",
  "volumes":[{"source":"/var/run/docker.sock","target":"/var/run/docker.sock"}]}]}
JSON
agent --desired "${WORK}/root.json" --once --host-name host1 >"${WORK}/root.out" || true
python3 - "${WORK}/root.out" <<'PY' || fail "refusals: $(cat "${WORK}/root.out")"
import json, sys
statuses = json.load(open(sys.argv[1]))
assert [s["name"] for s in statuses] == ["r1", "r2", "r3"], statuses
for s in statuses:
    assert s["state"] == "INSTANCE_STATE_FAILED", s
    assert s["message"].startswith("refused by host host1's policy: "), s
assert 'runs as root (user "0:0")' in statuses[0]["message"], statuses[0]
assert "the image's default" in statuses[1]["message"], statuses[1]
assert "holds the Docker socket" in statuses[2]["message"], statuses[2]
PY
[[ -z $(docker -H "unix://${SOCK}" ps -aq --filter label=io.bdcoord.cluster=itproc) ]] || fail "a refused instance got a container"
agent --desired "${WORK}/root.json" --once --allow-root >"${WORK}/root.out" || true
python3 - "${WORK}/root.out" <<'PY' || fail "--allow-root: $(cat "${WORK}/root.out")"
import json, sys
statuses = json.load(open(sys.argv[1]))
assert statuses[0]["state"] == "INSTANCE_STATE_RUNNING", statuses[0]
assert statuses[1]["state"] == "INSTANCE_STATE_RUNNING", statuses[1]
assert statuses[2]["state"] == "INSTANCE_STATE_FAILED", statuses[2]  # the socket: never
PY
agent --desired "${WORK}/empty.json" --once >/dev/null || fail "empty desired state failed"
echo "ok: the agent's own policy refuses root and the Docker socket, --allow-root allows root"
