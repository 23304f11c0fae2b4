#!/usr/bin/env bash
# The host shim from the coordinator on the testbed: a network with host_shim and a shim_range,
# bdcoordd gives each host with containers there one address of it, and each agent makes its
# shim. From host2's own network namespace a container on host2 answers on its IP (on macvlan the
# host cannot reach its own containers without the shim: with the shim's route taken away it
# cannot, until its agent puts it back), and `bdcoord down` leaves no shim link on any host.
# Usage: shim_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup shim e2eshim e2eshim
read -r -a ALL_HOSTS <<<"${BDCOORD_TESTBED_HOSTS}"
LINK=bdc-e2eshim  # the agent's name for the shim of network e2eshim
inns() { local h=$1; shift; nsenter --net="/var/run/netns/bdcoord-${h}" "$@"; }
shim_cleanup() {
  testbed_cleanup
  local h
  for h in "${ALL_HOSTS[@]}"; do inns "${h}" ip link del "${LINK}" >/dev/null 2>&1 || true; done
}
trap shim_cleanup EXIT

cat >"${work}/cluster.yaml" <<YAML
cluster: e2eshim
domain: e2e.lan
networks:
  e2eshim:
    driver: ${BDCOORD_TESTBED_DRIVER:-macvlan}
    parent: eth0
    subnet: ${BDCOORD_TESTBED_SUBNET}
    ip_range: 10.251.0.160/28
    host_shim: true
    shim_range: 10.251.0.236/30
services:
  web:
    image: ${BDCOORD_TESTBED_IMAGE}
    count: 2
    command: ["--listen", "8080"]
    placement: {distinct_hosts: true}
    ready: {tcp: 8080}
YAML

start=${SECONDS}
start_coordinator
for h in "${HOSTS[@]}"; do start_agent "${h}" --interval 1; done
wait_until 30 "the agents did not connect" all_connected
timeout 120 "${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${sock}" >"${work}/apply.out" 2>&1 ||
  fail "apply: $(cat "${work}/apply.out")"
grep -q "2/2 instances ready, done" "${work}/apply.out" || fail "no done summary: $(cat "${work}/apply.out")"
echo "ok: a spec with host_shim and shim_range applies"

# Each host's shim has its own address of shim_range: hosts by name, the lowest free first.
declare -A want=([host1]=10.251.0.236/32 [host2]=10.251.0.237/32)
for h in "${HOSTS[@]}"; do
  addr=$(inns "${h}" ip -o -4 addr show dev "${LINK}" 2>/dev/null | awk '{print $4}')
  [[ ${addr} == "${want[${h}]}" ]] || fail "shim of ${h}: '${addr}', want ${want[${h}]}"
done
echo "ok: host1's shim is ${want[host1]}, host2's ${want[host2]}"
"${BDCOORD}" status -c e2eshim --coordinator "${sock}" >"${work}/status.out" 2>&1 ||
  fail "status: $(cat "${work}/status.out")"
for h in "${HOSTS[@]}"; do
  grep -qE "^e2eshim +${h} +${want[${h}]%/32}$" "${work}/status.out" ||
    fail "status does not show ${h}'s shim: $(cat "${work}/status.out")"
done
echo "ok: bdcoord status shows each host's shim"

name=$(dockerh host2 ps --filter label=io.bdcoord.cluster=e2eshim --format '{{.Names}}')
[[ -n ${name} && ${name} != *$'\n'* ]] || fail "want one container on host2: '${name}'"
ip=$(dockerh host2 inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${name}")
connects() { inns host2 timeout 1 bash -c "exec 3<>/dev/tcp/${ip}/8080" 2>/dev/null; }
wait_until 10 "host2 cannot reach its own container ${name} (${ip}:8080) through the shim" connects
echo "ok: host2 reaches its own container ${name} on ${ip}:8080 through the shim"

# Without the shim's route to it, host2 cannot (macvlan: the parent never sees its children).
# The agent is stopped meanwhile (the containers keep running) so it cannot put the route back
# too early; restarted, it does.
kill "${agent_pid[host2]}"
wait "${agent_pid[host2]}" 2>/dev/null || true
inns host2 ip route del "${ip}/32" dev "${LINK}"
if connects; then fail "host2 reached ${ip} without the shim's route"; fi
start_agent host2 --interval 1
wait_until 20 "the restarted agent did not restore the shim's route to ${ip}" connects
echo "ok: without the shim's route host2 cannot reach ${ip}; the restarted agent restores it"

"${BDCOORD}" down -c e2eshim --coordinator "${sock}" >"${work}/down.out" 2>&1 ||
  fail "down: $(cat "${work}/down.out")"
no_shim_left() {
  local h
  for h in "${ALL_HOSTS[@]}"; do
    if inns "${h}" ip link show dev "${LINK}" >/dev/null 2>&1; then return 1; fi
  done
}
wait_until 20 "a shim link ${LINK} is left after down" no_shim_left
echo "ok: down leaves no shim link on any of ${#ALL_HOSTS[@]} hosts ($((SECONDS - start)) s in all)"
