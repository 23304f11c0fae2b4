# shellcheck shell=bash
# The real cluster's proof (deploy/examples/bigdata-real.yaml on the 4-host testbed), checked
# with the systems' own clients. Sourced by `deploy/quickstart.sh --real` and by
# tests/real/real_cluster_test.sh.
#
# The caller sets BDCOORD (the CLI), REAL_ADDR (the coordinator), REAL_WORK (a directory for
# the tools' output) and defines `fail MESSAGE` (prints it and exits). The root namespace plays
# a machine on the LAN: `real_gateway_up` gives the testbed's LAN bridge the network's gateway
# address, so ZooKeeper (python3-kazoo, deploy/real/zk_client.py), Flink's and Drill's REST
# APIs are reached from here. Kafka's and HDFS's Java tools run inside a container of the
# cluster (`docker exec`), where the members' names resolve through bdcoord's /etc/hosts.
REAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REAL_GATEWAY=10.0.50.1/24 # the gateway of the spec's network `lan`
REAL_BRIDGE=bdcoord-lan   # deploy/testbed.sh's LAN bridge
REAL_TOPIC=bdcoord-real-$(date +%s) # a new topic each run
REAL_FLINK_LEADER=/flink/bigdata/leader/rest_server/connection_info
REAL_TOOL_JVM=(java -Xms16m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true)

real_gateway_up() { ip addr replace "${REAL_GATEWAY}" dev "${REAL_BRIDGE}"; }
real_gateway_down() { ip addr del "${REAL_GATEWAY}" dev "${REAL_BRIDGE}" 2>/dev/null || true; }
real_docker() { local h=$1; shift; docker -H "unix:///run/bdcoord-testbed/${h}/docker.sock" "$@"; }

# real_locate: HOST_OF[instance], IP_OF[instance] and NAME_OF[ip] from `bdcoord status`.
declare -gA HOST_OF IP_OF NAME_OF
real_locate() {
  local name host ip
  "${BDCOORD}" status --coordinator "${REAL_ADDR}" -o json >"${REAL_WORK}/status.json" || fail "bdcoord status"
  while read -r name host ip; do
    HOST_OF[${name}]=${host}
    IP_OF[${name}]=${ip}
    NAME_OF[${ip}]=${name}
  done < <(python3 -c 'import json,sys
for c in json.load(open(sys.argv[1]))["clusters"]:
    for i in c["instances"]: print(i["name"], i["host"], i["ip"])' "${REAL_WORK}/status.json")
}

# inside NAME CMD...: CMD in instance NAME's container (stdin passed on).
inside() { local n=$1; shift; real_docker "${HOST_OF[${n}]}" exec -i "${n}" "$@"; }
hdfs_tool() { local n=$1; shift; inside "${n}" "${REAL_TOOL_JVM[@]}" -cp '/etc/hadoop:/opt/hadoop/lib/*' "$@" </dev/null; }
kafka_tool() { local n=$1; shift; inside "${n}" "${REAL_TOOL_JVM[@]}" -cp '/opt/kafka/lib/*' "$@"; }
# zk COMMAND ZKn ARGS...: deploy/real/zk_client.py COMMAND through that one member.
zk() { /usr/bin/python3 "${REAL_DIR}/zk_client.py" "$1" "${IP_OF[$2]}:2181" "${@:3}"; }
# rest URL [BODY]: GET (or POST the JSON BODY to) URL; 60 s at most (Drill's first query plans
# for 20 s on a busy 2-core machine).
rest() {
  python3 -c 'import sys, urllib.request
body = sys.argv[2].encode() if len(sys.argv) > 2 else None
req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=60).read().decode())' "$@"
}
# wait_until SECONDS WHAT COMMAND... (the tests' own when sourced by one): polls COMMAND until
# it succeeds, or fails with WHAT.
if ! declare -F wait_until >/dev/null; then
  wait_until() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@"; do
      ((SECONDS < deadline)) || fail "${what}"
      sleep 0.2
    done
  }
fi
elapsed() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$1" "$2"; }
since() { elapsed "$1" "$(date +%s.%N)"; }

# --- images ------------------------------------------------------------------------------------

# The images the spec FILE runs, one a line.
real_spec_images() { sed -n 's/^ *image: *//p' "$1" | sort -u; }

# real_push_images IMAGE...: the images from DOCKER_HOST's Docker (default host1's, where
# deploy/images/build.sh builds them) to every connected host that lacks them, through the
# coordinator: one `docker save` of the set (the shared base once), `bdcoord images push` of
# that archive; hosts that have every image are skipped. Fails unless every host ends with it
# (loaded or skipped), then prints the figure: MB, hosts, seconds, MB/s.
# The Docker the images are pushed from: DOCKER_HOST, else host1's.
real_image_docker() { echo "${DOCKER_HOST:-unix:///run/bdcoord-testbed/host1/docker.sock}"; }

real_push_images() {
  local docker start saved
  docker=$(real_image_docker)
  start=$(date +%s.%N)
  DOCKER_HOST=${docker} docker save -o "${REAL_WORK}/images.tar" "$@" ||
    fail "images: docker save $* (${docker})"
  saved=$(since "${start}")
  real_push "${REAL_WORK}/images.tar"
  rm -f "${REAL_WORK}/images.tar"
  echo "figure: images: the set of $# images saved in ${saved} s before the push"
}

# real_push ARG...: `bdcoord images push ARG...` (names of DOCKER_HOST's Docker, or files) to
# every connected host; fails unless each ARG ends on every host, loaded or skipped, and prints
# the figure. Output in ${REAL_WORK}/push.out.
real_push() {
  local hosts start took out=${REAL_WORK}/push.out
  hosts=$("${BDCOORD}" hosts --coordinator "${REAL_ADDR}" -o json | grep -c '"connected": true') ||
    fail "images: no host is connected"
  start=$(date +%s.%N)
  DOCKER_HOST=$(real_image_docker) \
    "${BDCOORD}" images push "$@" --coordinator "${REAL_ADDR}" >"${out}" 2>&1 ||
    fail "images: bdcoord images push $*: $(tail -15 "${out}")"
  took=$(since "${start}")
  python3 - "${out}" "${hosts}" "${took}" "$@" <<'PY' || fail "images: the push's output: $(cat "${out}")"
import re, sys
out, hosts, took, pushed = sys.argv[1], int(sys.argv[2]), max(float(sys.argv[3]), 0.1), sys.argv[4:]
lacking, mib, state, name = {}, {}, {}, None
for line in open(out):
    m = re.match(r"(\S+) \([0-9a-f]{12}\): (\d+) of (\d+) hosts lack it$", line)
    if m:
        name = m[1]
        assert int(m[3]) == hosts, f"{name}: {m[3]} hosts, not the {hosts} connected"
        lacking[name], mib[name], state[name] = int(m[2]), 0.0, {}
        continue
    m = re.match(r"(\S+): ([0-9.]+) (MiB|GiB) of about", line)
    if m and m[1] == name:  # a line per tenth: the last one counts
        mib[name] = float(m[2]) * (1024 if m[3] == "GiB" else 1)
        continue
    m = re.match(r"  (\S+) +(\S+)", line)
    if m and name:
        state[name][m[1]] = m[2]
got = set()
for n in pushed:
    assert n in state, f"{n}: not in the push's output"
    assert len(state[n]) == hosts, f"{n}: {len(state[n])} hosts answered, not {hosts}"
    bad = {h: s for h, s in state[n].items() if s not in ("loaded", "skipped")}
    assert not bad, f"{n}: {bad}"
    loaded = {h for h, s in state[n].items() if s == "loaded"}
    assert len(loaded) == lacking[n], f"{n}: {len(loaded)} loaded, {lacking[n]} lacked it"
    got |= loaded
if not got:
    print(f"figure: images: all {hosts} hosts had {' '.join(pushed)}: every one skipped, in {took:.1f} s")
else:
    sent = sum(mib[n] for n in pushed if lacking[n]) * 1048576 / 1e6
    fwd = sum(mib[n] * lacking[n] for n in pushed) * 1048576 / 1e6
    print(f"figure: images: {sent:.0f} MB of archive pushed to {len(got)} of {hosts} hosts (the others "
          f"skipped; {fwd:.0f} MB forwarded) in {took:.1f} s: {sent / took:.1f} MB/s of archive, "
          f"{fwd / took:.1f} MB/s forwarded")
PY
}

# --- ZooKeeper ---------------------------------------------------------------------------------
declare -gA MODE
read_modes() { local n; for n in zk1 zk2 zk3; do MODE[${n}]=$(zk mode "${n}"); done; }
count_mode() { local n c=0; for n in zk1 zk2 zk3; do [[ ${MODE[${n}]} == "$1" ]] && c=$((c + 1)); done; echo "${c}"; }
modes_text() { echo "zk1=${MODE[zk1]:-none} zk2=${MODE[zk2]:-none} zk3=${MODE[zk3]:-none}"; }
one_leader_two_followers() { read_modes && [[ $(count_mode leader) -eq 1 && $(count_mode follower) -eq 2 ]]; }
# zk_leader: the member MODE says leads; fails when none does (a loop's last test must not be
# the function's status: under `set -e`, `x=$(zk_leader)` would end the script silently).
zk_leader() {
  local n
  for n in zk1 zk2 zk3; do
    if [[ ${MODE[${n}]} == leader ]]; then
      echo "${n}"
      return 0
    fi
  done
  return 1
}

real_check_zookeeper() {
  one_leader_two_followers || fail "zookeeper: want 1 leader and 2 followers, srvr says $(modes_text)"
  echo "ok: zookeeper srvr: $(modes_text)"
  local value
  value="written-through-zk1-at-$(date +%s.%N)"
  zk write zk1 /bdcoord-real "${value}" 2>"${REAL_WORK}/zk-write.err" || fail "zookeeper: write /bdcoord-real through zk1"
  [[ $(zk get zk3 /bdcoord-real 2>"${REAL_WORK}/zk-get.err") == "${value}" ]] ||
    fail "zookeeper: /bdcoord-real read through zk3 is not '${value}'"
  echo "ok: zookeeper: /bdcoord-real written through zk1 (${HOST_OF[zk1]}), read through zk3 (${HOST_OF[zk3]})"
}

# --- Kafka -------------------------------------------------------------------------------------
brokers_registered() { [[ $(zk children zk2 /kafka/brokers/ids 2>/dev/null | tr '\n' ' ') == "1 2 3 " ]]; }
# in_sync: every partition of the topic has its 3 replicas in sync.
in_sync() {
  kafka_tool kafka1 org.apache.kafka.tools.TopicCommand --bootstrap-server kafka1.bigdata.lan:9092 \
    --describe --topic "${REAL_TOPIC}" </dev/null >"${REAL_WORK}/describe.out" 2>/dev/null || return 1
  [[ $(grep -cE $'Partition: [0-9]+\tLeader: [0-9]+\tReplicas: [0-9],[0-9],[0-9]\tIsr: [0-9],[0-9],[0-9]' "${REAL_WORK}/describe.out") -eq 3 ]]
}
# produce FIRST LAST: messages FIRST..LAST through kafka1, acks=all.
produce() {
  seq -f "message-%g" "$1" "$2" >>"${REAL_WORK}/sent"
  seq -f "message-%g" "$1" "$2" | kafka_tool kafka1 kafka.tools.ConsoleProducer \
    --bootstrap-server kafka1.bigdata.lan:9092 --topic "${REAL_TOPIC}" --producer-property acks=all \
    >"${REAL_WORK}/produce.out" 2>&1 || fail "kafka: produce through kafka1: $(tail -5 "${REAL_WORK}/produce.out")"
}
# consume_all NAME: every message sent so far, read through broker NAME; none lost.
consume_all() {
  local want
  want=$(wc -l <"${REAL_WORK}/sent")
  kafka_tool "$1" org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$1.bigdata.lan:9092" \
    --topic "${REAL_TOPIC}" --from-beginning --max-messages "${want}" --timeout-ms 60000 </dev/null \
    >"${REAL_WORK}/received" 2>"${REAL_WORK}/consume.err" || fail "kafka: consume through $1: $(tail -5 "${REAL_WORK}/consume.err")"
  sort "${REAL_WORK}/sent" >"${REAL_WORK}/sent.sorted"
  sort "${REAL_WORK}/received" >"${REAL_WORK}/received.sorted"
  cmp -s "${REAL_WORK}/sent.sorted" "${REAL_WORK}/received.sorted" ||
    fail "kafka: consumed $(wc -l <"${REAL_WORK}/received") of ${want} messages through $1, differing: $(comm -3 "${REAL_WORK}/sent.sorted" "${REAL_WORK}/received.sorted" | head -5)"
}

real_check_kafka() {
  brokers_registered || fail "kafka: brokers in ZooKeeper: $(zk children zk2 /kafka/brokers/ids 2>&1 | tr '\n' ' ')"
  echo "ok: kafka: brokers 1 2 3 registered in ZooKeeper (/kafka/brokers/ids)"
  if ! in_sync; then
    kafka_tool kafka1 org.apache.kafka.tools.TopicCommand --bootstrap-server kafka1.bigdata.lan:9092 \
      --create --if-not-exists --topic "${REAL_TOPIC}" --partitions 3 --replication-factor 3 \
      </dev/null >"${REAL_WORK}/topic.out" 2>&1 || fail "kafka: create topic: $(tail -5 "${REAL_WORK}/topic.out")"
    wait_until 60 "kafka: topic ${REAL_TOPIC} is not 3 partitions with 3 in-sync replicas each (describe.out below)" in_sync
  fi
  echo "ok: kafka: topic ${REAL_TOPIC}: 3 partitions, replication factor 3, all in sync"
  : >"${REAL_WORK}/sent"
  produce 1 1000
  consume_all kafka2
  echo "ok: kafka: 1000 messages produced through kafka1 (${HOST_OF[kafka1]}), read back through kafka2 (${HOST_OF[kafka2]}), none lost"
}

# --- HDFS --------------------------------------------------------------------------------------
# live_datanodes N: the NameNode's report says N live DataNodes or more (one scaled away
# stays "live" until its heartbeats have been missing for 10 minutes).
live_datanodes() {
  local live
  hdfs_tool namenode1 org.apache.hadoop.hdfs.tools.DFSAdmin -report >"${REAL_WORK}/dfsadmin.out" 2>"${REAL_WORK}/dfsadmin.err" &&
    live=$(sed -n 's/^Live datanodes (\([0-9]*\)):$/\1/p' "${REAL_WORK}/dfsadmin.out") && ((${live:-0} >= $1))
}

real_check_hdfs() {
  local i
  live_datanodes 3 || fail "hdfs: dfsadmin -report: $(grep -i datanodes "${REAL_WORK}/dfsadmin.out")"
  for i in 1 2 3; do
    grep -q "datanode${i}\.bigdata\.lan" "${REAL_WORK}/dfsadmin.out" || fail "hdfs: datanode${i} is not registered by its FQDN"
  done
  echo "ok: hdfs: $(grep '^Live datanodes' "${REAL_WORK}/dfsadmin.out") registered by name: datanode1..3.bigdata.lan (ip-hostname-check on)"
  inside datanode1 sh -c 'head -c 4194304 /dev/urandom >/tmp/real-check && sha256sum </tmp/real-check' </dev/null \
    >"${REAL_WORK}/hdfs-sent.sum" || fail "hdfs: make a file in datanode1"
  hdfs_tool datanode1 org.apache.hadoop.fs.FsShell -put -f /tmp/real-check /real-check >"${REAL_WORK}/hdfs-put.out" 2>&1 ||
    fail "hdfs: -put through datanode1: $(tail -5 "${REAL_WORK}/hdfs-put.out")"
  inside datanode3 sh -c "java ${REAL_TOOL_JVM[*]:1} -cp '/etc/hadoop:/opt/hadoop/lib/*' org.apache.hadoop.fs.FsShell -cat /real-check | sha256sum" \
    </dev/null >"${REAL_WORK}/hdfs-read.sum" 2>"${REAL_WORK}/hdfs-cat.err" || fail "hdfs: -cat through datanode3"
  cmp -s "${REAL_WORK}/hdfs-sent.sum" "${REAL_WORK}/hdfs-read.sum" ||
    fail "hdfs: checksum written $(cat "${REAL_WORK}/hdfs-sent.sum"), read back $(cat "${REAL_WORK}/hdfs-read.sum")"
  echo "ok: hdfs: 4 MB written through datanode1 (${HOST_OF[datanode1]}), read back through datanode3 (${HOST_OF[datanode3]}), same sha256"
}

# --- Flink -------------------------------------------------------------------------------------
# flink_leader: the JobManager whose REST endpoint leads, by ZooKeeper (its URL names it by
# FQDN or by IP).
flink_leader() {
  local url host
  url=$(zk leader_url zk1 "${REAL_FLINK_LEADER}" 2>/dev/null) || return 1
  [[ ${url} =~ ^https?://([^:/]+) ]] || return 1
  host=${BASH_REMATCH[1]%.bigdata.lan}
  [[ -n ${IP_OF[${host}]:-} ]] && echo "${host}" && return 0
  [[ -n ${NAME_OF[${host}]:-} ]] && echo "${NAME_OF[${host}]}"
}
# flink_serves JM: JM's REST /overview says 2 TaskManagers, 4 slots.
flink_serves() {
  rest "http://${IP_OF[$1]}:8081/overview" >"${REAL_WORK}/flink-overview.out" 2>&1 &&
    grep -q '"taskmanagers":2,' "${REAL_WORK}/flink-overview.out" && grep -q '"slots-total":4,' "${REAL_WORK}/flink-overview.out"
}

real_check_flink() {
  FLINK_LEADER=$(flink_leader) ||
    fail "flink: no JobManager's URL in ZooKeeper's ${REAL_FLINK_LEADER}: $(zk get zk1 "${REAL_FLINK_LEADER}" 2>&1 | tr -cd '[:print:]')"
  wait_until 60 "flink: ${FLINK_LEADER} (the leader) does not list 2 TaskManagers and 4 slots (flink-overview.out below)" \
    flink_serves "${FLINK_LEADER}"
  echo "ok: flink: ${FLINK_LEADER} leads (ZooKeeper); its REST API lists 2 TaskManagers, 4 slots: $(grep -o '"taskmanagers":[0-9]*,"slots-total":[0-9]*' "${REAL_WORK}/flink-overview.out")"
}

# --- Drill -------------------------------------------------------------------------------------
real_check_drill() {
  local drillbits
  drillbits=$(zk children zk2 /drill/bigdata-drill 2>"${REAL_WORK}/drill-zk.err" | grep -c . || true)
  [[ ${drillbits} -eq 3 ]] || fail "drill: ${drillbits} drillbits under /drill/bigdata-drill in ZooKeeper, want 3"
  rest "http://${IP_OF[drillbit1]}:8047/query.json" \
    '{"queryType":"SQL","query":"select count(*) as online from sys.drillbits where state = '"'ONLINE'"'"}' \
    >"${REAL_WORK}/drill-sql.out" 2>&1 || fail "drill: SQL through drillbit1's REST API"
  grep -qE '"online" *: *"?3"?' "${REAL_WORK}/drill-sql.out" || fail "drill: sys.drillbits: $(tr -d '\n' <"${REAL_WORK}/drill-sql.out")"
  echo "ok: drill: 3 drillbits registered under /drill/bigdata-drill; SQL on sys.drillbits through drillbit1: 3 ONLINE"
}

real_check_all() {
  real_check_zookeeper
  real_check_kafka
  real_check_hdfs
  real_check_flink
  real_check_drill
}
