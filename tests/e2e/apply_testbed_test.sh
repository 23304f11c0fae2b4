#!/usr/bin/env bash
# `bdcoord apply` end to end on 3 hosts of the testbed with real dockerd: bdcoordd, one bdagent
# per simulated host (in its network namespace, dialling the coordinator's unix socket), a cluster
# whose kafka waits for zk to be ready. Checks the exit code, the order, every instance running on
# its host and IP, and a cross-host name lookup; then `bdcoord drain` of a host: its progress, and
# that it returns once the moved instances run and are ready on their new hosts; `drain --undo`.
# Usage: apply_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup apply e2eapply bdcoord-e2e host1 host2 host3

cat >"${work}/cluster.yaml" <<YAML
cluster: e2eapply
domain: e2e.lan
networks:
  bdcoord-e2e: {driver: macvlan, parent: eth0, subnet: ${BDCOORD_TESTBED_SUBNET}, ip_range: 10.251.0.96/28}
services:
  zk:
    image: ${BDCOORD_TESTBED_IMAGE}
    count: 2
    command: ["--listen", "2181"]
    placement: {distinct_hosts: true}
    ready: {log: "listening on 2181"}
  kafka:
    image: ${BDCOORD_TESTBED_IMAGE}
    count: 2
    command: ["--listen", "9092"]
    env: {ZK: "{{#peers.zk}}{{fqdn}}:2181{{^last}},{{/last}}{{/peers.zk}}"}
    placement: {distinct_hosts: true}
    depends_on: {zk: ready}
YAML

start_coordinator
for h in "${HOSTS[@]}"; do start_agent "${h}" --interval 2; done
wait_until 30 "the agents did not connect" all_connected

timeout 180 "${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${sock}" >"${work}/apply.out" 2>&1 ||
  fail "apply: $(cat "${work}/apply.out")"
grep -q "kafka: 0/2 ready (waiting for zk ready)" "${work}/apply.out" || fail "kafka did not wait for zk: $(cat "${work}/apply.out")"
grep -q "4/4 instances ready, done" "${work}/apply.out" || fail "no done summary: $(cat "${work}/apply.out")"
echo "ok: apply brings zk up, then kafka, and exits 0"

"${BDCOORD}" status --coordinator "${sock}" -o json >"${work}/status.json"
python3 - "${work}/status.json" <<'PY' || fail "status: $(cat "${work}/status.json")"
import json, sys, subprocess
doc = json.load(open(sys.argv[1]))
rows = doc if isinstance(doc, list) else doc.get("instances") or [i for c in doc.get("clusters", []) for i in c.get("instances", [])]
assert len(rows) == 4, rows
PY
for name in zk1 zk2 kafka1 kafka2; do
  found=0
  for h in "${HOSTS[@]}"; do
    if dockerh "${h}" inspect -f '{{.State.Running}}' "${name}" 2>/dev/null | grep -q true; then found=1; fi
  done
  [[ ${found} -eq 1 ]] || fail "${name} is not running on any host"
done
echo "ok: every instance runs on the testbed"

host_of() {  # host_of CONTAINER: the host it runs on
  for h in "${HOSTS[@]}"; do
    if dockerh "${h}" inspect "$1" >/dev/null 2>&1; then echo "${h}"; return; fi
  done
}
kafka_host=$(host_of kafka1)
lookup=$(dockerh "${kafka_host}" exec kafka1 getent hosts zk2)
[[ ${lookup} == *"zk2.e2e.lan zk2"* ]] || fail "kafka1 cannot resolve zk2: ${lookup}"
echo "ok: kafka1 resolves zk2 by name (${lookup//$'\t'/ })"

# Drain zk1's host: its instances move (same names and IPs); the command shows their progress as
# apply does and returns once each runs and is ready on its new host, not on the old host's word.
drained=$(host_of zk1)
moving=$(for name in zk1 zk2 kafka1 kafka2; do
  if [[ $(host_of ${name}) == "${drained}" ]]; then echo ${name}; fi
done)
count=$(echo "${moving}" | wc -l)
timeout 180 "${BDCOORD}" drain "${drained}" --coordinator "${sock}" >"${work}/drain.out" 2>&1 ||
  fail "drain: $(cat "${work}/drain.out")"
head -1 "${work}/drain.out" | grep -qx "host ${drained} drained: moving ${count} instances\{0,1\} to other hosts (cluster e2eapply); nothing new goes to it until \`bdcoord drain --undo ${drained}\`" ||
  fail "drain's first line: $(cat "${work}/drain.out")"
grep -q "^zk: 1/2 ready" "${work}/drain.out" || fail "drain showed no progress of zk: $(cat "${work}/drain.out")"
tail -1 "${work}/drain.out" | grep -qx "host ${drained} drained: ${count}/${count} moved instances ready on their new hosts" ||
  fail "drain's last line: $(cat "${work}/drain.out")"
for name in ${moving}; do
  now=$(host_of "${name}")
  [[ -n ${now} && ${now} != "${drained}" ]] || fail "${name} runs on '${now}' after the drain"
  dockerh "${now}" inspect -f '{{.State.Running}}' "${name}" | grep -q true || fail "${name} is not running on ${now}"
done
"${BDCOORD}" status --coordinator "${sock}" -o json | python3 -c '
import json, sys
for i in json.load(sys.stdin)["clusters"][0]["instances"]:
    assert i["host"] != sys.argv[1] and i["state"] == "running" and i["ready"], i
' "${drained}" || fail "status after the drain: $("${BDCOORD}" status --coordinator "${sock}")"
echo "ok: drain ${drained} moved ${count} (${moving//$'\n'/ }) and returned once they were ready on their new hosts"
"${BDCOORD}" drain --undo "${drained}" --coordinator "${sock}" >"${work}/undo.out" 2>&1 || fail "drain --undo: $(cat "${work}/undo.out")"
grep -qx "host ${drained} takes placements again: new instances (apply, scale) may go there; nothing moves back by itself" "${work}/undo.out" ||
  fail "drain --undo: $(cat "${work}/undo.out")"
[[ -z $(host_of zk1) || $(host_of zk1) != "${drained}" ]] || fail "zk1 moved back to ${drained}"
echo "ok: drain --undo says what it does; nothing moves back"
