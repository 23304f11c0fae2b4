#!/usr/bin/env bash
# Every bad spec of tests/testdata/bad/ under a 2 GB address-space limit (ulimit -v), through
# `bdcoord place` and through a bdcoordd (itself under the limit) with `bdcoord apply` over a
# unix socket: exit 2 or 3, a `file:line:col: ` first line (or, through apply with no agent,
# `placement impossible: ` for the specs that are only too large to render), and under a second
# each (3 s for the deliberately huge ones). Prints the slowest.
# Usage: bad_corpus_limits_test.sh BDCOORDD BDCOORD SOURCE_DIR
set -euo pipefail
BDCOORDD=$(readlink -f "$1") BDCOORD=$(readlink -f "$2") SOURCE_DIR=$(readlink -f "$3")
# shellcheck source=tests/e2e/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
cli_setup bad-corpus
readonly LIMIT_KB=2097152 MAX_MS=1000

# Deliberately huge inputs (the render caps' cases and a 160 KB file) may take up to 3 s.
heavy=(peers_bomb.yaml template_steps.yaml instance_too_large.yaml host_too_large.yaml
  long_names.yaml)
readonly MAX_HEAVY_MS=3000

now_ms() { echo $(($(date +%s%N) / 1000000)); }
slowest_place=0 slowest_place_name="" slowest_apply=0 slowest_apply_name=""

# check MODE NAME MS STATUS ERRFILE: exit, first line and time of one run.
check() {
  local mode=$1 name=$2 ms=$3 status=$4 err=$5 first
  first=$(head -n 1 "${err}")
  if [[ ${status} -ne 2 && ${status} -ne 3 ]]; then
    fail "${mode} ${name}: exit ${status}, expected 2 or 3"; head -n 5 "${err}"
  elif [[ ${mode} == apply && ${status} -eq 3 && ${first} == "placement impossible: "* ]]; then
    :  # no agent here: a spec that is only too large to render is unplaceable first
  elif ! grep -qE "^${name//./\\.}:[0-9]+:[0-9]+: " <<<"${first}"; then
    fail "${mode} ${name}: first line is not file:line:col: ${first:0:200}"
  else
    local max=${MAX_MS} h
    for h in "${heavy[@]}"; do [[ ${h} == "${name}" ]] && max=${MAX_HEAVY_MS}; done
    ((ms <= max)) || fail "${mode} ${name}: ${ms} ms, at most ${max}"
  fi
}

cp "${SOURCE_DIR}"/tests/testdata/bad/*.yaml "${work}/"
cd "${work}"
specs=(*.yaml)

for spec in "${specs[@]}"; do
  start=$(now_ms)
  status=0
  (ulimit -v "${LIMIT_KB}" && exec timeout 30 "${BDCOORD}" place "${spec}") >/dev/null 2>place.err ||
    status=$?
  ms=$(($(now_ms) - start))
  check place "${spec}" "${ms}" "${status}" place.err
  if ((ms > slowest_place)); then slowest_place=${ms} slowest_place_name=${spec}; fi
done
echo "place: ${#specs[@]} bad specs; slowest ${slowest_place_name} ${slowest_place} ms"

(ulimit -v "${LIMIT_KB}" && exec "${BDCOORDD}" --listen "${sock}" --data-dir "${work}/data") \
  2>"${work}/bdcoordd.log" &
pids+=($!)
wait_for 30 "${BDCOORD}" status --coordinator "${sock}" >/dev/null 2>&1 ||
  fail "bdcoordd never answered"
for spec in "${specs[@]}"; do
  start=$(now_ms)
  status=0
  timeout 30 "${BDCOORD}" apply "${spec}" --coordinator "${sock}" >/dev/null 2>apply.err ||
    status=$?
  ms=$(($(now_ms) - start))
  check apply "${spec}" "${ms}" "${status}" apply.err
  if ((ms > slowest_apply)); then slowest_apply=${ms} slowest_apply_name=${spec}; fi
  kill -0 "${pids[0]}" 2>/dev/null || { fail "bdcoordd died on ${spec}"; tail "${work}/bdcoordd.log"; break; }
done
echo "apply: ${#specs[@]} bad specs; slowest ${slowest_apply_name} ${slowest_apply} ms"
[[ ${failures} -eq 0 ]] && echo "ok: every bad spec exits 2 or 3 with file:line:col, in time"
[[ ${failures} -eq 0 ]]
