# Sourced by the e2e scripts that run the real binaries on a private unix socket (no testbed):
# `cli_setup NAME` makes ${work} (removed at exit), ${sock} in it, and ${pids} (every PID in it
# is killed and reaped at exit); `fail` counts a failure (end with `[[ ${failures} -eq 0 ]]`);
# `wait_for SECONDS COMMAND...` polls COMMAND until it succeeds, or returns 1 at the deadline.
cli_setup() {
  work=$(mktemp -d "/tmp/bdcoord-$1-e2e-XXXXXX")
  sock="unix://${work}/bdcoordd.sock"
  pids=()
  failures=0
  trap cli_cleanup EXIT
}
cli_cleanup() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "${pid}" 2>/dev/null || true; done
  rm -rf "${work}"
}
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.1
  done
}
