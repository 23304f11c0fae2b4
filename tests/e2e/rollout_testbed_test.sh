#!/usr/bin/env bash
# Rolling updates on the testbed. Three instances of a slow starter (it listens 2 s after its
# start) with a readiness probe and `update: {max_parallel: 1, min_healthy: 1s}`; a re-apply with
# a changed environment. A watcher looks every 200 ms at every container through Docker (running,
# which spec) and at its port from the other host (ready): never more than one instance is down
# or unready, and they are replaced in index order. Then a broken spec: the first replaced
# instance fails, the rollout halts with the others still on the previous spec, apply says which
# and why, and `bdcoord rollout undo` brings the previous spec back.
# Usage: rollout_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup rollout e2eroll e2eroll
inns() { local h=$1; shift; nsenter --net="/var/run/netns/bdcoord-${h}" "$@"; }

spec() {  # spec VERSION [EXTRA COMMAND ARGS]
  local version=$1
  shift
  local extra=""
  for arg in "$@"; do extra+=", \"${arg}\""; done
  cat >"${work}/cluster.yaml" <<YAML
cluster: e2eroll
domain: e2e.lan
networks:
  e2eroll:
    driver: ${BDCOORD_TESTBED_DRIVER:-macvlan}
    parent: eth0
    subnet: ${BDCOORD_TESTBED_SUBNET}
    ip_range: 10.251.0.176/28
services:
  web:
    image: ${BDCOORD_TESTBED_IMAGE}
    count: 3
    command: ["--listen", "8080", "--ready-after", "2s"${extra}]
    env: {VERSION: "${version}"}
    restart: "no"
    ready: {tcp: 8080, interval: 250ms}
    update: {max_parallel: 1, min_healthy: 1s}
YAML
}
apply() { timeout 120 "${BDCOORD}" apply "${work}/cluster.yaml" --coordinator "${sock}"; }

start_coordinator
for h in "${HOSTS[@]}"; do start_agent "${h}" --interval 1; done
wait_until 30 "the agents did not connect" all_connected
spec 1
apply >"${work}/apply1.out" 2>&1 || fail "apply: $(cat "${work}/apply1.out")"
echo "ok: version 1 applied"

# Where each instance is: name host ip (in index order).
"${BDCOORD}" status -c e2eroll -o json --coordinator "${sock}" >"${work}/status.json"
mapfile -t INSTANCES < <(python3 -c '
import json, sys
for i in json.load(open(sys.argv[1]))["clusters"][0]["instances"]:
    print(i["name"], i["host"], i["ip"])' "${work}/status.json")
((${#INSTANCES[@]} == 3)) || fail "want 3 instances: ${INSTANCES[*]}"
other() { [[ $1 == host1 ]] && echo host2 || echo host1; }

# The watcher: per sample, per instance: time, name, container state, spec hash, port answers.
watch_containers() {
  while [[ ! -e ${work}/stop-watch ]]; do
    local now h line name host ip state hash ready
    now=$(date +%s.%N)
    declare -A seen=()
    for h in "${HOSTS[@]}"; do
      while read -r line; do
        [[ -n ${line} ]] && seen[${line%% *}]=${line#* }
      done < <(dockerh "${h}" ps -a --filter label=io.bdcoord.cluster=e2eroll \
        --format '{{.Label "io.bdcoord.instance"}} {{.State}} {{.Label "io.bdcoord.spec-hash"}}')
    done
    for line in "${INSTANCES[@]}"; do
      read -r name host ip <<<"${line}"
      read -r state hash <<<"${seen[${name}]:-missing -}"
      ready=no
      inns "$(other "${host}")" timeout 0.5 bash -c "exec 3<>/dev/tcp/${ip}/8080" 2>/dev/null && ready=yes
      echo "${now} ${name} ${state} ${hash} ${ready}"
    done
    sleep 0.2
  done
}
hash_of() { dockerh "$2" inspect -f '{{index .Config.Labels "io.bdcoord.spec-hash"}}' "$1"; }
read -r name1 host1 _ <<<"${INSTANCES[0]}"
old_hash=$(hash_of "${name1}" "${host1}")

watch_containers >"${work}/watch.log" 2>/dev/null &
watcher=$!
pids+=("${watcher}")
spec 2
start_ns=$(date +%s%N)
apply >"${work}/apply2.out" 2>&1 || fail "apply of version 2: $(cat "${work}/apply2.out")"
rollout_ms=$((($(date +%s%N) - start_ns) / 1000000))
touch "${work}/stop-watch"
wait "${watcher}" || true
grep -q "rollout: 3/3 updated, done" "${work}/apply2.out" ||
  fail "apply did not show the finished rollout: $(cat "${work}/apply2.out")"
[[ $(hash_of "${name1}" "${host1}") != "${old_hash}" ]] || fail "${name1} was not replaced"
declare -A v2=()  # each instance's spec hash at version 2
for line in "${INSTANCES[@]}"; do
  read -r name host _ <<<"${line}"
  v2[${name}]=$(hash_of "${name}" "${host}")
done

python3 - "${work}/watch.log" "${INSTANCES[@]%% *}" <<'PY' || fail "the rollout broke its rules (watch.log above)"
import sys
log, names = sys.argv[1], sys.argv[2:]
samples = {}
for line in open(log):
    t, name, state, spec, ready = line.split()
    samples.setdefault(t, {})[name] = (state, spec, ready)
times = sorted(samples, key=float)
worst, first_new, initial = 0, {}, {}
for t in times:
    sample = samples[t]
    if len(sample) != len(names):
        continue
    down = [n for n, (state, _, ready) in sample.items() if state != "running" or ready != "yes"]
    if len(down) > 1:
        sys.exit(f"at {t}: {down} down or unready at once (max_parallel 1)")
    worst = max(worst, len(down))
    for n, (state, spec, _) in sample.items():
        initial.setdefault(n, spec)  # each instance's spec hash is its own (name, IP)
        if state == "running" and spec != initial[n] and n not in first_new:
            first_new[n] = float(t)
if sorted(first_new) != sorted(names):
    sys.exit(f"not every instance seen on the new spec: {first_new}")
order = sorted(first_new, key=first_new.get)
if order != names:
    sys.exit(f"replaced in the order {order}, want {names}")
if worst != 1:
    sys.exit(f"the watcher never saw an instance being replaced ({len(times)} samples): too slow?")
print(f"{len(times)} samples, at most {worst} instance down or unready, order {order}")
PY
echo "ok: version 2 rolled one instance at a time, in index order; ${rollout_ms} ms for 3 instances"

# A broken spec: the first instance replaced exits 3; the rollout halts there.
spec 3 --exit-after 1s --exit-code 3
if apply >"${work}/apply3.out" 2>&1; then fail "apply of a failing spec exited 0"; fi
grep -q "rollout: 0/3 updated, halted: instance ${name1} failed with the new spec" \
  "${work}/apply3.out" || fail "apply did not say where the rollout halted: $(cat "${work}/apply3.out")"
for line in "${INSTANCES[@]:1}"; do
  read -r name host _ <<<"${line}"
  [[ $(hash_of "${name}" "${host}") == "${v2[${name}]}" ]] ||
    fail "${name} left version 2 though the rollout halted before it"
  [[ $(dockerh "${host}" inspect -f '{{.State.Running}}' "${name}") == true ]] ||
    fail "${name} is not running after the halt"
done
"${BDCOORD}" rollout status --coordinator "${sock}" >"${work}/rollout.out" 2>&1 ||
  fail "rollout status: $(cat "${work}/rollout.out")"
grep -qE "^1 +${name1} +web +failed " "${work}/rollout.out" ||
  fail "rollout status does not show the failed step: $(cat "${work}/rollout.out")"
echo "ok: a failing spec halts at ${name1}; the other two still run version 2"

timeout 120 "${BDCOORD}" rollout undo --coordinator "${sock}" >"${work}/undo.out" 2>&1 ||
  fail "rollout undo: $(cat "${work}/undo.out")"
grep -q "rollout (undo): 1/1 updated, done" "${work}/undo.out" ||
  fail "undo did not finish: $(cat "${work}/undo.out")"
for line in "${INSTANCES[@]}"; do
  read -r name host _ <<<"${line}"
  [[ $(hash_of "${name}" "${host}") == "${v2[${name}]}" ]] || fail "${name} does not run version 2"
done
echo "ok: rollout undo brought ${name1} back to version 2"
