# Shared by the testbed benchmarks (bringup.sh, readiness_gaps.sh); sourced after HOSTS (the
# testbed's host names), PIDS (name -> PID of the daemons a bench started) and the testbed's
# environment (deploy/testbed.sh env) are set.

# docker against one testbed host: dk HOST ARGS...
dk() { local h=$1; shift; docker -H "unix://${BDCOORD_TESTBED_ROOT}/${h}/docker.sock" "$@"; }

# Stops the daemons in PIDS: SIGTERM, then SIGKILL after 10 s.
stop_daemons() {
  local name pid deadline
  for name in "${!PIDS[@]}"; do
    pid=${PIDS[${name}]}
    kill -TERM "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
    unset "PIDS[${name}]"
  done
}

# Removes every container, the lan network and volumes on every host, in parallel.
clean_hosts() {
  local h
  for h in "${HOSTS[@]}"; do
    (
      ids=$(dk "${h}" ps -aq)
      # shellcheck disable=SC2086  # a list of IDs
      [[ -z ${ids} ]] || dk "${h}" rm -f ${ids} >/dev/null
      dk "${h}" network rm lan >/dev/null 2>&1 || true
      dk "${h}" volume prune -f >/dev/null 2>&1 || true
    ) &
  done
  wait
}
