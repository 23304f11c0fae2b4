#!/usr/bin/env bash
# Fault injection on the 4-host testbed: rounds of an operation (apply with a new kafka count,
# scale, down) with one fault at a random point in it: kill -9 of an agent, of the coordinator,
# of a host's dockerd, or a host cut off from the LAN (its veth down, so the agent's TCP stream and
# its containers' L2 are gone) until the coordinator marks it down, then back. The agents dial the
# coordinator over the LAN (mutual TLS, certificates made here with openssl) so that a cut host
# really loses it. After each round, without re-running anything: the cluster converges to the
# desired instances, each exactly once and running, no IP on two containers, the IPs those
# `bdcoord status` reports. Prints one line per round. The services are `restart: unless-stopped`:
# a dockerd restart stops the stand-in with exit 0, which `on-failure` (like Docker) leaves exited.
# Usage: faults_testbed_test.sh BDCOORDD BDAGENT BDCOORD SRC
# Environment: BDCOORD_FAULT_ROUNDS (default 4: each fault once), BDCOORD_FAULT_SEED (to replay).
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3 SRC=$4
source "${SRC}/tests/e2e/testbed_lib.sh"
testbed_setup faults faults bdcoord-faults all
trap 'fail "line ${LINENO}: \"${BASH_COMMAND}\" failed"' ERR
((${#HOSTS[@]} >= 3)) || fail "the fault rounds need at least 3 testbed hosts, have ${#HOSTS[@]}"
ROUNDS=${BDCOORD_FAULT_ROUNDS:-4}
SEED=${BDCOORD_FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=${SEED}
echo "seed ${SEED} (BDCOORD_FAULT_SEED=${SEED} replays these rounds)"
HEARTBEAT_TIMEOUT=3
CONVERGE_LIMIT=150

# --- mutual TLS over the LAN: a CA, the coordinator at the bridge's address, one certificate per
# host (a certificate is one host), one for the operator; the token for ClusterService.
issue() {  # issue NAME SUBJECT_ALT_NAME
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "${work}/$1.key" -out "${work}/$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$2" >"${work}/$1.ext"
  openssl x509 -req -in "${work}/$1.csr" -CA "${work}/ca.pem" -CAkey "${work}/ca.key" \
    -CAcreateserial -days 1 -extfile "${work}/$1.ext" -out "${work}/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=bdcoord-faults-ca \
  -days 1 -keyout "${work}/ca.key" -out "${work}/ca.pem" 2>/dev/null
issue coordinator "IP:${BDCOORD_TESTBED_GATEWAY}"
issue operator DNS:operator
for h in "${HOSTS[@]}"; do issue "${h}" "DNS:${h}"; done
openssl rand -hex 32 >"${work}/token"
chmod 600 "${work}"/*.key "${work}/token"
sock="${BDCOORD_TESTBED_GATEWAY}:$((20000 + RANDOM % 20000))"
export BDCOORD_ADDR=${sock} BDCOORD_TLS_CERT=${work}/operator.pem BDCOORD_TLS_KEY=${work}/operator.key \
  BDCOORD_TLS_CA=${work}/ca.pem BDCOORD_TOKEN_FILE=${work}/token
coordinator_up() {
  start_coordinator --heartbeat-timeout "${HEARTBEAT_TIMEOUT}" --tls-cert "${work}/coordinator.pem" \
    --tls-key "${work}/coordinator.key" --tls-ca "${work}/ca.pem" --token-file "${work}/token"
}
agent_up() {
  start_agent "$1" --interval 2 --heartbeat-interval 1 --tls-cert "${work}/$1.pem" \
    --tls-key "${work}/$1.key" --tls-ca "${work}/ca.pem"
}

spec() {  # spec KAFKA_COUNT
  cat <<YAML
cluster: faults
domain: faults.lan
networks:
  bdcoord-faults: {driver: ${BDCOORD_TESTBED_DRIVER}, parent: eth0, subnet: ${BDCOORD_TESTBED_SUBNET}, ip_range: 10.251.0.192/27}
services:
  zk:
    image: ${BDCOORD_TESTBED_IMAGE}
    user: "1000:1000"
    count: 3
    command: ["--listen", "2181"]
    placement: {distinct_hosts: true}
    ready: {log: "listening on 2181"}
    restart: unless-stopped
  kafka:
    image: ${BDCOORD_TESTBED_IMAGE}
    user: "1001:1001"
    count: $1
    command: ["--listen", "9092"]
    depends_on: {zk: ready}
    restart: unless-stopped
YAML
}

# "NAME IP" of every container of the cluster on every host, sorted (duplicates kept).
containers() {
  local h
  for h in "${HOSTS[@]}"; do
    dockerh "${h}" ps -a --filter label=io.bdcoord.cluster=faults -q | while read -r id; do
      dockerh "${h}" inspect -f '{{index .Config.Labels "io.bdcoord.instance"}} {{.State.Status}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${id}" 2>/dev/null || true
    done
  done | sort
}
# The instance names the desired kafka count means (0: the cluster is down).
desired_names() {
  (($1 == 0)) && return 0
  { printf 'zk%d\n' 1 2 3; for ((i = 1; i <= $1; i++)); do echo "kafka${i}"; done; } | sort
}
# converged KAFKA_COUNT: the containers are exactly the desired ones, each once and running,
# their IPs distinct and the ones `bdcoord status` reports, every instance ready there.
converged() {
  containers >"${work}/containers.out"
  [[ $(awk '{print $1}' "${work}/containers.out") == "$(desired_names "$1")" ]] || return 1
  (($1 == 0)) && return 0
  [[ -z $(awk '$2 != "running"' "${work}/containers.out") ]] || return 1
  [[ -z $(awk '{print $3}' "${work}/containers.out" | sort | uniq -d) ]] || return 1
  "${BDCOORD}" status -c faults -o json >"${work}/status.json" 2>/dev/null || return 1
  python3 - "${work}/status.json" "${work}/containers.out" <<'PY'
import json, sys
instances = [i for c in json.load(open(sys.argv[1]))["clusters"] for i in c["instances"]]
docker = {name: ip for name, _, ip in (line.split() for line in open(sys.argv[2]))}
ok = all(i["state"] == "running" and i.get("ready") for i in instances)
sys.exit(0 if ok and {i["name"]: i["ip"] for i in instances} == docker else 1)
PY
}
# Both checks that must hold at every moment, not only at the end: no instance twice, no IP on
# two containers.
no_duplicates() {
  containers >"${work}/now.out"
  local dup_names dup_ips
  dup_names=$(awk '{print $1}' "${work}/now.out" | uniq -d)
  dup_ips=$(awk '$2 == "running" {print $3}' "${work}/now.out" | sort | uniq -d)
  [[ -z ${dup_names} ]] || fail "an instance is on two containers: ${dup_names}"
  [[ -z ${dup_ips} ]] || fail "an IP is on two running containers: ${dup_ips}"
}
host_down() { "${BDCOORD}" hosts -o json 2>/dev/null | python3 -c '
import json, sys
sys.exit(0 if any(h["name"] == sys.argv[1] and not h["connected"] for h in json.load(sys.stdin)["hosts"]) else 1)' "$1"; }

coordinator_up
for h in "${HOSTS[@]}"; do agent_up "${h}"; done
wait_until 30 "the agents did not connect over mutual TLS" all_connected
spec 3 >"${work}/spec.yaml"
"${BDCOORD}" apply "${work}/spec.yaml" >"${work}/first.out" 2>&1 || fail "first apply: $(cat "${work}/first.out")"
wait_until "${CONVERGE_LIMIT}" "the first apply did not converge" converged 3
kafka=3
echo "ok: 6 instances over mutual TLS on the LAN"

faults=(agent coordinator dockerd cut)
# Each fault once per 4 rounds, in a random order.
for ((i = ${#faults[@]} - 1; i > 0; i--)); do
  j=$((RANDOM % (i + 1)))
  tmp=${faults[i]} faults[i]=${faults[j]} faults[j]=${tmp}
done
for ((round = 1; round <= ROUNDS; round++)); do
  fault=${faults[(round - 1) % ${#faults[@]}]}
  host=${HOSTS[RANDOM % ${#HOSTS[@]}]}
  # The operation: a new kafka count by apply or scale, or down (then the next one applies).
  if ((kafka == 0)); then
    want=$((2 + RANDOM % 5)) op=(apply "${work}/spec.yaml") what="apply (kafka ${want})"
  else
    case $((RANDOM % 3)) in
      0) want=$((2 + RANDOM % 5)) op=(apply "${work}/spec.yaml") what="apply (kafka ${want})" ;;
      1) want=$((2 + RANDOM % 5)) op=(scale kafka "${want}") what="scale kafka ${want}" ;;
      2) want=0 op=(down -c faults) what="down" ;;
    esac
  fi
  spec "${want}" >"${work}/spec.yaml"
  delay_ms=$((200 + RANDOM % 2800))
  t0=${SECONDS}
  timeout 120 "${BDCOORD}" "${op[@]}" >"${work}/op.out" 2>&1 &
  op_pid=$!
  # The random point in the operation at which the fault strikes.
  sleep "$((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000)))"
  no_duplicates
  case ${fault} in
    agent)
      kill -9 "${agent_pid[${host}]}"
      wait "${agent_pid[${host}]}" 2>/dev/null || true
      agent_up "${host}"
      fault_text="kill -9 of ${host}'s agent"
      ;;
    coordinator)
      kill -9 "${coordinator_pid}"
      wait "${coordinator_pid}" 2>/dev/null || true
      coordinator_up
      fault_text="kill -9 of the coordinator"
      ;;
    dockerd)
      pid=$(cat "/run/bdcoord-testbed/${host}/docker.pid")
      kill -9 "${pid}"
      "${SRC}/deploy/testbed.sh" up "${#HOSTS[@]}" >"${work}/testbed-up.log" 2>&1 ||
        fail "the testbed did not start ${host}'s dockerd again: $(tail -5 "${work}/testbed-up.log")"
      fault_text="kill -9 of ${host}'s dockerd"
      ;;
    cut)
      ip link set "bdcoord-h${host#host}" down
      wait_until 30 "the coordinator did not see ${host} cut off" host_down "${host}"
      no_duplicates
      ip link set "bdcoord-h${host#host}" up
      fault_text="${host} cut off from the LAN until marked down"
      ;;
  esac
  op_code=0
  wait "${op_pid}" || op_code=$?
  wait_until 60 "the agents are not all connected again after ${fault_text}" all_connected
  wait_until "${CONVERGE_LIMIT}" "round ${round} (${what}, ${fault_text} at ${delay_ms} ms) did not converge (containers.out below)" \
    converged "${want}"
  no_duplicates
  kafka=${want}
  if ((want == 0)); then
    result="nothing left"
  else
    result="$(wc -l <"${work}/containers.out") containers, each once, running, IPs distinct and as status says"
  fi
  echo "ok: round ${round}: ${what} + ${fault_text} at ${delay_ms} ms: the command exited ${op_code}; converged after $((SECONDS - t0)) s: ${result}"
done

((kafka == 0)) || "${BDCOORD}" down -c faults >"${work}/down.out" 2>&1 || fail "down: $(cat "${work}/down.out")"
wait_until 60 "containers left after the last down" converged 0
echo "ok: ${ROUNDS} rounds, nothing left"
