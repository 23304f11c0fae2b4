#!/usr/bin/env bash
# `bdcoord apply` end to end on the 2-host testbed with real dockerd: bdcoordd, one bdagent per
# simulated host (in its network namespace, dialling the coordinator's unix socket), a cluster
# whose kafka waits for zk to be ready. Checks the exit code, the order, every instance running on
# its host and IP, and a cross-host name lookup. Usage: apply_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup apply e2eapply bdcoord-e2e

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

kafka_host=$(dockerh host1 inspect kafka1 >/dev/null 2>&1 && echo host1 || echo host2)
lookup=$(dockerh "${kafka_host}" exec kafka1 getent hosts zk2)
[[ ${lookup} == *"zk2.e2e.lan zk2"* ]] || fail "kafka1 cannot resolve zk2: ${lookup}"
echo "ok: kafka1 resolves zk2 by name (${lookup//$'\t'/ })"
