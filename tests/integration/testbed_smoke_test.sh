#!/usr/bin/env bash
# Smoke test of the simulated multi-host testbed (deploy/testbed.sh up 2 runs first).
#
# On host1 and host2 it creates the network `bdcoord-smoke` with the testbed's driver (macvlan or
# ipvlan, parent eth0, the testbed subnet, containers in its top quarter), runs a standin
# container with a static IP on each host with --add-host entries for the other one, and checks:
# cross-host ping by name, reverse lookup (getent hosts IP -> name), TCP and HTTP to the other
# host's standin listeners, that `--exit-after 1s --exit-code 3` exits 3, and that SIGTERM
# (docker stop) ends standin promptly with code 0. It removes what it created, pass or fail.
set -euo pipefail

TESTBED=$(dirname "$(readlink -f "$0")")/../../deploy/testbed.sh
readonly TESTBED
readonly NET=bdcoord-smoke
readonly PREFIX=bdcoord-smoke-
readonly TIMEOUT=${BDCOORD_SMOKE_TIMEOUT:-30}

step() { printf 'testbed_smoke: %s\n' "$*"; }
fail() {
  printf 'testbed_smoke: FAIL: %s\n' "$*" >&2
  exit 1
}

# One smoke test at a time on this machine (two would fight over the network name and the IPs):
# a lock on this script file, which leaves nothing behind.
exec {lock_fd}<"$(readlink -f "$0")"
flock -w "$((TIMEOUT * 4))" "${lock_fd}" || fail "another testbed_smoke_test.sh keeps running"

env_out=$("${TESTBED}" env) || fail "testbed is not up: run deploy/testbed.sh up 2 first"
eval "${env_out}"
read -r -a hosts <<<"${BDCOORD_TESTBED_HOSTS}"
[[ ${#hosts[@]} -ge 2 ]] || fail "needs 2 testbed hosts, have: ${BDCOORD_TESTBED_HOSTS}"
readonly DRIVER=${BDCOORD_TESTBED_DRIVER}
readonly IMAGE=${BDCOORD_TESTBED_IMAGE}

# d1/d2: the docker CLI of host1/host2.
d1() { docker -H "${BDCOORD_TESTBED_HOST1_DOCKER_HOST}" "$@"; }
d2() { docker -H "${BDCOORD_TESTBED_HOST2_DOCKER_HOST}" "$@"; }

# Container addresses: the top quarter of the testbed subnet (.192/26 of a /24), computed by
# Python's ipaddress (deploy/testbed.sh does its own arithmetic; this checks it independently).
read -r RANGE IP_A IP_B < <(python3 - "${BDCOORD_TESTBED_SUBNET}" <<'PY'
import ipaddress, sys
subnet = ipaddress.ip_network(sys.argv[1])
quarter = list(subnet.subnets(prefixlen_diff=2))[3]
print(quarter, quarter.network_address + 10, quarter.network_address + 11)
PY
)
readonly RANGE IP_A IP_B
readonly NAME_A=smoke-a NAME_B=smoke-b

cleanup() {
  local d ids
  for d in d1 d2; do
    ids=$("${d}" ps -aq --filter "name=${PREFIX}" 2>/dev/null || true)
    # shellcheck disable=SC2086  # a list of IDs
    [[ -z ${ids} ]] || "${d}" rm -f ${ids} >/dev/null 2>&1 || true
    "${d}" network rm "${NET}" >/dev/null 2>&1 || true
  done
}
on_exit() {
  local rc=$?
  if [[ ${rc} -ne 0 ]]; then
    echo "---- networks and containers of host1 and host2:" >&2
    for d in d1 d2; do
      "${d}" network ls >&2 || true
      "${d}" ps -a >&2 || true
    done
    for c in "d1 ${PREFIX}a" "d2 ${PREFIX}b"; do
      read -r d name <<<"${c}"
      echo "---- logs of ${name}:" >&2
      "${d}" logs "${name}" 2>&1 | tail -n 20 >&2 || true
    done
  fi
  cleanup
  exit "${rc}"
}
trap on_exit EXIT

# Runs "$@" until it succeeds or TIMEOUT seconds pass; then fails with the last output.
wait_for() {
  local what=$1 deadline out
  shift
  deadline=$((SECONDS + TIMEOUT))
  until out=$("$@" 2>&1); do
    ((SECONDS < deadline)) || fail "${what}: not after ${TIMEOUT}s: ${out}"
    sleep 0.2
  done
  printf '%s' "${out}"
}

# Like wait_for, and the output must also contain $2.
wait_output() {
  local what=$1 want=$2 deadline out
  shift 2
  deadline=$((SECONDS + TIMEOUT))
  while true; do
    out=$("$@" 2>&1) && [[ ${out} == *"${want}"* ]] && break
    ((SECONDS < deadline)) || fail "${what}: no '${want}' after ${TIMEOUT}s: ${out}"
    sleep 0.2
  done
}

cleanup
step "driver ${DRIVER}, subnet ${BDCOORD_TESTBED_SUBNET}, range ${RANGE}," \
  "${NAME_A}=${IP_A} on host1, ${NAME_B}=${IP_B} on host2"

net_opts=(-d "${DRIVER}" -o "parent=${BDCOORD_TESTBED_PARENT}" --subnet "${BDCOORD_TESTBED_SUBNET}"
  --gateway "${BDCOORD_TESTBED_GATEWAY}" --ip-range "${RANGE}")
[[ ${DRIVER} != ipvlan ]] || net_opts+=(-o ipvlan_mode=l2)
for d in d1 d2; do
  "${d}" network create "${net_opts[@]}" "${NET}" >/dev/null ||
    fail "cannot create network ${NET} on ${d/d/host}"
done

run_opts=(--network "${NET}" --add-host "${NAME_A}:${IP_A}" --add-host "${NAME_B}:${IP_B}")
d1 run -d --name "${PREFIX}a" --hostname "${NAME_A}" --ip "${IP_A}" "${run_opts[@]}" "${IMAGE}" \
  --listen 8080,9090 --log-interval 1s >/dev/null || fail "cannot run ${PREFIX}a on host1"
d2 run -d --name "${PREFIX}b" --hostname "${NAME_B}" --ip "${IP_B}" "${run_opts[@]}" "${IMAGE}" \
  --listen 8080,9090 --log-interval 1s >/dev/null || fail "cannot run ${PREFIX}b on host2"

step "waiting for both standins to listen"
wait_output "${PREFIX}a ready" "standin: listening on 9090" d1 logs "${PREFIX}a"
wait_output "${PREFIX}b ready" "standin: listening on 9090" d2 logs "${PREFIX}b"

step "cross-host ping by name"
wait_for "ping ${NAME_B} from host1" d1 exec "${PREFIX}a" ping -c1 -W1 "${NAME_B}" >/dev/null
wait_for "ping ${NAME_A} from host2" d2 exec "${PREFIX}b" ping -c1 -W1 "${NAME_A}" >/dev/null

step "reverse lookups (getent hosts IP)"
out=$(d1 exec "${PREFIX}a" getent hosts "${IP_B}") || fail "getent hosts ${IP_B} failed on host1"
[[ ${out} =~ ^${IP_B//./\\.}[[:space:]]+${NAME_B}([[:space:]]|$) ]] ||
  fail "getent hosts ${IP_B} on host1 gave '${out}', want ${NAME_B}"
out=$(d2 exec "${PREFIX}b" getent hosts "${IP_A}") || fail "getent hosts ${IP_A} failed on host2"
[[ ${out} =~ ^${IP_A//./\\.}[[:space:]]+${NAME_A}([[:space:]]|$) ]] ||
  fail "getent hosts ${IP_A} on host2 gave '${out}', want ${NAME_A}"

step "--listen: TCP and HTTP across hosts"
# busybox nc has no -z: connect with empty input; standin closes on EOF. (No `wget -T`: it
# segfaults in Debian 12's busybox-static 1.35; `timeout` bounds wget instead.)
wait_for "tcp ${NAME_B}:9090 from host1" d1 exec "${PREFIX}a" nc -w 3 "${NAME_B}" 9090 >/dev/null
wait_for "tcp ${NAME_A}:9090 from host2" d2 exec "${PREFIX}b" nc -w 3 "${NAME_A}" 9090 >/dev/null
out=$(d1 exec "${PREFIX}a" timeout 10 wget -q -O - "http://${NAME_B}:8080/") ||
  fail "HTTP GET ${NAME_B}:8080 from host1 failed"
[[ ${out} == "standin ${NAME_B} port 8080" ]] || fail "HTTP body from ${NAME_B}: '${out}'"
out=$(d2 exec "${PREFIX}b" timeout 10 wget -q -O - "http://${NAME_A}:8080/") ||
  fail "HTTP GET ${NAME_A}:8080 from host2 failed"
[[ ${out} == "standin ${NAME_A} port 8080" ]] || fail "HTTP body from ${NAME_A}: '${out}'"
if d1 exec "${PREFIX}a" nc -w 2 "${NAME_B}" 7070 </dev/null >/dev/null 2>&1; then
  fail "port 7070 of ${NAME_B} accepts connections, but standin does not listen there"
fi

step "--log-interval ticks"
wait_output "tick lines of ${PREFIX}a" "standin ${NAME_A} tick 2" d1 logs "${PREFIX}a"

step "--exit-after 1s --exit-code 3"
d2 run -d --name "${PREFIX}exit" --network none "${IMAGE}" --exit-after 1s --exit-code 3 \
  >/dev/null || fail "cannot run ${PREFIX}exit"
code=$(timeout "${TIMEOUT}" docker -H "${BDCOORD_TESTBED_HOST2_DOCKER_HOST}" wait \
  "${PREFIX}exit") ||
  fail "docker wait ${PREFIX}exit did not return in ${TIMEOUT}s"
[[ ${code} == 3 ]] || fail "${PREFIX}exit exited ${code}, want 3"

step "SIGTERM stops standin (PID 1) promptly with code 0"
start=${SECONDS}
d1 stop -t 10 "${PREFIX}a" >/dev/null || fail "docker stop ${PREFIX}a failed"
took=$((SECONDS - start))
code=$(d1 inspect -f '{{.State.ExitCode}}' "${PREFIX}a")
[[ ${code} == 0 ]] || fail "${PREFIX}a exited ${code} on SIGTERM, want 0"
((took < 5)) || fail "docker stop took ${took}s: SIGTERM is not handled"
d1 logs "${PREFIX}a" 2>&1 | grep -q 'standin: received SIGTERM, exiting' ||
  fail "${PREFIX}a did not log the SIGTERM"

step "PASS (${DRIVER})"
