#!/usr/bin/env bash
# `bdcoord logs` and `bdcoord events` end to end on the 2-host testbed with real dockerd: bdcoordd,
# one bdagent per simulated host, a service of two standin containers (one per host) that print a
# tick line every 300 ms. Checks that `events` shows the hosts and every instance started and
# ready, that `logs -f SERVICE` streams new lines of both containers (each prefixed with its
# instance) until Ctrl-C, which exits 0, that `--tail` and a did-you-mean work, and that
# following ends with a clear error when the instance's host goes away.
# Usage: logs_events_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup logs e2elogs bdcoord-e2elogs
count() { grep -c -- "$1" "$2" 2>/dev/null || true; }

cat >"${work}/cluster.yaml" <<YAML
cluster: e2elogs
domain: e2e.lan
networks:
  bdcoord-e2elogs: {driver: macvlan, parent: eth0, subnet: ${BDCOORD_TESTBED_SUBNET}, ip_range: 10.251.0.112/28}
services:
  ticker:
    image: ${BDCOORD_TESTBED_IMAGE}
    count: 2
    command: ["--listen", "8080", "--log-interval", "300ms"]
    placement: {distinct_hosts: true}
    ready: {log: "listening on 8080"}
    restart: always
YAML

start_coordinator --log-level debug
wait_until 10 "bdcoordd did not start" test -S "${work}/bdcoordd.sock"
# Watch first, then start the agents: their host-up events are the first ones.
"${BDCOORD}" events --coordinator "${sock}" -c e2elogs -o json >"${work}/events.out" 2>"${work}/events.err" &
events_pid=$!
pids+=(${events_pid})
"${BDCOORD}" events --coordinator "${sock}" >"${work}/events-table.out" 2>&1 &
table_pid=$!
pids+=(${table_pid})
# Both watchers subscribed (bdcoordd says so at debug level) before anything happens.
wait_until 10 "bdcoord events did not subscribe" \
  bash -c "[[ \$(grep -c 'events watcher subscribed' '${work}/bdcoordd.log') -ge 2 ]]"
for h in "${HOSTS[@]}"; do start_agent "${h}" --interval 2; done
wait_until 30 "the agents did not connect" all_connected
wait_until 10 "events shows no host-up for both hosts: $(cat "${work}/events.out")" \
  bash -c "[[ \$(grep -c '\"kind\":\"host-up\"' '${work}/events.out') -ge 2 ]]"
echo "ok: bdcoord events -c e2elogs shows both hosts coming up"

timeout 120 "${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${sock}" >"${work}/apply.out" 2>&1 ||
  fail "apply: $(cat "${work}/apply.out")"
for i in 1 2; do
  for kind in started ready; do
    wait_until 15 "no ${kind} event for ticker${i}: $(cat "${work}/events.out")" \
      grep -q "\"kind\":\"${kind}\",\"cluster\":\"e2elogs\",\"instance\":\"ticker${i}\"" "${work}/events.out"
  done
done
grep -q "started    e2elogs/ticker1 (on host" "${work}/events-table.out" || fail "table events: $(cat "${work}/events-table.out")"
echo "ok: events shows ticker1 and ticker2 started and ready (json and table)"

# Follow the whole service: both instances' tick lines keep coming, each with its prefix.
t0=$(date +%s.%N)
"${BDCOORD}" logs -f ticker --coordinator "${sock}" >"${work}/follow.out" 2>"${work}/follow.err" &
follow_pid=$!
pids+=(${follow_pid})
wait_until 10 "no tick line of ticker1 from logs -f" grep -qs "^ticker1 | standin ticker1 tick" "${work}/follow.out"
t1=$(date +%s.%N)
wait_until 10 "no tick line of ticker2 from logs -f" grep -q "^ticker2 | standin ticker2 tick" "${work}/follow.out"
n=$(count "^ticker1 | standin ticker1 tick" "${work}/follow.out")
wait_until 10 "logs -f stopped following ticker1 (${n} lines)" \
  bash -c "[[ \$(grep -c '^ticker1 | standin ticker1 tick' '${work}/follow.out') -ge $((n + 3)) ]]"
grep -v -q -E '^ticker[12] \| ' "${work}/follow.out" && fail "unprefixed line: $(grep -v -E '^ticker[12] \| ' "${work}/follow.out" | head -3)"
kill -INT "${follow_pid}"
rc=0; wait "${follow_pid}" || rc=$?
[[ ${rc} -eq 0 ]] || fail "logs -f exited ${rc} on Ctrl-C: $(cat "${work}/follow.err")"
[[ ! -s ${work}/follow.err ]] || fail "logs -f printed errors: $(cat "${work}/follow.err")"
printf 'ok: logs -f ticker streams both hosts'"'"' lines until Ctrl-C (exit 0); first line after %.2f s\n' \
  "$(echo "${t1} - ${t0}" | bc)"

out=$("${BDCOORD}" logs ticker1 --tail 2 --coordinator "${sock}") || fail "logs --tail 2 failed: ${out}"
[[ $(echo "${out}" | wc -l) -eq 2 ]] || fail "logs --tail 2 printed: ${out}"
[[ $(echo "${out}" | grep -c '^ticker1 | standin ticker1 tick') -eq 2 ]] || fail "logs --tail 2 printed: ${out}"
echo "ok: logs ticker1 --tail 2 prints the last 2 lines and exits"

rc=0; err=$("${BDCOORD}" logs tickr1 --coordinator "${sock}" 2>&1) || rc=$?
[[ ${rc} -eq 1 ]] || fail "unknown target exited ${rc}"
[[ ${err} == "bdcoord: no instance or service named 'tickr1' in cluster 'e2elogs'; did you mean 'ticker1'?" ]] ||
  fail "unknown target said: ${err}"
echo "ok: an unknown target exits 1 with a did-you-mean"

# docker kill (a manual stop: Docker does not restart it): the agent does, one `restarted` event
# says so with the exit code, and `status` counts it.
host1=$(dockerh host1 inspect ticker1 >/dev/null 2>&1 && echo host1 || echo host2)
dockerh "${host1}" kill ticker1 >/dev/null
wait_until 20 "no restarted event for ticker1: $(cat "${work}/events.out")" \
  grep -q '"kind":"restarted","cluster":"e2elogs","instance":"ticker1".*"message":"restarted (1 restart, last exit code 137)"' "${work}/events.out"
wait_until 10 "status shows no restart of ticker1: $("${BDCOORD}" status --coordinator "${sock}")" \
  bash -c "'${BDCOORD}' status --coordinator '${sock}' | grep -qE '^ticker1 +ticker +${host1} +[0-9.]+ +running +yes +1 \(exit 137\) '"
"${BDCOORD}" status --coordinator "${sock}" -o json | grep -q '"restart_count": 1' || fail "status -o json lacks restart_count"
echo "ok: a killed ticker1 is restarted by its agent: a restarted event (exit code 137), RESTARTS 1 (exit 137)"

# The host of ticker2 goes away while following it: the stream ends with an error naming it.
host2=$(dockerh host1 inspect ticker2 >/dev/null 2>&1 && echo host1 || echo host2)
"${BDCOORD}" logs -f ticker2 --coordinator "${sock}" >"${work}/follow2.out" 2>"${work}/follow2.err" &
follow2_pid=$!
pids+=(${follow2_pid})
wait_until 10 "no line from logs -f ticker2" grep -qs "^ticker2 | " "${work}/follow2.out"
kill "${agent_pid[${host2}]}"
rc=0; timeout 15 tail --pid="${follow2_pid}" -f /dev/null || fail "logs -f ticker2 did not end when ${host2} went away"
wait "${follow2_pid}" || rc=$?
[[ ${rc} -eq 1 ]] || fail "logs -f ticker2 exited ${rc} when its host went away"
grep -q "bdcoord: host '${host2}' is not connected any more: it disconnected while streaming the logs of 'ticker2'" \
  "${work}/follow2.err" || fail "host gone: $(cat "${work}/follow2.err")"
wait_until 10 "no host-down event for ${host2}" grep -q "\"kind\":\"host-down\".*\"host\":\"${host2}\"" "${work}/events.out"
echo "ok: following ends with exit 1 naming ${host2} when it disconnects; events shows host-down"

rc=0; err=$("${BDCOORD}" logs ticker2 --coordinator "${sock}" 2>&1) || rc=$?
[[ ${rc} -eq 1 && ${err} == "bdcoord: instance 'ticker2' is on host '${host2}', which is not connected" ]] ||
  fail "logs of an instance on a disconnected host: exit ${rc}: ${err}"
echo "ok: logs of an instance on a disconnected host names the host"

kill -INT "${events_pid}" "${table_pid}"
for pid in "${events_pid}" "${table_pid}"; do
  rc=0; wait "${pid}" || rc=$?
  [[ ${rc} -eq 0 ]] || fail "bdcoord events exited ${rc} on Ctrl-C: $(cat "${work}/events.err")"
done
echo "ok: bdcoord events exits 0 on Ctrl-C"
