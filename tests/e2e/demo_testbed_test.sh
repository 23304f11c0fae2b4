#!/usr/bin/env bash
# The Big Data demo end to end on the 4-host testbed: bdcoordd, one bdagent per simulated host
# (with its rack label), `bdcoord apply deploy/examples/bigdata-demo.yaml`. Checks that every
# instance runs on its planned host with its planned IP (Docker's own view), that names resolve
# across hosts both ways (ping NAME, getent hosts IP gives the FQDN), that the depends_on order
# held (the programs' first log lines, Docker's finish times), that `logs` reads a container on another host, and
# that `down` leaves nothing. Debian's /usr/bin/python3 reads the spec (python3-yaml). Meanwhile
# headless Chromium watches bdcoordd's status page (--http-listen): all 36 instances with their
# hosts and IPs, states changing without a reload, a click to logs; its screenshot is kept in
# ${BDCOORD_TEST_ARTIFACTS} (default /tmp/bdcoord-test-artifacts).
# Usage: demo_testbed_test.sh BDCOORDD BDAGENT BDCOORD SOURCE_DIR
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3 SRC=$4
source "${SRC}/tests/e2e/testbed_lib.sh"
testbed_setup demo bigdata lan all
((${#HOSTS[@]} >= 4)) || fail "the demo needs the 4-host testbed, have ${#HOSTS[@]}"

# The status page needs the API's token; the CLI reads it from BDCOORD_TOKEN_FILE.
page_address="127.0.0.1:$((20000 + RANDOM % 20000))"
(umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"${work}/token")
export BDCOORD_TOKEN_FILE="${work}/token"
start_coordinator --http-listen "${page_address}" --token-file "${work}/token"
for h in "${HOSTS[@]}"; do
  labels_var="BDCOORD_TESTBED_${h^^}_LABELS"
  start_agent "${h}" --label "${!labels_var}" --token-file "${work}/token"
done
wait_until 30 "the agents did not connect" all_connected

# The status page, open in a browser from before the apply until everything is ready.
mkdir -p "${work}/page"
/usr/bin/python3 "${SRC}/tests/e2e/status_page_browser.py" "http://${page_address}/#token=$(cat "${work}/token")" 36 "${work}/page" 300 \
  >"${work}/page.out" 2>&1 &
page_pid=$!
pids+=("${page_pid}")
page_open() { [[ -f ${work}/page/page.started ]] || ! kill -0 "${page_pid}" 2>/dev/null; }
wait_until 60 "the browser did not open the status page" page_open
[[ -f ${work}/page/page.started ]] || fail "the browser: $(cat "${work}/page.out")"

timeout 300 "${BDCOORD}" apply "${SRC}/deploy/examples/bigdata-demo.yaml" --coordinator "${sock}" \
  >"${work}/apply.out" 2>&1 || fail "apply: $(tail -30 "${work}/apply.out")"
grep -q "36/36 instances ready, done" "${work}/apply.out" || fail "apply summary: $(tail -5 "${work}/apply.out")"
echo "ok: the demo applies: 36/36 ready"

# Docker's view of every instance against the plan, and the order against depends_on.
"${BDCOORD}" status --coordinator "${sock}" -o json >"${work}/status.json"
for h in "${HOSTS[@]}"; do
  ids=$(dockerh "${h}" ps -aq --filter label=io.bdcoord.cluster=bigdata)
  dockerh "${h}" inspect ${ids} >"${work}/inspect-${h}.json"
  for id in ${ids}; do echo "${id} $(program_started "${h}" "${id}")"; done >"${work}/program-${h}.txt"
done
/usr/bin/python3 - "${work}" "${SRC}/deploy/examples/bigdata-demo.yaml" "${HOSTS[@]}" <<'PY' || fail "placement or order"
import json, sys, yaml
work, spec_path, hosts = sys.argv[1], sys.argv[2], sys.argv[3:]
planned = {i["name"]: i for c in json.load(open(f"{work}/status.json"))["clusters"] for i in c["instances"]}
assert len(planned) == 36, len(planned)
# RFC 3339 with up to 9 digits (Docker drops trailing zeros) -> nanoseconds since the epoch.
def ns(stamp):
    import datetime
    date, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = datetime.datetime.fromisoformat(date).replace(tzinfo=datetime.timezone.utc).timestamp()
    return int(seconds) * 10**9 + int((fraction + "000000000")[:9])
programs = {}  # short id -> when its program began (its first log line)
for h in hosts:
    for line in open(f"{work}/program-{h}.txt"):
        short_id, started = line.split()
        programs[short_id[:12]] = int(started)
seen = {}
for h in hosts:
    for c in json.load(open(f"{work}/inspect-{h}.json")):
        name = c["Config"]["Labels"]["io.bdcoord.instance"]
        assert name not in seen, f"{name} runs twice"
        ip = next(iter(c["NetworkSettings"]["Networks"].values()))["IPAMConfig"]["IPv4Address"]
        seen[name] = {"host": h, "ip": ip, "state": c["State"],
                      "service": c["Config"]["Labels"]["io.bdcoord.service"],
                      "program": programs[c["Id"][:12]]}
assert set(seen) == set(planned), set(seen) ^ set(planned)
for name, p in planned.items():
    s = seen[name]
    assert s["host"] == p["host"], f"{name} on {s['host']}, planned {p['host']}"
    assert s["ip"] == p["ip"], f"{name} has {s['ip']}, planned {p['ip']}"
    want = "exited" if p["state"] == "completed" else "running"
    assert s["state"]["Status"] == want, f"{name}: {s['state']['Status']}, want {want}"
print(f"ok: all 36 instances run on their planned host with their planned IP")

# depends_on: every instance of a dependent's program began after every instance of what it
# needs began (started), or finished (completed); ready comes after started, so started is
# checked. A program's start is its first log line (a held container starts early behind
# bdgate); a finish is Docker's FinishedAt.
spec = yaml.safe_load(open(spec_path))
def programs_of(service):
    return [s["program"] for s in seen.values() if s["service"] == service]
def finished(service):
    return [ns(s["state"]["FinishedAt"]) for s in seen.values() if s["service"] == service]
checked = 0
for service, body in spec["services"].items():
    for dep, cond in (body.get("depends_on") or {}).items():
        last_dep = max(finished(dep) if cond == "completed" else programs_of(dep))
        first = min(programs_of(service))
        assert last_dep < first, f"{service} began at {first} ns, before {dep} {cond} ({last_dep} ns)"
        checked += 1
print(f"ok: {checked} depends_on edges held (the programs' first log lines, Docker's finish times)")
PY

# The page's view against the coordinator's.
wait "${page_pid}" || fail "$(cat "${work}/page.out")"
cat "${work}/page.out"
/usr/bin/python3 - "${work}/status.json" "${work}/page/rows.json" <<'PY' || fail "the status page's hosts or IPs"
import json, sys
planned = {i["name"]: i for c in json.load(open(sys.argv[1]))["clusters"] for i in c["instances"]}
rows = {r["name"]: r for r in json.load(open(sys.argv[2]))}
assert set(rows) == set(planned), set(rows) ^ set(planned)
for name, row in rows.items():
    assert (row["host"], row["ip"]) == (planned[name]["host"], planned[name]["ip"]), (row, planned[name])
print(f"ok: the page's {len(rows)} hosts and IPs are the coordinator's")
PY
artifacts=${BDCOORD_TEST_ARTIFACTS:-/tmp/bdcoord-test-artifacts}
mkdir -p "${artifacts}" && cp "${work}/page/status-page.png" "${artifacts}/status-page.png"
echo "ok: the page's screenshot is ${artifacts}/status-page.png"

# status --probe: every running instance's readiness probe, run on its host now, passes.
"${BDCOORD}" status --probe --coordinator "${sock}" -o json >"${work}/probe.json" || fail "status --probe"
/usr/bin/python3 - "${work}/probe.json" "${SRC}/deploy/examples/bigdata-demo.yaml" <<'PY' ||
import json, sys, yaml
views = [i for c in json.load(open(sys.argv[1]))["clusters"] for i in c["instances"]]
with_probe = {name for name, body in yaml.safe_load(open(sys.argv[2]))["services"].items()
              if body.get("ready")}
want = sorted(v["name"] for v in views if v["service"] in with_probe)
got = sorted(v["name"] for v in views if v["probe"])
assert got == want, (got, want)
bad = [(v["name"], v["probe"]) for v in views if v["probe"] not in ("", "ok")]
assert not bad, bad
print(f"ok: status --probe: the {len(got)} instances with a readiness probe pass it, run on their hosts now")
PY
  fail "status --probe: $(cat "${work}/probe.json")"

# Names across hosts, both ways, from several containers.
host_of() { python3 -c 'import json,sys; print({i["name"]: i["host"] for c in json.load(open(sys.argv[1]))["clusters"] for i in c["instances"]}[sys.argv[2]])' "${work}/status.json" "$1"; }
ip_of() { python3 -c 'import json,sys; print({i["name"]: i["ip"] for c in json.load(open(sys.argv[1]))["clusters"] for i in c["instances"]}[sys.argv[2]])' "${work}/status.json" "$1"; }
pairs=0
for pair in zk1:kafka1 drill1:namenode1 taskmanager1:jobmanager3 datanode2:zk3; do
  from=${pair%%:*} to=${pair##*:}
  from_host=$(host_of "${from}") to_host=$(host_of "${to}") to_ip=$(ip_of "${to}")
  dockerh "${from_host}" exec -u 0 "${from}" ping -c1 -W2 "${to}" >/dev/null ||
    fail "${from} (${from_host}) cannot ping ${to} (${to_host})"
  reverse=$(dockerh "${from_host}" exec "${from}" getent hosts "${to_ip}")
  [[ ${reverse} == "${to_ip}"*"${to}.bigdata.lan ${to}"* ]] ||
    fail "${from}: getent hosts ${to_ip} gave '${reverse}'"
  [[ ${from_host} != "${to_host}" ]] && pairs=$((pairs + 1))
done
((pairs >= 2)) || fail "fewer than 2 of the name checks crossed hosts"
echo "ok: ping by name and reverse lookups from 4 containers (${pairs} across hosts)"

# logs: the format job's output, from whatever host it ran on.
"${BDCOORD}" logs namenode-format1 --coordinator "${sock}" >"${work}/logs.out" 2>&1 ||
  fail "logs: $(cat "${work}/logs.out")"
grep -q "^namenode-format1 | " "${work}/logs.out" || fail "logs of namenode-format1: $(cat "${work}/logs.out")"
echo "ok: bdcoord logs reads namenode-format1 on $(host_of namenode-format1)"

"${BDCOORD}" down --coordinator "${sock}" >"${work}/down.out" 2>&1 || fail "down: $(cat "${work}/down.out")"
grep -q "^removed 36 instances" "${work}/down.out" || fail "down: $(cat "${work}/down.out")"
no_networks() {
  for h in "${HOSTS[@]}"; do [[ -z $(dockerh "${h}" network ls -q --filter label=io.bdcoord.network) ]] || return 1; done
}
for h in "${HOSTS[@]}"; do
  [[ -z $(dockerh "${h}" ps -aq --filter label=io.bdcoord.cluster) ]] || fail "containers left on ${h}"
done
deadline=$((SECONDS + 20))
until no_networks; do ((SECONDS < deadline)) || fail "networks left after down"; sleep 0.2; done
echo "ok: down removes the 36 containers and the network on the 4 hosts"
