#!/usr/bin/env bash
# `bdcoord apply` and `bdcoord status` against a real bdcoordd with two bdagents that have no
# Docker (the agents connect; the containers cannot be created). Checks the exit codes and the
# messages. Usage: apply_cli_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
# shellcheck source=tests/e2e/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
cli_setup apply

"${BDCOORDD}" --listen "${sock}" --data-dir "${work}/data" 2>"${work}/bdcoordd.log" &
pids+=($!)
for host in h1 h2; do
  "${BDAGENT}" --coordinator "${sock}" --host-name "${host}" --docker-socket /nonexistent \
    --config /nonexistent --state-dir "${work}/state-${host}" --interval 0.5 2>"${work}/${host}.log" &
  pids+=($!)
done
both_connected() {
  [[ $("${BDCOORD}" hosts --coordinator "${sock}" 2>/dev/null | grep -cE '^h[12] +up ') == 2 ]]
}
wait_for 30 both_connected || fail "agents never connected"
[[ -f "${work}/data/state.db" ]] && echo "ok: the store is in --data-dir" ||
  fail "no ${work}/data/state.db"

cd "${work}"
cat >spec.yaml <<'YAML'
cluster: demo
domain: demo.lan
hosts:
  - {name: h1}
  - {name: h2}
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.252.0.0/24, ip_range: 10.252.0.64/27}
services:
  zk:
    image: bdcoord/standin:latest
    count: 2
    placement: {distinct_hosts: true}
    ready: {tcp: 7000}
  web:
    image: bdcoord/standin:latest
    count: 1
    depends_on: {zk: ready}
YAML

# An invalid spec: exit 2, exactly the `file:line:col` lines that `bdcoord place` prints.
sed 's/^  web:$/  web:\n    imgae: x/' spec.yaml >bad.yaml
status=0
"${BDCOORD}" apply bad.yaml --coordinator "${sock}" >out 2>err || status=$?
"${BDCOORD}" place bad.yaml >/dev/null 2>place.err || true
if [[ ${status} -ne 2 ]]; then
  fail "invalid spec: exit ${status}, expected 2"; cat err
elif ! diff <(head -n -1 place.err) err; then
  fail "invalid spec: the message differs from bdcoord place's"
elif ! grep -q "^bad.yaml:15:5: unknown key 'imgae'" err; then
  fail "invalid spec: no file:line:col line"; cat err
else
  echo "ok: invalid spec exits 2 with the file:line:col lines"
fi
if "${BDCOORD}" status --coordinator "${sock}" -o json | grep -q '"cluster": "demo"'; then
  fail "an invalid spec was stored"
fi

# 60 errors and 40 unplaceable instances: the whole report however long (it used to fail with
# "received initial metadata size exceeds limit", exit 1), through apply and place --live alike.
{ sed -n '1,/^  web:$/p' spec.yaml; for i in $(seq 1 60); do echo "    imgae${i}: x"; done
  sed -n '/^  web:$/,$p' spec.yaml | tail -n +2; } >many.yaml
"${BDCOORD}" place many.yaml >/dev/null 2>place.err || true
for command in apply "place --live"; do
  status=0
  # shellcheck disable=SC2086
  "${BDCOORD}" ${command} many.yaml --coordinator "${sock}" >out 2>err || status=$?
  if [[ ${status} -ne 2 ]] || ! diff <(head -n -1 place.err) err >/dev/null ||
    [[ $(grep -c "^many.yaml:[0-9]*:5: unknown key 'imgae" err) -ne 60 ]]; then
    fail "60 errors through ${command}: exit ${status}"; head -5 err
  else
    echo "ok: 60 errors through ${command}: exit 2, all 60 printed as place prints them"
  fi
done
sed -e 's/count: 2/count: 42/' -e 's#ip_range: 10.252.0.64/27#ip_range: 10.252.0.64/26#' \
  spec.yaml >crowd.yaml
for command in apply "place --live"; do
  status=0
  # shellcheck disable=SC2086
  "${BDCOORD}" ${command} crowd.yaml --coordinator "${sock}" >out 2>err || status=$?
  if [[ ${status} -ne 3 ]] ||
    ! grep -qx "placement impossible: 40 of 43 instances cannot be placed" err ||
    [[ $(grep -cE '^  zk[0-9]+ \(service zk\)' err) -ne 40 ]]; then
    fail "40 unplaceable through ${command}: exit ${status}"; head -5 err
  else
    echo "ok: 40 unplaceable instances through ${command}: exit 3, each explained"
  fi
done

# A spec that is not UTF-8 (Latin-1, UTF-16, binary): its position and exit 2, as place says.
printf 'cluster: d\xe9mo\n' >latin1.yaml
iconv -f utf-8 -t utf-16 spec.yaml >utf16.yaml
printf '\x7fELF\x02\x01\x01\x00\x00\xff\xfe\x90' >binary.yaml
for file in latin1.yaml utf16.yaml binary.yaml; do
  "${BDCOORD}" place "${file}" >/dev/null 2>place.err || true
  for command in apply "place --live"; do
    status=0
    # shellcheck disable=SC2086
    "${BDCOORD}" ${command} "${file}" --coordinator "${sock}" >out 2>err || status=$?
    if [[ ${status} -ne 2 ]] || ! diff <(head -n -1 place.err) err ||
      ! grep -qE "^${file}:1:[0-9]+: (not UTF-8|NUL byte) at byte [0-9]+$" err; then
      fail "${file} through ${command}: exit ${status}"; cat err
    else
      echo "ok: ${file} through ${command}: exit 2, $(head -1 err)"
    fi
  done
done

# The host policy (deny by default): root and a host path are refused at their positions, exit 2,
# nothing stored.
sed 's/^  web:$/  web:\n    user: "0:0"\n    volumes: ["\/etc:\/host-etc"]/' spec.yaml >root.yaml
status=0
"${BDCOORD}" apply root.yaml --coordinator "${sock}" >out 2>err || status=$?
if [[ ${status} -ne 2 ]] ||
  ! grep -qxF "root.yaml:15:12: service 'web' runs as root (user \"0:0\"): the coordinator's policy refuses root" err ||
  ! grep -qxF "root.yaml:16:16: service 'web' mounts the host path '/etc': the coordinator's policy allows host paths under none" err; then
  fail "host policy: exit ${status}"; cat err
elif "${BDCOORD}" status --coordinator "${sock}" -o json | grep -q '"cluster": "demo"'; then
  fail "a spec refused by the host policy was stored"
else
  echo "ok: root and a host path are refused by the coordinator's policy (exit 2, nothing stored)"
fi

# An impossible placement: exit 3 with the reasons.
sed 's/count: 2/count: 3/' spec.yaml >big.yaml
status=0
"${BDCOORD}" apply big.yaml --coordinator "${sock}" >out 2>err || status=$?
if [[ ${status} -ne 3 ]] || ! grep -q "^placement impossible: 1 of 4 instances cannot be placed" err ||
  ! grep -q "zk3 (service zk)" err; then
  fail "impossible placement: exit ${status}"; cat err
else
  echo "ok: impossible placement exits 3 with the reasons"
fi

# Without Docker the containers cannot be created: apply ends failed (exit 1), with progress.
status=0
timeout 60 "${BDCOORD}" apply spec.yaml --coordinator "${sock}" >out 2>err || status=$?
if [[ ${status} -ne 1 ]] || ! grep -qE '^zk: 0/2 ready' out || ! grep -q '^web: 0/1 ready.*(waiting for zk ready)' out ||
  ! grep -q '^cluster demo: failed' out; then
  fail "apply without Docker: exit ${status}"; cat out err
else
  echo "ok: apply without Docker exits 1 and says what failed"
fi

# status: every placed instance with its host and IP. web1 waits for zk, but its agents are told
# to create it (and hold its start): without Docker it fails too, saying why.
if "${BDCOORD}" status -c demo --coordinator "${sock}" >table 2>err &&
  grep -qE '^INSTANCE +SERVICE +HOST +IP +STATE +READY +RESTARTS +MESSAGE$' table &&
  grep -qE '^zk1 +zk +h[12] +10\.252\.0\.[0-9]+ ' table &&
  grep -qE '^zk2 +zk +h[12] +10\.252\.0\.[0-9]+ ' table &&
  grep -qE '^web1 +web +h[12] +10\.252\.0\.[0-9]+ +failed +no +0 +Docker is unavailable' table; then
  echo "ok: status table"
else
  fail "status table"; cat table err
fi
if "${BDCOORD}" status -o json --coordinator "${sock}" | python3 -c '
import json, sys
c = json.load(sys.stdin)["clusters"]
assert [x["cluster"] for x in c] == ["demo"], c
assert sorted(i["name"] for i in c[0]["instances"]) == ["web1", "zk1", "zk2"], c
assert all(i["ip"].startswith("10.252.0.") and i["host"] in ("h1", "h2") for i in c[0]["instances"])
'; then
  echo "ok: status -o json"
else
  fail "status -o json"
fi
status=0
"${BDCOORD}" status -c nope --coordinator "${sock}" >out 2>err || status=$?
if [[ ${status} -ne 1 ]] || ! grep -q "no cluster named 'nope'" err; then
  fail "status of an unknown cluster: exit ${status}"; cat err
else
  echo "ok: status of an unknown cluster exits 1 naming it"
fi

# place --live: a dry run on the two live hosts; the spec's hosts would not matter.
if "${BDCOORD}" place spec.yaml --live --coordinator "${sock}" -o json >live.json 2>err &&
  python3 -c '
import json, sys
p = json.load(open("live.json"))
inst = p["instances"] if "instances" in p else p["placement"]["instances"]
assert sorted(i["name"] for i in inst) == ["web1", "zk1", "zk2"], inst
assert {i["host"] for i in inst if i["service"] == "zk"} == {"h1", "h2"}, inst
'; then
  echo "ok: place --live"
else
  fail "place --live"; cat live.json err
fi
status=0
"${BDCOORD}" place spec.yaml --coordinator "${sock}" --show-config zk1 >out 2>err || status=$?
if [[ ${status} -ne 2 ]] || ! grep -q "^bdcoord: --previous and --show-config plan offline" err; then
  fail "place --live --show-config: exit ${status}"; cat err
else
  echo "ok: place --live refuses --show-config"
fi

# scale and drain name what is wrong.
status=0
"${BDCOORD}" scale wbe 2 --coordinator "${sock}" >out 2>err || status=$?
if [[ ${status} -ne 1 ]] || ! grep -qx "bdcoord: cluster 'demo' has no service 'wbe'; did you mean 'web'?" err; then
  fail "scale of an unknown service: exit ${status}"; cat err
else
  echo "ok: scale of an unknown service exits 1 with a suggestion"
fi
status=0
"${BDCOORD}" drain h7 --coordinator "${sock}" >out 2>err || status=$?
if [[ ${status} -ne 1 ]] || ! grep -q "^bdcoord: no host named 'h7'" err; then
  fail "drain of an unknown host: exit ${status}"; cat err
else
  echo "ok: drain of an unknown host exits 1"
fi

# down forgets the cluster; a second down says nothing is applied.
status=0
"${BDCOORD}" down --coordinator "${sock}" >out 2>err || status=$?
if [[ ${status} -ne 0 ]] || ! grep -q "^removed 3 instances" out; then
  fail "down: exit ${status}"; cat out err
else
  echo "ok: down"
fi
status=0
"${BDCOORD}" down --coordinator "${sock}" >out 2>err || status=$?
if [[ ${status} -ne 1 ]] || ! grep -qx "bdcoord: no cluster is applied" err; then
  fail "second down: exit ${status}"; cat err
else
  echo "ok: a second down exits 1: no cluster is applied"
fi

[[ ${failures} -eq 0 ]]
