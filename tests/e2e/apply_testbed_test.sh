#!/usr/bin/env bash
# `bdcoord apply` end to end on the 2-host testbed with real dockerd: bdcoordd, one bdagent per
# simulated host (in its network namespace, dialling the coordinator's unix socket), a cluster
# whose kafka waits for zk to be ready. Checks the exit code, the order, every instance running on
# its host and IP, and a cross-host name lookup. Usage: apply_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
eval "$("${HERE}/../../deploy/testbed.sh" env)"
work=$(mktemp -d /tmp/bdcoord-apply-e2e.XXXXXX)
sock="unix://${work}/bdcoordd.sock"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for h in host1 host2; do  # the containers and network of this test, by their labels
    s="/run/bdcoord-testbed/${h}/docker.sock"
    ids=$(docker -H "unix://${s}" ps -aq --filter label=io.bdcoord.cluster=e2eapply 2>/dev/null || true)
    [[ -n ${ids} ]] && docker -H "unix://${s}" rm -f ${ids} >/dev/null 2>&1 || true
    docker -H "unix://${s}" network rm bdcoord-e2e >/dev/null 2>&1 || true
  done
  [[ -n ${KEEP:-} ]] || rm -rf "${work}"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "${work}"/*.log; do echo "== ${f}" >&2; tail -20 "${f}" >&2; done; exit 1; }

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

"${BDCOORDD}" --listen "${sock}" --data-dir "${work}/data" 2>"${work}/bdcoordd.log" &
pids+=($!)
for h in host1 host2; do
  nsenter --net="/var/run/netns/bdcoord-${h}" "${BDAGENT}" --coordinator "${sock}" --host-name "${h}" \
    --docker-socket "/run/bdcoord-testbed/${h}/docker.sock" --config /dev/null --interval 2 \
    2>"${work}/agent-${h}.log" &
  pids+=($!)
done
deadline=$((SECONDS + 30))
until [[ $("${BDCOORD}" hosts --coordinator "${sock}" -o json 2>/dev/null | grep -c '"connected": true') -eq 2 ]]; do
  ((SECONDS < deadline)) || fail "the agents did not connect"
  sleep 0.2
done

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
  for h in host1 host2; do
    if docker -H "unix:///run/bdcoord-testbed/${h}/docker.sock" inspect -f '{{.State.Running}}' "${name}" 2>/dev/null | grep -q true; then found=1; fi
  done
  [[ ${found} -eq 1 ]] || fail "${name} is not running on any host"
done
echo "ok: every instance runs on the testbed"

kafka_host=$(docker -H "unix:///run/bdcoord-testbed/host1/docker.sock" inspect kafka1 >/dev/null 2>&1 && echo host1 || echo host2)
lookup=$(docker -H "unix:///run/bdcoord-testbed/${kafka_host}/docker.sock" exec kafka1 getent hosts zk2)
[[ ${lookup} == *"zk2.e2e.lan zk2"* ]] || fail "kafka1 cannot resolve zk2: ${lookup}"
echo "ok: kafka1 resolves zk2 by name (${lookup//$'\t'/ })"
