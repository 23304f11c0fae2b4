#!/usr/bin/env bash
# The installed-binary view of `bdcoord place`: help, usage errors, documented exit codes, and
# that -o json is JSON a tool can read. Usage: place_cli_test.sh BDCOORD SOURCE_DIR
set -euo pipefail
BDCOORD=$1
cd "$2"
failures=0
check() {  # check DESCRIPTION EXPECTED_EXIT COMMAND...
  local description=$1 expected=$2
  shift 2
  local status=0
  "$@" >/tmp/bdcoord-e2e.out 2>/tmp/bdcoord-e2e.err || status=$?
  if [[ ${status} -ne ${expected} ]]; then
    echo "FAIL: ${description}: exit ${status}, expected ${expected}"
    cat /tmp/bdcoord-e2e.err
    failures=$((failures + 1))
  else
    echo "ok: ${description}"
  fi
}

check "--help explains place" 0 "${BDCOORD}" place --help
grep -q -- "--show-config" /tmp/bdcoord-e2e.out || { echo "FAIL: place --help lacks --show-config"; failures=$((failures + 1)); }
check "top-level help lists exit codes" 0 "${BDCOORD}" --help
grep -q "Exit codes" /tmp/bdcoord-e2e.out || { echo "FAIL: --help lacks exit codes"; failures=$((failures + 1)); }
check "unknown flag is a usage error" 2 "${BDCOORD}" place --bogus deploy/examples/bigdata.yaml
check "bad -o value is a usage error" 2 "${BDCOORD}" place -o yaml deploy/examples/bigdata.yaml
check "no subcommand is a usage error" 2 "${BDCOORD}"
for example in deploy/examples/*.yaml; do
  check "place ${example}" 0 "${BDCOORD}" place "${example}" -o json
  python3 -c 'import json,sys; d=json.load(open("/tmp/bdcoord-e2e.out")); assert d["instances"] and d["hosts_file"].startswith("127.0.0.1")' ||
    { echo "FAIL: ${example} -o json is not a placement"; failures=$((failures + 1)); }
done
check "invalid spec exits 2" 2 "${BDCOORD}" place tests/testdata/bad/many_errors.yaml
check "impossible placement exits 3" 3 "${BDCOORD}" place tests/testdata/unplaceable/capacity.yaml
check "missing file exits 1" 1 "${BDCOORD}" place /nonexistent/cluster.yaml
rm -f /tmp/bdcoord-e2e.out /tmp/bdcoord-e2e.err
[[ ${failures} -eq 0 ]]
