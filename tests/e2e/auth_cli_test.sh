#!/usr/bin/env bash
# The real binaries' TLS and token flags: command-line errors (message and exit code) of
# bdcoord, bdagent and bdcoordd, then bdcoordd --token-file on a unix socket with bdagent and
# bdcoord. Usage: auth_cli_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
# shellcheck source=tests/e2e/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
cli_setup auth
unset BDCOORD_ADDR BDCOORD_TLS_CERT BDCOORD_TLS_KEY BDCOORD_TLS_CA BDCOORD_TLS_SERVER_NAME \
  BDCOORD_TOKEN_FILE BDCOORD_TOKEN

# expect NAME CODE MESSAGE COMMAND...: COMMAND exits CODE and its stderr has the line MESSAGE.
expect() {
  local name=$1 code=$2 message=$3 status=0
  shift 3
  "$@" >"${work}/out" 2>"${work}/err" || status=$?
  if [[ ${status} -ne ${code} ]]; then
    fail "${name}: exit ${status}, expected ${code}"; cat "${work}/err"
  elif ! grep -qxF -- "${message}" "${work}/err"; then
    fail "${name}: expected the line '${message}'"; cat "${work}/err"
  else
    echo "ok: ${name}"
  fi
}

missing="mutual TLS needs all of --tls-cert, --tls-key and --tls-ca; missing:"
expect "bdcoord --tls-cert without key and CA" 2 "bdcoord: ${missing} --tls-key, --tls-ca" \
  "${BDCOORD}" hosts --coordinator 127.0.0.1:1 --tls-cert x
expect "bdcoord status without --tls-ca" 2 "bdcoord: ${missing} --tls-ca" \
  "${BDCOORD}" status --coordinator 127.0.0.1:1 --tls-cert x --tls-key y
expect "BDCOORD_TLS_CERT alone" 2 "bdcoord: ${missing} --tls-key, --tls-ca" \
  env BDCOORD_TLS_CERT=x "${BDCOORD}" hosts --coordinator 127.0.0.1:1
expect "bdcoord tls flags with a unix address" 2 \
  "bdcoord: --tls-* apply to a TCP coordinator address, not to a unix socket (its file permissions protect it): '${sock}'" \
  "${BDCOORD}" hosts --coordinator "${sock}" --tls-cert x --tls-key y --tls-ca z
expect "bdcoord unreadable certificate" 1 \
  "bdcoord: --tls-cert: cannot read '${work}/none.pem': No such file or directory" \
  "${BDCOORD}" hosts --coordinator 127.0.0.1:1 --tls-cert "${work}/none.pem" --tls-key y --tls-ca z
expect "bdcoord unreadable token file" 1 \
  "bdcoord: --token-file: cannot read '${work}/none': No such file or directory" \
  "${BDCOORD}" hosts --coordinator "${sock}" --token-file "${work}/none"
expect "bdagent --tls-key alone" 2 "bdagent: ${missing} --tls-cert, --tls-ca" \
  "${BDAGENT}" --coordinator 127.0.0.1:1 --tls-key y --docker-socket /nonexistent --config /nonexistent
expect "bdagent tls flags with a unix address" 2 \
  "bdagent: --tls-* apply to a TCP coordinator address, not to a unix socket (its file permissions protect it): '${sock}'" \
  "${BDAGENT}" --coordinator "${sock}" --tls-cert x --tls-key y --tls-ca z --docker-socket /nonexistent --config /nonexistent
expect "bdagent unreadable token file" 2 \
  "bdagent: --token-file: cannot read '${work}/none': No such file or directory" \
  "${BDAGENT}" --coordinator "${sock}" --token-file "${work}/none" --docker-socket /nonexistent --config /nonexistent
expect "bdcoordd loopback TCP without a token" 2 \
  "bdcoordd: refusing to listen on '127.0.0.1:7070' without a token: any user of this machine could then register hosts and deploy containers" \
  "${BDCOORDD}" --listen 127.0.0.1:7070 --data-dir "${work}/data"
expect "bdcoordd a name that only looks like loopback" 2 \
  "bdcoordd: refusing to listen on '127.0.0.1.nip.io:7070' without TLS: anyone on the network could then register hosts and deploy containers" \
  "${BDCOORDD}" --listen 127.0.0.1.nip.io:7070 --data-dir "${work}/data"
expect "bdcoordd mutual TLS without a token" 2 \
  "bdcoordd: mutual TLS without --token-file: every agent certificate could then call ClusterService (apply, down)" \
  "${BDCOORDD}" --listen 0.0.0.0:7070 --tls-cert c --tls-key k --tls-ca a --data-dir "${work}/data"
expect "bdcoordd status page without a token" 2 \
  "bdcoordd: refusing to serve the status page on '127.0.0.1:8080' without a token: any user who can reach it could read the cluster and its logs" \
  "${BDCOORDD}" --listen "${sock}" --http-listen 127.0.0.1:8080 --data-dir "${work}/data"
: >"${work}/empty"
expect "bdcoordd empty token file" 2 "bdcoordd: --token-file '${work}/empty': the token is empty" \
  "${BDCOORDD}" --listen "${sock}" --token-file "${work}/empty" --data-dir "${work}/data"

# bdcoordd with a token on its unix socket: the agent with the token is listed, the one without
# is not, and bdcoord needs the token too.
printf 'e2e-token\n' >"${work}/token"
chmod 600 "${work}/token"
"${BDCOORDD}" --listen "${sock}" --data-dir "${work}/data" --token-file "${work}/token" \
  2>"${work}/bdcoordd.log" &
pids+=($!)
"${BDAGENT}" --coordinator "${sock}" --host-name with-token --token-file "${work}/token" \
  --docker-socket /nonexistent --config /nonexistent --heartbeat-interval 0.5 \
  --state-dir "${work}/state-a1" 2>"${work}/a1.log" &
pids+=($!)
"${BDAGENT}" --coordinator "${sock}" --host-name without-token \
  --docker-socket /nonexistent --config /nonexistent --heartbeat-interval 0.5 \
  --state-dir "${work}/state-a2" 2>"${work}/a2.log" &
pids+=($!)

listed() {
  "${BDCOORD}" hosts -o json --coordinator "${sock}" --token-file "${work}/token" \
    >"${work}/hosts.json" 2>/dev/null || return 1
  grep -q '"name": "with-token"' "${work}/hosts.json"
}
if wait_for 30 listed; then
  echo "ok: an agent with the token is listed"
else
  fail "the agent with the token is not listed"; cat "${work}"/*.log "${work}/hosts.json" || true
fi
refused() { grep -q "missing or invalid bearer token (hint: give the coordinator's token with --token-file" "${work}/a2.log"; }
if wait_for 30 refused && ! grep -q '"name": "without-token"' "${work}/hosts.json"; then
  echo "ok: an agent without the token is refused and says why"
else
  fail "the agent without the token"; cat "${work}/a2.log" "${work}/hosts.json"
fi
expect "bdcoord without the token" 1 \
  "  hint: the coordinator requires a token: pass --token-file FILE (or set BDCOORD_TOKEN_FILE)" \
  "${BDCOORD}" hosts --coordinator "${sock}"
if grep -qxF "bdcoord: the coordinator at ${sock} refused the call: missing or invalid bearer token" "${work}/err"; then
  echo "ok: bdcoord without the token names the reason"
else
  fail "bdcoord without the token: message"; cat "${work}/err"
fi
if BDCOORD_TOKEN_FILE="${work}/token" "${BDCOORD}" hosts --coordinator "${sock}" >/dev/null 2>&1 &&
  BDCOORD_TOKEN=e2e-token "${BDCOORD}" hosts --coordinator "${sock}" >/dev/null 2>&1; then
  echo "ok: BDCOORD_TOKEN_FILE and BDCOORD_TOKEN"
else
  fail "BDCOORD_TOKEN_FILE or BDCOORD_TOKEN not used"
fi

[[ ${failures} -eq 0 ]]
