#!/usr/bin/env bash
# Host loss end to end on the 4-host testbed with real dockerd: each agent reaches bdcoordd through
# a relay (tests/e2e/relay.py); the host of zk1 is cut off (its relay stopped: no heartbeat,
# no answer; its veth down: off the LAN). After `reschedule: {after: 20s}` zk1 runs on another
# host with the same IP (the time is measured and printed), its name resolves unchanged from
# another container, web (no reschedule) stays placed on the lost host, and the lost host's agent
# stopped (fenced) its zk1 before that. When the host is back its zk1 is removed and no IP is on
# two running containers. Then the agent of zk1's new host is killed with its containers left
# running (it cannot fence): the next move of zk1 is refused by the new host's ARP probe (the
# IP still answers on the LAN), said in its status, an event and its agent's log, until the
# old host's containers are removed; then zk1 runs with its IP again.
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
  /usr/bin/python3 "${HERE}/relay.py" "${work}/relay-${h}.sock" "${sock#unix://}" &
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

# The agent of zk1's host dies (killed by its PID), its containers keep running: nothing fences
# them, so only the address check stands between zk1 and its IP twice.
events_out=${work}/events.out
"${BDCOORD}" events --coordinator "${sock}" >"${events_out}" 2>&1 &
pids+=($!)
dead=${to}
kill -KILL "${agent_pid[${dead}]}"
killed=${EPOCHREALTIME}
refused_on() {  # refused_on: the host whose agent refused to start zk1, if any
  local h
  for h in "${HOSTS[@]}"; do
    [[ ${h} == "${dead}" ]] && continue
    grep -q "not starting 'zk1': ${zk1_ip} already answers on the LAN (from MAC " "${work}/agent-${h}.log" &&
      { echo "${h}"; return 0; }
  done
  return 1
}
refused_quietly() { refused_on >/dev/null; }
wait_until 40 "no host refused to start zk1 while it still runs on ${dead}" refused_quietly
refused=${EPOCHREALTIME}
next=$(refused_on)
printf 'ok: the agent of %s killed; zk1 moved to %s %.1f s later and was not started there: its IP answers on the LAN\n' \
  "${dead}" "${next}" "$(echo "${refused} - ${killed}" | bc)"
[[ $(dockerh "${next}" inspect -f '{{.State.Running}}' zk1 2>/dev/null) != true ]] ||
  fail "zk1 runs on ${next} while its IP still answers from ${dead}"
refused_status() {
  "${BDCOORD}" status --coordinator "${sock}" |
    grep -E "^zk1 .* ${next} .*not starting 'zk1': ${zk1_ip//./\\.} already answers on the LAN \(from MAC ([0-9a-f]{2}:){5}[0-9a-f]{2}\): another host may still run it; retrying" >/dev/null
}
wait_until 10 "the status does not say why zk1 is not started: $("${BDCOORD}" status --coordinator "${sock}")" refused_status
wait_until 10 "no event says why zk1 is not started" grep -q "already answers on the LAN" "${events_out}"
echo "ok: the status and an event say why: $(grep -o "not starting 'zk1'.*" "${work}/agent-${next}.log" | head -1)"

# The old host's containers go: the next retry starts zk1 with its IP.
for c in $(dockerh "${dead}" ps -aq --filter label=io.bdcoord.cluster=e2eloss); do dockerh "${dead}" rm -f "${c}" >/dev/null; done
removed=${EPOCHREALTIME}
runs_on_next() { [[ $(dockerh "${next}" inspect -f '{{.State.Running}}' zk1 2>/dev/null) == true ]]; }
wait_until 30 "zk1 did not start on ${next} once ${dead} no longer ran it" runs_on_next
[[ $(ip_of "${next}" zk1) == "${zk1_ip}" ]] || fail "zk1 runs with $(ip_of "${next}" zk1), not ${zk1_ip}"
printf 'ok: %s removed its containers; zk1 runs on %s with %s %.1f s later\n' \
  "${dead}" "${next}" "${zk1_ip}" "$(echo "${EPOCHREALTIME} - ${removed}" | bc)"
