#!/usr/bin/env bash
# bdcoordd, two bdagents and `bdcoord hosts`, as installed binaries over a real unix socket (no
# Docker needed: facts without Docker are fine). Usage: hosts_cli_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
# shellcheck source=tests/e2e/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
cli_setup hosts

# A missing coordinator: exit 1 and say what to do.
status=0
"${BDCOORD}" hosts --coordinator "unix://${work}/missing.sock" >"${work}/out" 2>"${work}/err" || status=$?
if [[ ${status} -ne 1 ]]; then
  fail "hosts against a missing socket: exit ${status}, expected 1"
elif ! grep -q "bdcoord: cannot reach the coordinator at unix://${work}/missing.sock" "${work}/err" ||
  ! grep -q "hint: start bdcoordd" "${work}/err"; then
  fail "hosts against a missing socket: unexpected message"; cat "${work}/err"
else
  echo "ok: hosts against a missing socket exits 1 with a hint"
fi

# A non-loopback TCP address without TLS is refused, and says why.
status=0
"${BDCOORDD}" --listen 0.0.0.0:7443 --data-dir "${work}/data" 2>"${work}/err" || status=$?
if [[ ${status} -ne 2 ]] || ! grep -q "without TLS" "${work}/err"; then
  fail "non-loopback --listen without TLS: exit ${status}"; cat "${work}/err"
else
  echo "ok: non-loopback --listen without TLS is refused"
fi

status=0
"${BDCOORDD}" --listen 127.0.0.1:7443 --tls-cert /dev/null --data-dir "${work}/data" 2>"${work}/err" || status=$?
if [[ ${status} -ne 2 ]] || ! grep -q "needs all of --tls-cert, --tls-key and --tls-ca" "${work}/err"; then
  fail "incomplete --tls-* flags: exit ${status}"; cat "${work}/err"
else
  echo "ok: incomplete --tls-* flags are refused"
fi

"${BDCOORDD}" --listen "${sock}" --data-dir "${work}/data" --heartbeat-timeout 3 \
  2>"${work}/bdcoordd.log" &
pids+=($!)
for host in h1 h2; do
  "${BDAGENT}" --coordinator "${sock}" --host-name "${host}" --docker-socket /nonexistent \
    --config /nonexistent --label "rack=r-${host}" --heartbeat-interval 0.5 \
    --state-dir "${work}/state-${host}" \
    2>"${work}/${host}.log" &
  pids+=($!)
done

both_connected() {
  "${BDCOORD}" hosts -o json --coordinator "${sock}" >"${work}/hosts.json" 2>/dev/null || return 1
  python3 - "${work}/hosts.json" <<'PY'
import json, sys
hosts = {h["name"]: h for h in json.load(open(sys.argv[1]))["hosts"]}
sys.exit(0 if all(n in hosts and hosts[n]["connected"] for n in ("h1", "h2")) else 1)
PY
}
if wait_for 30 both_connected; then
  echo "ok: both agents are listed as connected"
  python3 - "${work}/hosts.json" <<'PY' || fail "hosts -o json lacks the facts"
import json, sys
hosts = {h["name"]: h for h in json.load(open(sys.argv[1]))["hosts"]}
assert hosts["h1"]["labels"] == {"rack": "r-h1"}, hosts["h1"]
assert hosts["h2"]["cpus"] > 0 and hosts["h2"]["memory_bytes"] > 0, hosts["h2"]
assert hosts["h1"]["last_heartbeat"], hosts["h1"]
PY
else
  fail "agents never listed as connected"; cat "${work}/hosts.json" "${work}"/*.log || true
fi

# The table has the documented header and a row per host.
if "${BDCOORD}" hosts --coordinator "${sock}" >"${work}/table" 2>&1 &&
  grep -qE '^NAME +STATE +INSTANCES +LABELS +CPUS +MEMORY +DOCKER +LAST-HEARTBEAT$' "${work}/table" &&
  grep -qE '^h1 +up +0 +rack=r-h1 ' "${work}/table"; then
  echo "ok: hosts table"
else
  fail "hosts table"; cat "${work}/table"
fi

# BDCOORD_ADDR is the default address.
if BDCOORD_ADDR="${sock}" "${BDCOORD}" hosts -o json >/dev/null 2>&1; then
  echo "ok: BDCOORD_ADDR"
else
  fail "BDCOORD_ADDR is not used"
fi

# An agent that stops is shown disconnected.
kill "${pids[2]}"
h2_disconnected() {
  "${BDCOORD}" hosts -o json --coordinator "${sock}" >"${work}/hosts.json" 2>/dev/null || return 1
  python3 -c 'import json,sys; h={x["name"]: x for x in json.load(open(sys.argv[1]))["hosts"]}; sys.exit(0 if not h["h2"]["connected"] and h["h1"]["connected"] else 1)' "${work}/hosts.json"
}
if wait_for 20 h2_disconnected; then
  echo "ok: a stopped agent is disconnected"
else
  fail "a stopped agent is still connected"; cat "${work}/hosts.json"
fi

[[ ${failures} -eq 0 ]]
