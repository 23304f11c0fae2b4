#!/usr/bin/env bash
# Host loss end to end on the 4-host testbed with real dockerd: each agent reaches bdcoordd through
# a relay (tests/e2e/unix_relay.py); the host of zk1 is cut off (its relay stopped: no heartbeat,
# no answer; its veth down: off the LAN). After `reschedule: {after: 20s}` zk1 runs on another
# host with the same IP (the time is measured and printed), its name resolves unchanged from
# another container, web (no reschedule) stays placed on the lost host, and the lost host's agent
# stopped (fenced) its zk1 before that. When the host is back its zk1 is removed and no IP is on
# two running containers.
# Usage: hostloss_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup hostloss e2eloss bdcoord-loss all
(( ${#HOSTS[@]} >= 4 )) || fail "needs 4 testbed hosts (deploy/testbed.sh up 4)"

cat >"${work}/cluster.yaml" <<YAML
cluster: e2eloss
domain: loss.lan
networks:
  bdcoord-loss: {driver: macvlan, parent: eth0, subnet: ${BDCOORD_TESTBED_SUBNET}, ip_range: 10.251.0.112/28}
services:
  zk:   # moves after 20 s without its host
    reschedule: {after: 20s}
    image: ${BDCOORD_TESTBED_IMAGE}
    command: ["--listen", "2181"]
    ready: {tcp: 2181, interval: 1s}
    restart: unless-stopped
    count: 2
    placement: {distinct_hosts: true}
  web:  # stays placed on a lost host
    image: ${BDCOORD_TESTBED_IMAGE}
    command: ["--listen", "8080"]
    count: 2
    placement: {distinct_hosts: true}
YAML

start_coordinator --heartbeat-timeout 5
declare -A relay_pid=()
for h in "${HOSTS[@]}"; do
  /usr/bin/python3 "${HERE}/unix_relay.py" "${work}/relay-${h}.sock" "${sock#unix://}" &
  relay_pid[${h}]=$!
  pids+=("${relay_pid[${h}]}")
done
for h in "${HOSTS[@]}"; do
  wait_until 10 "relay of ${h}" test -S "${work}/relay-${h}.sock"
  nsenter --net="/var/run/netns/bdcoord-${h}" "${BDAGENT}" --coordinator "unix://${work}/relay-${h}.sock" \
    --host-name "${h}" --docker-socket "/run/bdcoord-testbed/${h}/docker.sock" --config /dev/null \
    --state-dir "${work}/state-${h}" --interval 2 2>>"${work}/agent-${h}.log" &
  agent_pid[${h}]=$!
done
wait_until 30 "the agents did not connect" all_connected
timeout 120 "${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${sock}" >"${work}/apply.out" 2>&1 ||
  fail "apply: $(cat "${work}/apply.out")"

host_of() {  # host_of CONTAINER: the host where it runs
  for h in "${HOSTS[@]}"; do
    [[ $(dockerh "${h}" inspect -f '{{.State.Running}}' "$1" 2>/dev/null) == true ]] && { echo "${h}"; return; }
  done
}
ip_of() { dockerh "$1" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$2" 2>/dev/null; }
lost=$(host_of zk1)
[[ -n ${lost} ]] || fail "zk1 does not run"
zk1_ip=$(ip_of "${lost}" zk1)
other=$(host_of zk2)
web_on_lost=$(dockerh "${lost}" ps --filter label=io.bdcoord.service=web --format '{{.Names}}')
echo "ok: applied; zk1 ${zk1_ip} on ${lost}, zk2 on ${other}; web on ${lost}: ${web_on_lost:-none}"

# Cut off: no stream to the coordinator, off the LAN.
kill -STOP "${relay_pid[${lost}]}"
ip link set "bdcoord-h${lost#host}" down
cut=${EPOCHREALTIME}

stopped_on_lost() { [[ $(dockerh "${lost}" inspect -f '{{.State.Running}}' zk1 2>/dev/null) == false ]]; }
wait_until 30 "the agent of ${lost} did not fence zk1" stopped_on_lost
fenced=${EPOCHREALTIME}
grep -q "stopping 'zk1': fenced: no word from the coordinator for" "${work}/agent-${lost}.log" ||
  fail "the agent did not log the fence"
printf 'ok: %s fenced (stopped, kept) zk1 %.1f s after the cut\n' "${lost}" "$(echo "${fenced} - ${cut}" | bc)"

moved() {
  local h
  for h in "${HOSTS[@]}"; do
    [[ ${h} == "${lost}" ]] && continue
    [[ $(dockerh "${h}" inspect -f '{{.State.Running}}' zk1 2>/dev/null) == true ]] && { echo "${h}"; return 0; }
  done
  return 1
}
moved_quietly() { moved >/dev/null; }
wait_until 40 "zk1 was not rescheduled" moved_quietly
back=${EPOCHREALTIME}
to=$(moved)
elapsed=$(echo "${back} - ${cut}" | bc)
[[ $(ip_of "${to}" zk1) == "${zk1_ip}" ]] || fail "zk1 runs with $(ip_of "${to}" zk1), not ${zk1_ip}"
printf 'ok: zk1 runs on %s with the same IP %s %.1f s after %s was cut off (after: 20s)\n' \
  "${to}" "${zk1_ip}" "${elapsed}" "${lost}"
(( $(echo "${elapsed} < 28" | bc) )) || fail "rescheduled after ${elapsed} s, more than after + 8 s"
resolved=$(dockerh "${other}" exec zk2 getent hosts zk1 | awk '{print $1}')
[[ ${resolved} == "${zk1_ip}" ]] || fail "zk1 resolves to '${resolved}' in zk2"
ready_zk1() { "${BDCOORD}" status --coordinator "${sock}" | grep -E "^zk1 .* ${to} .*running +yes" >/dev/null; }
wait_until 20 "zk1 not ready on ${to}: $("${BDCOORD}" status --coordinator "${sock}")" ready_zk1
echo "ok: zk1 resolves to ${resolved} from zk2 on ${other}, and is ready (its tcp probe) on ${to}"
if [[ -n ${web_on_lost} ]]; then
  "${BDCOORD}" status --coordinator "${sock}" | grep -E "^${web_on_lost} .* ${lost} .*has no reschedule" >/dev/null ||
    fail "${web_on_lost} is not shown staying on ${lost}: $("${BDCOORD}" status --coordinator "${sock}")"
  echo "ok: ${web_on_lost} (no reschedule) stays placed on ${lost}"
fi

# Back: the moved zk1 goes from the lost host before anything else; no IP runs twice.
ip link set "bdcoord-h${lost#host}" up
kill -CONT "${relay_pid[${lost}]}"
gone_from_lost() { ! dockerh "${lost}" inspect zk1 >/dev/null 2>&1; }
wait_until 30 "${lost} did not remove its old zk1" gone_from_lost
for h in "${HOSTS[@]}"; do
  for c in $(dockerh "${h}" ps -q --filter label=io.bdcoord.cluster=e2eloss); do
    dockerh "${h}" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${c}"
  done
done | sort | uniq -d >"${work}/dups.out"
[[ ! -s ${work}/dups.out ]] || fail "IPs on two running containers: $(cat "${work}/dups.out")"
echo "ok: ${lost} is back, removed its old zk1; no IP on two running containers"
