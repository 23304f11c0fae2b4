#!/usr/bin/env bash
# The Prometheus endpoints (--metrics-listen) of bdcoordd and of one bdagent per testbed host,
# scraped with curl during an apply: bdcoordd and bdagent refuse a non-loopback address; the
# running instances go from 0 to N on both sides; a Docker call that fails (an image missing on
# the host) raises the agents' error counter; the apply, the scale, the placements, the store's
# operations and the probes are counted. Usage: metrics_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup metrics e2emetrics bdcoord-e2emetrics

# Plain HTTP without authentication: only loopback, refused at start with the reason.
refused() {
  local code=0
  "$@" --metrics-listen 0.0.0.0:9464 >"${work}/refused.err" 2>&1 || code=$?
  [[ ${code} -eq 2 ]] || fail "$(basename "$1") took 0.0.0.0 (exit ${code}): $(cat "${work}/refused.err")"
  grep -q "refusing to serve metrics on '0.0.0.0:9464': not a loopback address, and the metrics endpoint is plain HTTP" \
    "${work}/refused.err" || fail "$(basename "$1") gave no reason: $(cat "${work}/refused.err")"
}
refused "${BDCOORDD}" --listen "unix://${work}/refused.sock" --data-dir "${work}/refused"
refused "${BDAGENT}" --coordinator "${sock}" --state-dir "${work}/refused"
echo "ok: both daemons refuse a non-loopback --metrics-listen"

coordinator_metrics="127.0.0.1:$((20000 + RANDOM % 20000))"
agent_metrics=127.0.0.1:9465  # in each host's own network namespace
start_coordinator --metrics-listen "${coordinator_metrics}" --heartbeat-timeout 5
for h in "${HOSTS[@]}"; do start_agent "${h}" --interval 2 --metrics-listen "${agent_metrics}"; done

scrape_coordinator() { curl -sf --max-time 2 "http://${coordinator_metrics}/metrics"; }
scrape_agent() { nsenter --net="/var/run/netns/bdcoord-$1" curl -sf --max-time 2 "http://${agent_metrics}/metrics"; }
# value SERIES: the value of one exact series (name and labels) on stdin; 0 when absent.
value() { awk -v series="$1" '$1 == series { v = $2 } END { print v + 0 }'; }
# sum_agents SERIES: the series summed over every host's agent.
sum_agents() {
  local h total=0 v
  for h in "${HOSTS[@]}"; do
    v=$(scrape_agent "${h}" | value "$1")
    total=$((total + ${v%.*}))
  done
  echo "${total}"
}
coordinator_is() { [[ $(scrape_coordinator | value "$1") == "$2" ]]; }
agents_are() { [[ $(sum_agents "$1") == "$2" ]]; }

wait_until 30 "the agents did not connect" all_connected
wait_until 10 "bdagent_coordinator_connected is not 1 everywhere" agents_are bdagent_coordinator_connected "${#HOSTS[@]}"
wait_until 10 "bdcoord_hosts{state=\"connected\"} is not ${#HOSTS[@]}" \
  coordinator_is 'bdcoord_hosts{state="connected"}' "${#HOSTS[@]}"
echo "ok: ${#HOSTS[@]} hosts connected, on both sides"

running_coordinator='bdcoord_instances{cluster="e2emetrics",service="web",state="running"}'
running_agents='bdagent_instances{cluster="e2emetrics",state="running"}'
metrics=$(scrape_coordinator)
[[ $(value "${running_coordinator}" <<<"${metrics}") == 0 ]] || fail "running before the apply"
[[ $(value bdcoord_apply_duration_seconds_count <<<"${metrics}") == 0 ]] || fail "an apply timed before any"
[[ $(sum_agents "${running_agents}") == 0 ]] || fail "agents run instances before the apply"

cat >"${work}/cluster.yaml" <<YAML
cluster: e2emetrics
domain: metrics.lan
networks:
  bdcoord-e2emetrics: {driver: macvlan, parent: eth0, subnet: ${BDCOORD_TESTBED_SUBNET}, ip_range: 10.251.0.176/28}
services:
  web:
    image: ${BDCOORD_TESTBED_IMAGE}
    count: ${#HOSTS[@]}
    command: ["--listen", "8080"]
    ready: {tcp: 8080, interval: 250ms}
    placement: {distinct_hosts: true}
YAML
timeout 60 "${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${sock}" >"${work}/apply.out" 2>&1 ||
  fail "apply: $(cat "${work}/apply.out")"
wait_until 10 "${running_coordinator} did not reach ${#HOSTS[@]}" coordinator_is "${running_coordinator}" "${#HOSTS[@]}"
wait_until 10 "${running_agents} did not reach ${#HOSTS[@]}" agents_are "${running_agents}" "${#HOSTS[@]}"
metrics=$(scrape_coordinator)
(($(value bdcoord_desired_states_sent_total <<<"${metrics}") >= ${#HOSTS[@]})) || fail "desired states sent: ${metrics}"
(($(value bdcoord_desired_state_sent_bytes_total <<<"${metrics}") > 0)) || fail "desired state bytes: ${metrics}"
[[ $(value bdcoord_apply_duration_seconds_count <<<"${metrics}") == 1 ]] || fail "apply not timed: ${metrics}"
[[ $(value 'bdcoord_streams_open{kind="agent"}' <<<"${metrics}") == "${#HOSTS[@]}" ]] || fail "agent streams: ${metrics}"
(($(value 'bdcoord_store_operation_duration_seconds_count{operation="apply_cluster"}' <<<"${metrics}") >= 1)) ||
  fail "the store's apply_cluster not timed: ${metrics}"
(($(value bdcoord_placement_duration_seconds_count <<<"${metrics}") >= 1)) || fail "placement not timed: ${metrics}"
ready_checks=$(sum_agents 'bdagent_probe_checks_total{kind="tcp",result="ready"}')
((ready_checks >= ${#HOSTS[@]})) || fail "tcp probes that passed: ${ready_checks}"
creates=$(sum_agents 'bdagent_docker_api_calls_total{endpoint="CreateContainer",outcome="ok"}')
((creates == ${#HOSTS[@]})) || fail "CreateContainer calls: ${creates}"
timed=$(sum_agents 'bdagent_docker_api_call_duration_seconds_count{endpoint="CreateContainer"}')
((timed == ${#HOSTS[@]})) || fail "CreateContainer latency samples: ${timed}"
passes=$(sum_agents bdagent_reconcile_pass_duration_seconds_count)
((passes > 0)) || fail "no reconcile pass timed"
echo "ok: running instances 0 -> ${#HOSTS[@]} on the coordinator and the agents; ${creates} creates timed, ${passes} passes"

# A scale is timed like an apply.
timeout 60 "${BDCOORD}" scale web $((${#HOSTS[@]} - 1)) --coordinator "${sock}" >"${work}/scale.out" 2>&1 ||
  fail "scale: $(cat "${work}/scale.out")"
[[ $(scrape_coordinator | value bdcoord_scale_duration_seconds_count) == 1 ]] || fail "scale not timed"
echo "ok: ${ready_checks} tcp probes passed; the apply, the scale, the placements and the store's operations timed"

# An image that no host has: Docker answers 404 to the inspect, the agents count an error.
inspect_errors='bdagent_docker_api_calls_total{endpoint="InspectImage",outcome="error"}'
errors_before=$(sum_agents "${inspect_errors}")
cat >>"${work}/cluster.yaml" <<YAML
  ghost:
    image: bdcoord-e2e/missing:none
    count: 1
YAML
timeout 60 "${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${sock}" >"${work}/apply2.out" 2>&1 &
pids+=($!)
errors_rose() { (($(sum_agents "${inspect_errors}") > errors_before)); }
wait_until 10 "${inspect_errors} did not rise from ${errors_before}" errors_rose
echo "ok: a failing Docker call (InspectImage of a missing image) raises ${inspect_errors} from ${errors_before} to $(sum_agents "${inspect_errors}")"
# What was scraped last, kept with KEEP=1 (the README's sample comes from there).
scrape_coordinator >"${work}/bdcoordd.metrics"
for h in "${HOSTS[@]}"; do scrape_agent "${h}" >"${work}/agent-${h}.metrics"; done
