#!/usr/bin/env bash
# The cluster life cycle end to end on the 2-host testbed with real dockerd, bdcoordd and one
# bdagent per simulated host: a bad spec changes nothing; apply starts zk then kafka (Docker's
# start times prove the order); scale kafka 5 -> 7 and the new names resolve (forward and
# reverse) in old containers on both hosts; kill -9 of an agent and of the coordinator in the
# middle of an apply, restart, and everything converges with no duplicate and no lost container;
# down removes every container and network on every host.
# Usage: lifecycle_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup lifecycle "" bdcoord-life  # "": whatever a failed run left, of every cluster
coordinator_flags=(--heartbeat-timeout 5)
agent_flags=(--interval 2 --heartbeat-interval 1)

# Instances of the cluster's containers on every host, one per line, sorted (duplicates kept).
containers_of() {
  for h in "${HOSTS[@]}"; do
    dockerh "${h}" ps -a --filter "label=io.bdcoord.cluster=$1" --format '{{.Label "io.bdcoord.instance"}}'
  done | sort
}
running_count() {
  local n=0
  for h in "${HOSTS[@]}"; do
    n=$((n + $(dockerh "${h}" ps --filter "label=io.bdcoord.cluster=$1" -q | wc -l)))
  done
  echo "${n}"
}
host_of() {  # host_of CONTAINER: the host it runs on
  for h in "${HOSTS[@]}"; do
    if dockerh "${h}" inspect "$1" >/dev/null 2>&1; then echo "${h}"; return; fi
  done
}

spec() {  # spec CLUSTER KAFKA_COUNT IP_RANGE
  cat <<YAML
cluster: $1
domain: $1.lan
networks:
  bdcoord-life: {driver: macvlan, parent: eth0, subnet: ${BDCOORD_TESTBED_SUBNET}, ip_range: $3}
services:
  zk:
    image: ${BDCOORD_TESTBED_IMAGE}
    count: 2
    command: ["--listen", "2181"]
    placement: {distinct_hosts: true}
    ready: {log: "listening on 2181"}
  kafka:
    image: ${BDCOORD_TESTBED_IMAGE}
    count: $2
    command: ["--listen", "9092", "--log-interval", "1"]
    depends_on: {zk: ready}
YAML
}

start_coordinator "${coordinator_flags[@]}"
for h in "${HOSTS[@]}"; do start_agent "${h}" "${agent_flags[@]}"; done
wait_until 30 "the agents did not connect" all_connected

# 1. A bad spec sent with apply: every error with its position, exit 2, nothing changes.
spec life 5 10.251.0.128/27 | sed 's/    count: 2/    cuont: 2/; s/depends_on: {zk: ready}/depends_on: {kz: ready}/' >"${work}/bad.yaml"
set +e
"${BDCOORD}" apply "${work}/bad.yaml" --coordinator "${sock}" >"${work}/bad.out" 2>&1
code=$?
set -e
[[ ${code} -eq 2 ]] || fail "bad spec: exit ${code}, want 2: $(cat "${work}/bad.out")"
grep -q "bad.yaml:8:5: unknown key 'cuont' in service 'zk'" "${work}/bad.out" || fail "bad spec message: $(cat "${work}/bad.out")"
grep -q "bad.yaml:16:22: service 'kafka' depends on unknown service 'kz'" "${work}/bad.out" || fail "bad spec: second error missing: $(cat "${work}/bad.out")"
[[ -z $(containers_of life) ]] || fail "a bad spec created containers"
"${BDCOORD}" status --coordinator "${sock}" -o json | grep -q '"clusters": \[\]' || fail "a bad spec was stored"
echo "ok: a bad spec exits 2 with every error and changes nothing"

# 2. Apply: zk first, kafka once zk is ready.
spec life 5 10.251.0.128/27 >"${work}/life.yaml"
timeout 180 "${BDCOORD}" apply "${work}/life.yaml" --coordinator "${sock}" >"${work}/apply.out" 2>&1 ||
  fail "apply: $(cat "${work}/apply.out")"
grep -q "7/7 instances ready, done" "${work}/apply.out" || fail "apply summary: $(cat "${work}/apply.out")"
latest_zk=$(for n in zk1 zk2; do program_started "$(host_of ${n})" ${n}; done | sort -n | tail -1)
first_kafka=$(for i in 1 2 3 4 5; do program_started "$(host_of kafka${i})" kafka${i}; done | sort -n | head -1)
[[ -n ${latest_zk} && -n ${first_kafka} ]] || fail "no start time of zk or kafka (their first log lines)"
((latest_zk < first_kafka)) || fail "kafka started (${first_kafka} ns) before zk (${latest_zk} ns)"
echo "ok: apply starts zk (last at ${latest_zk}) before kafka (first at ${first_kafka})"

# 3. Scale 5 -> 7: the new names resolve in old containers on both hosts, both ways.
timeout 180 "${BDCOORD}" scale kafka 7 --coordinator "${sock}" >"${work}/scale.out" 2>&1 ||
  fail "scale: $(cat "${work}/scale.out")"
grep -q "9/9 instances ready, done" "${work}/scale.out" || fail "scale summary: $(cat "${work}/scale.out")"
kafka7_ip=$("${BDCOORD}" status --coordinator "${sock}" -o json | python3 -c '
import json, sys
print([i["ip"] for c in json.load(sys.stdin)["clusters"] for i in c["instances"] if i["name"] == "kafka7"][0])')
for old in zk1 zk2; do
  h=$(host_of ${old})
  forward() { dockerh "${h}" exec "${old}" getent hosts kafka7 | grep -q "^${kafka7_ip} .*kafka7.life.lan"; }
  reverse() { dockerh "${h}" exec "${old}" getent hosts "${kafka7_ip}" | grep -q "kafka7.life.lan"; }
  wait_until 20 "${old} on ${h} does not resolve kafka7" forward
  wait_until 20 "${old} on ${h} has no reverse entry for ${kafka7_ip}" reverse
done
echo "ok: scale 5 -> 7; kafka7 (${kafka7_ip}) resolves forward and reverse in zk1 and zk2 on both hosts"

# 4. kill -9 of an agent in the middle of an apply: restart it, the apply still finishes.
# Clusters share the LAN's network: one defined differently is refused before anything happens.
spec other 6 10.251.0.160/27 >"${work}/other.yaml"
set +e
"${BDCOORD}" apply "${work}/other.yaml" --coordinator "${sock}" >"${work}/clash.out" 2>&1
code=$?
set -e
[[ ${code} -eq 2 ]] && grep -q "other.yaml:4:17: network 'bdcoord-life' differs from the one cluster 'life' uses" "${work}/clash.out" ||
  fail "a clashing network: exit ${code}: $(cat "${work}/clash.out")"
[[ -z $(containers_of other) ]] || fail "a clashing network created containers"
echo "ok: a second cluster defining the shared network differently exits 2 and changes nothing"
spec other 6 10.251.0.128/27 >"${work}/other.yaml"
timeout 240 "${BDCOORD}" apply "${work}/other.yaml" --coordinator "${sock}" >"${work}/other.out" 2>&1 &
apply_pid=$!
some_zk_of_other() { [[ $(containers_of other | grep -c zk || true) -ge 1 ]]; }
wait_until 60 "the second cluster never started" some_zk_of_other
kill -9 "${agent_pid[host2]}"
wait "${agent_pid[host2]}" 2>/dev/null || true
start_agent host2 "${agent_flags[@]}"
wait "${apply_pid}" || fail "apply across an agent kill -9: $(cat "${work}/other.out")"
grep -q "8/8 instances ready, done" "${work}/other.out" || fail "other summary: $(cat "${work}/other.out")"
[[ -z $(containers_of other | uniq -d) ]] || fail "duplicates after agent kill -9: $(containers_of other | uniq -d)"
[[ $(containers_of other | wc -l) -eq 8 ]] || fail "want 8 containers of other: $(containers_of other)"
echo "ok: kill -9 of an agent mid-apply: the apply finishes, 8 containers, no duplicates"
# Both clusters have a zk1; on a host running both, the second is named zk1.other.
qualified=$(for h in "${HOSTS[@]}"; do dockerh "${h}" ps --filter label=io.bdcoord.cluster=other --format '{{.Names}}'; done | grep -c '\.other$' || true)
[[ ${qualified} -ge 1 ]] || fail "no container of cluster other was named INSTANCE.other"
echo "ok: two clusters with the same instance names share the hosts (${qualified} containers named NAME.other)"

# 5. kill -9 of the coordinator in the middle of an apply (life with 9 kafka): restart it; the
# cluster converges without anyone re-running the command, nothing duplicated or lost.
spec life 9 10.251.0.128/27 >"${work}/life9.yaml"
"${BDCOORD}" apply "${work}/life9.yaml" --coordinator "${sock}" >"${work}/apply9.out" 2>&1 &
apply9_pid=$!
kafka8_exists() { containers_of life | grep -qx kafka8; }
wait_until 60 "the apply with 9 kafka never started kafka8" kafka8_exists
kill -9 "${coordinator_pid}"
wait "${coordinator_pid}" 2>/dev/null || true
wait "${apply9_pid}" 2>/dev/null || true  # its coordinator is gone: it fails, that is expected
start_coordinator "${coordinator_flags[@]}"
wait_until 60 "the agents did not come back to the restarted coordinator" all_connected
eleven_running() { [[ $(running_count life) -eq 11 ]]; }
wait_until 120 "life did not converge to 11 running containers" eleven_running
[[ -z $(containers_of life | uniq -d) ]] || fail "duplicates after coordinator kill -9: $(containers_of life | uniq -d)"
[[ $(containers_of life | wc -l) -eq 11 ]] || fail "want 11 containers of life: $(containers_of life)"
"${BDCOORD}" status -c life --coordinator "${sock}" >"${work}/status.out"
[[ $(grep -c ' running ' "${work}/status.out") -eq 11 ]] || fail "status after restart: $(cat "${work}/status.out")"
echo "ok: kill -9 of the coordinator mid-apply: after a restart, 11 running, no duplicates"

# 6. down removes everything, on every host.
for c in other life; do
  "${BDCOORD}" down -c "${c}" --coordinator "${sock}" >"${work}/down-${c}.out" 2>&1 ||
    fail "down ${c}: $(cat "${work}/down-${c}.out")"
done
grep -q "removed 11 instances" "${work}/down-life.out" || fail "down output: $(cat "${work}/down-life.out")"
for h in "${HOSTS[@]}"; do
  left=$(dockerh "${h}" ps -aq --filter label=io.bdcoord.cluster | wc -l)
  [[ ${left} -eq 0 ]] || fail "${left} containers left on ${h}"
  nets() { ! dockerh "${h}" network ls --filter label=io.bdcoord.network -q | grep -q .; }
  wait_until 20 "networks left on ${h}: $(dockerh "${h}" network ls --filter label=io.bdcoord.network --format '{{.Name}}')" nets
done
"${BDCOORD}" status --coordinator "${sock}" -o json | grep -q '"clusters": \[\]' || fail "clusters left after down"
set +e
"${BDCOORD}" down --coordinator "${sock}" >"${work}/down-again.out" 2>&1
code=$?
set -e
[[ ${code} -eq 1 ]] && grep -q "bdcoord: no cluster is applied" "${work}/down-again.out" ||
  fail "down with nothing applied: exit ${code}: $(cat "${work}/down-again.out")"
echo "ok: down removes every container and network on both hosts; a second down says so"
