#!/usr/bin/env bash
# A file's on_change signal end to end on the testbed with real dockerd: a re-apply that changes
# only that file's content keeps the container (same ID), the container sees the new content
# through its bind mount (rewritten in place), and gets the signal (standin logs SIGHUP and exits;
# restart: always brings it back in the same container). Then a restart file's change replaces it.
# Usage: files_on_change_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup onchange e2eonchange bdcoord-e2e host1

spec() {  # spec RELOADED_CONTENT RESTART_CONTENT
  cat >"${work}/cluster.yaml" <<YAML
cluster: e2eonchange
domain: e2e.lan
networks:
  bdcoord-e2e: {driver: macvlan, parent: eth0, subnet: ${BDCOORD_TESTBED_SUBNET}, ip_range: 10.251.0.96/28}
services:
  web:
    image: ${BDCOORD_TESTBED_IMAGE}
    command: ["--listen", "8080"]
    restart: always
    files:
      /conf/app.cfg: {content: "$1", on_change: "signal:SIGHUP", mode: 0640}
      /conf/plain.cfg: "$2"
YAML
}
apply() {
  timeout 120 "${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${sock}" >"${work}/apply.out" 2>&1 ||
    fail "apply: $(cat "${work}/apply.out")"
}
content() { dockerh host1 exec web1 cat "$1" 2>/dev/null || true; }
id_of() { dockerh host1 inspect -f '{{.Id}}' web1 2>/dev/null || true; }

start_coordinator
start_agent host1 --interval 2
wait_until 30 "the agent did not connect" all_connected

spec one plain1
apply
wait_until 30 "web1 did not run" test "$(dockerh host1 inspect -f '{{.State.Running}}' web1 2>/dev/null)" = true
[[ $(content /conf/app.cfg) == one ]] || fail "app.cfg: $(content /conf/app.cfg)"
first=$(id_of)
echo "ok: web1 runs with app.cfg 'one' (${first:0:12})"

spec two plain1
apply
app_is_two() { [[ $(content /conf/app.cfg) == two ]]; }
wait_until 30 "app.cfg was not rewritten in the running container" app_is_two
[[ $(id_of) == "${first}" ]] || fail "web1 was replaced: $(id_of) after ${first}"
got_hup() { dockerh host1 logs web1 2>&1 | grep -q "received SIGHUP"; }
wait_until 30 "web1 got no SIGHUP: $(dockerh host1 logs web1 2>&1 | tail -5)" got_hup
[[ $(dockerh host1 logs web1 2>&1 | grep -c "received SIGHUP") -eq 1 ]] || fail "more than one SIGHUP"
grep -q "rewrote in place /conf/app.cfg; sent SIGHUP" "${work}/agent-host1.log" ||
  fail "the agent did not log the rewrite"
mode=$(dockerh host1 exec web1 stat -c '%a' /conf/app.cfg 2>/dev/null || true)
[[ ${mode} == 640 ]] || fail "app.cfg mode ${mode}, not 640"
echo "ok: a changed on_change signal file is rewritten in place, SIGHUP sent once, web1 kept"

# The agent's passes go on: no second signal for the same content.
sleep 6
[[ $(dockerh host1 logs web1 2>&1 | grep -c "received SIGHUP") -eq 1 ]] || fail "SIGHUP sent again"
[[ $(id_of) == "${first}" ]] || fail "web1 was replaced later"
echo "ok: later passes send nothing"

spec two plain2
apply
replaced() { local now; now=$(id_of); [[ -n ${now} && ${now} != "${first}" ]]; }
wait_until 60 "a restart file's change did not replace web1" replaced
plain_is_2() { [[ $(content /conf/plain.cfg) == plain2 ]]; }
wait_until 30 "the new web1 lacks plain.cfg 'plain2'" plain_is_2
echo "ok: a restart file's change replaces web1"
