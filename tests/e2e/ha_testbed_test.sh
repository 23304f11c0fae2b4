#!/usr/bin/env bash
# Three coordinators on a three-member etcd, real agents on the 4-host testbed (issue 13's proof).
# Each bdcoordd reaches etcd through a relay of its own (tests/e2e/relay.py: SIGSTOP cuts it off);
# agents and the CLI are given all three coordinators' addresses.
#  1. Rounds of: `bdcoord apply` of 19 instances, `kill -9` of the leader while the apply is under
#     way; a new leader within the lease (3 s, times printed: median and max), the CLI follows it
#     and the apply completes; every instance runs exactly once; the killed one comes back as a
#     standby; `bdcoord down`.
#  2. An etcd member killed: scale and status go on.
#  3. The leader cut off from etcd: it stops acting (its log) before another starts leading (that
#     one's log) and refuses calls while cut off.
# Usage: ha_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup ha e2eha bdcoord-ha all
(( ${#HOSTS[@]} >= 4 )) || fail "needs 4 testbed hosts (deploy/testbed.sh up 4)"
command -v etcd >/dev/null || fail "etcd is not installed (deploy/install-deps.sh installs etcd-server)"
ROUNDS=${ROUNDS:-3}
LEASE=3
declare -A coord_pid=() relay_of=() address_of=()
# A stopped relay would not end on testbed_cleanup's SIGTERM: let them go on first.
trap 'kill -CONT "${relay_of[@]}" 2>/dev/null || true; testbed_cleanup' EXIT

# etcd: three members on loopback ports that were free a moment ago.
read -r -a port <<<"$(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')"
cluster="m0=http://127.0.0.1:${port[3]},m1=http://127.0.0.1:${port[4]},m2=http://127.0.0.1:${port[5]}"
endpoints="127.0.0.1:${port[0]},127.0.0.1:${port[1]},127.0.0.1:${port[2]}"
declare -A etcd_pid=()
for m in 0 1 2; do
  etcd --name "m${m}" --data-dir "${work}/etcd-m${m}" \
    --listen-client-urls "http://127.0.0.1:${port[m]}" --advertise-client-urls "http://127.0.0.1:${port[m]}" \
    --listen-peer-urls "http://127.0.0.1:${port[m + 3]}" --initial-advertise-peer-urls "http://127.0.0.1:${port[m + 3]}" \
    --initial-cluster "${cluster}" --initial-cluster-state new --max-txn-ops 10000 \
    --max-request-bytes 10485760 >"${work}/etcd-m${m}.log" 2>&1 &
  etcd_pid[m${m}]=$!
  pids+=("${etcd_pid[m${m}]}")
done
etcd_healthy() { etcdctl --endpoints "${endpoints}" endpoint health >/dev/null 2>&1; }
wait_until 30 "etcd's three members are not healthy" etcd_healthy
leader_key=/e2eha/leader
leader_address() { etcdctl --endpoints "${endpoints}" get "${leader_key}" --print-value-only 2>/dev/null; }

# Coordinators a, b, c: each with a relay per etcd member.
names=(a b c)
all=""
for c in "${names[@]}"; do
  address_of[${c}]="unix://${work}/${c}.sock"
  all+="${all:+,}${address_of[${c}]}"
done
start_relay() {  # start_relay NAME: its relay to the three members
  local c=$1
  rm -f "${work}/relay-${c}.ports"
  python3 "${HERE}/relay.py" --ports "${work}/relay-${c}.ports" \
    tcp:127.0.0.1:0 "tcp:127.0.0.1:${port[0]}" tcp:127.0.0.1:0 "tcp:127.0.0.1:${port[1]}" \
    tcp:127.0.0.1:0 "tcp:127.0.0.1:${port[2]}" &
  relay_of[${c}]=$!
  pids+=("${relay_of[${c}]}")
  wait_until 10 "the relay of ${c} did not listen" test -s "${work}/relay-${c}.ports"
}
start_named_coordinator() {  # start_named_coordinator NAME
  local c=$1 store
  rm -f "${work}/${c}.sock"
  store="etcd://$(sed 's/^/127.0.0.1:/' "${work}/relay-${c}.ports" | paste -sd,)/e2eha"
  "${BDCOORDD}" --listen "${address_of[${c}]}" --data-dir "${work}/data-${c}" --store "${store}" \
    --leader-lease "${LEASE}s" --heartbeat-timeout 5 2>>"${work}/bdcoordd-${c}.log" &
  coord_pid[${c}]=$!
  pids+=("${coord_pid[${c}]}")
  wait_until 10 "bdcoordd ${c} did not listen" test -S "${work}/${c}.sock"
}
for c in "${names[@]}"; do
  start_relay "${c}"
  start_named_coordinator "${c}"
done
has_leader() { [[ -n $(leader_address) ]]; }
wait_until 20 "no coordinator leads" has_leader
name_of() {  # name_of ADDRESS: a, b or c
  local c
  for c in "${names[@]}"; do
    if [[ ${address_of[${c}]} == "$1" ]]; then echo "${c}"; fi
  done
}
echo "ok: etcd's 3 members healthy; 3 coordinators, $(name_of "$(leader_address)") leads"

sock=${all}  # agents and every CLI call below get all three addresses
for h in "${HOSTS[@]}"; do start_agent "${h}" --interval 2; done
all_connected() { [[ $(connected_hosts) -eq ${#HOSTS[@]} ]]; }
wait_until 30 "the agents did not connect" all_connected

cat >"${work}/cluster.yaml" <<YAML
cluster: e2eha
domain: ha.lan
networks:
  bdcoord-ha: {driver: macvlan, parent: eth0, subnet: ${BDCOORD_TESTBED_SUBNET}, ip_range: 10.251.0.160/27}
services:
  zk:
    image: ${BDCOORD_TESTBED_IMAGE}
    command: ["--listen", "2181"]
    ready: {tcp: 2181, interval: 1s}
    count: 3
    placement: {distinct_hosts: true}
  kafka:
    image: ${BDCOORD_TESTBED_IMAGE}
    command: ["--listen", "9092"]
    ready: {tcp: 9092, interval: 1s}
    depends_on: {zk: ready}
    count: 8
  web:
    image: ${BDCOORD_TESTBED_IMAGE}
    command: ["--listen", "8080"]
    ready: {tcp: 8080, interval: 1s}
    depends_on: {kafka: ready}
    count: 8
YAML
expected=19

# Each name of the cluster's running containers, once per container, over every host.
running_names() {
  local h
  for h in "${HOSTS[@]}"; do
    dockerh "${h}" ps --filter label=io.bdcoord.cluster=e2eha --format '{{.Names}}'
  done | sort
}
containers_exist() { [[ -n $(running_names) ]]; }
no_containers() {
  local h
  for h in "${HOSTS[@]}"; do [[ -z $(dockerh "${h}" ps -aq --filter label=io.bdcoord.cluster=e2eha) ]] || return 1; done
}
leads_other_than() {  # leads_other_than ADDRESS: another coordinator leads and serves
  local now
  now=$(leader_address)
  [[ -n ${now} && ${now} != "$1" ]] && "${BDCOORD}" hosts --coordinator "${now}" >/dev/null 2>&1
}

failovers=()
for round in $(seq 1 "${ROUNDS}"); do
  "${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${all}" >"${work}/apply-${round}.out" \
    2>"${work}/apply-${round}.err" &
  apply_pid=$!
  wait_until 60 "round ${round}: no container started" containers_exist
  old=$(leader_address)
  victim=$(name_of "${old}")
  kill -KILL "${coord_pid[${victim}]}"
  killed=${EPOCHREALTIME}
  wait_until 15 "round ${round}: no new leader after ${victim} was killed" leads_other_than "${old}"
  took=$(echo "${EPOCHREALTIME} - ${killed}" | bc)
  failovers+=("${took}")
  wait_until 15 "round ${round}: the agents did not reconnect to the new leader" all_connected
  hosts_back=$(echo "${EPOCHREALTIME} - ${killed}" | bc)
  apply_rc=0
  wait "${apply_pid}" || apply_rc=$?
  ((apply_rc == 0)) || fail "round ${round}: apply exited ${apply_rc}: $(cat "${work}/apply-${round}.err")"
  grep -q "stopped serving the apply" "${work}/apply-${round}.err" &&
    grep -q "leads, every host is back: sending the apply again" "${work}/apply-${round}.err" ||
    fail "round ${round}: the apply did not say it followed the new leader: $(cat "${work}/apply-${round}.err")"
  grep -q "^cluster e2eha: ${expected}/${expected} instances ready, done" "${work}/apply-${round}.out" ||
    fail "round ${round}: the apply did not end done: $(tail -3 "${work}/apply-${round}.out")"
  dups=$(running_names | uniq -d | paste -sd' ')
  [[ -z ${dups} ]] || fail "round ${round}: running twice: ${dups}"
  count=$(running_names | wc -l)
  ((count == expected)) || fail "round ${round}: ${count} containers run, not ${expected}"
  printf 'ok: round %d: %s (leader) killed mid-apply; %s leads %.2f s later, every host back at %.2f s; the apply followed it and completed; %d instances, each once\n' \
    "${round}" "${victim}" "$(name_of "$(leader_address)")" "${took}" "${hosts_back}" "${expected}"
  start_named_coordinator "${victim}"
  "${BDCOORD}" down --coordinator "${all}" >"${work}/down-${round}.out" 2>&1 ||
    fail "round ${round}: down: $(cat "${work}/down-${round}.out")"
  wait_until 30 "round ${round}: containers left after down" no_containers
done
read -r median max < <(printf '%s\n' "${failovers[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)], v[NR]}')
printf 'failover (kill -9 of the leader to a new leader serving), lease %d s, %d rounds: median %.2f s, max %.2f s\n' \
  "${LEASE}" "${ROUNDS}" "${median}" "${max}"
(( $(echo "${max} < ${LEASE} * 2 + 1" | bc) )) || fail "a failover took ${max} s, more than the lease x 2 + 1 s"

# An etcd member dies: the coordinators go on with the two others.
"${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${all}" >"${work}/apply-etcd.out" 2>&1 ||
  fail "apply before the etcd member dies: $(tail -5 "${work}/apply-etcd.out")"
kill -KILL "${etcd_pid[m0]}"
"${BDCOORD}" scale web 9 --coordinator "${all}" >"${work}/scale.out" 2>&1 ||
  fail "scale with an etcd member dead: $(tail -5 "${work}/scale.out")"
grep -q "^cluster e2eha: $((expected + 1))/$((expected + 1)) instances ready, done" "${work}/scale.out" ||
  fail "scale did not end done: $(tail -3 "${work}/scale.out")"
"${BDCOORD}" status --coordinator "${all}" >"${work}/status.out" 2>&1 || fail "status: $(cat "${work}/status.out")"
grep -q "^web9 " "${work}/status.out" || fail "status does not show web9: $(cat "${work}/status.out")"
echo "ok: etcd member m0 killed; scale web 9 completed and status answers"

# The leader cut off from etcd: it stops acting before another starts.
old=$(leader_address)
cut_off=$(name_of "${old}")
declare -A log_lines=()
for c in "${names[@]}"; do log_lines[${c}]=$(wc -l <"${work}/bdcoordd-${c}.log"); done
since_cut() { tail -n "+$((log_lines[$1] + 1))" "${work}/bdcoordd-$1.log"; }
kill -STOP "${relay_of[${cut_off}]}"
wait_until 15 "no new leader after ${cut_off} was cut off from etcd" leads_other_than "${old}"
new=$(name_of "$(leader_address)")
stopped_line=$(since_cut "${cut_off}" | grep -m1 "no longer the leader" || true)
[[ -n ${stopped_line} ]] || fail "${cut_off} did not log that it stopped leading"
leading_line=$(since_cut "${new}" | grep -m1 "leading: the controller acts" || true)
[[ -n ${leading_line} ]] || fail "${new} did not log that it leads"
stopped_at=${stopped_line:1:23} leading_at=${leading_line:1:23}
[[ ${stopped_at} < ${leading_at} ]] ||
  fail "${cut_off} stopped leading at ${stopped_at}, not before ${new} led at ${leading_at}"
refused=0
"${BDCOORD}" hosts --coordinator "${old}" >"${work}/cutoff.out" 2>&1 || refused=$?
((refused == 1)) && grep -q "this coordinator is a standby" "${work}/cutoff.out" ||
  fail "${cut_off}, cut off, did not refuse: $(cat "${work}/cutoff.out")"
echo "ok: ${cut_off} cut off from etcd stopped acting at ${stopped_at}, ${new} led at ${leading_at}; ${cut_off} refuses calls"
kill -CONT "${relay_of[${cut_off}]}"
wait_until 15 "the agents are not all connected to ${new}" all_connected
dups=$(running_names | uniq -d | paste -sd' ')
[[ -z ${dups} ]] || fail "running twice: ${dups}"
(( $(running_names | wc -l) == expected + 1 )) || fail "$(running_names | wc -l) containers run, not $((expected + 1))"
# Back on etcd, it stands by and names the leader (its lease was lost: it does not lead again).
names_new_leader() {
  "${BDCOORD}" hosts --coordinator "${old}" >"${work}/back.out" 2>&1 && return 1
  grep -q "this coordinator is a standby; the leader is at ${address_of[${new}]}" "${work}/back.out"
}
wait_until 15 "${cut_off}, back, does not name ${new} as the leader" names_new_leader
echo "ok: ${cut_off} back, a standby naming ${new}; $((expected + 1)) instances, each once"
"${BDCOORD}" down --coordinator "${all}" >"${work}/down.out" 2>&1 || fail "down: $(cat "${work}/down.out")"
wait_until 30 "containers left after down" no_containers
