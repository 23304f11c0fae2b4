#!/usr/bin/env bash
# The real cluster (deploy/examples/bigdata-real.yaml: ZooKeeper 3.9.4, Kafka 3.9.1) run by
# bdcoordd and one bdagent per testbed host, checked with the systems' own clients, each run
# inside a container of the cluster (`docker exec`: the root namespace has no route to the
# macvlan network, and the coordinator hands out no host shim yet):
# - ZooKeeper: `srvr` gives exactly one leader and two followers; a znode
#   written through zk1 (ZooKeeperMain) is read through zk3 on another host; the leader's
#   JVM killed -> a new leader among the others within 30 s, the killed member back
#   (Docker's restart policy) as a follower;
# - Kafka: the 3 brokers registered in ZooKeeper; a topic
#   with 3 partitions and replication factor 3 (TopicCommand), every partition fully in sync; 1000 messages
#   produced through kafka1 (ConsoleProducer, acks=all) and consumed through kafka2 on another
#   host (ConsoleConsumer, which reaches the partition leaders by their advertised FQDN), none lost.
# - HDFS: the 3 DataNodes registered (ip-hostname-check on); 4 MB written through datanode1
#   (FsShell -put) and read back through datanode3 on another host (FsShell -cat), same sha256.
# Prints the time from `apply` to every check passing and the RSS of every JVM.
# Images: deploy/images/build.sh zookeeper kafka hadoop --load (builds what is missing on the dockerd
# of DOCKER_HOST, loads what the testbed hosts lack).
# Usage: real_cluster_test.sh BDCOORDD BDAGENT BDCOORD SOURCE_DIR
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3 SRC=$4
source "${SRC}/tests/e2e/testbed_lib.sh"
testbed_setup real bigdata lan all
((${#HOSTS[@]} >= 4)) || fail "the real cluster needs the 4-host testbed, have ${#HOSTS[@]}"
# The images are built on host1's dockerd unless told otherwise, then loaded into the others.
export DOCKER_HOST=${DOCKER_HOST:-unix://${BDCOORD_TESTBED_HOST1_SOCK}}
SPEC=${SRC}/deploy/examples/bigdata-real.yaml
ZK_IMAGE=bdcoord/zookeeper:3.9.4 KAFKA_IMAGE=bdcoord/kafka:3.9.1 HADOOP_IMAGE=bdcoord/hadoop:3.4.1
TOPIC=bdcoord-real MESSAGES=1000

# Named volumes outlive `bdcoord down` (data is kept): this test removes the cluster's, before
# (a stale ZooKeeper dataDir would change the run) and after.
remove_volumes() {
  local h vols
  for h in "${HOSTS[@]}"; do
    vols=$(dockerh "${h}" volume ls -q --filter label=io.bdcoord.cluster=bigdata 2>/dev/null || true)
    # shellcheck disable=SC2086  # a list of names
    [[ -n ${vols} ]] && dockerh "${h}" volume rm -f ${vols} >/dev/null 2>&1 || true
  done
}
real_cleanup() {
  testbed_cleanup
  remove_volumes
}
trap real_cleanup EXIT

start=${SECONDS}
"${SRC}/deploy/images/build.sh" zookeeper kafka hadoop --load >"${work}/images.log" 2>&1 ||
  fail "images: deploy/images/build.sh zookeeper kafka hadoop --load: $(tail -15 "${work}/images.log")"
echo "ok: images ${ZK_IMAGE}, ${KAFKA_IMAGE} and ${HADOOP_IMAGE} on every testbed host ($((SECONDS - start)) s)"
for h in "${HOSTS[@]}"; do
  [[ -z $(dockerh "${h}" ps -aq --filter label=io.bdcoord.cluster) ]] ||
    fail "${h} already runs bdcoord containers: the testbed is not clean"
done
remove_volumes

start_coordinator
for h in "${HOSTS[@]}"; do
  labels_var="BDCOORD_TESTBED_${h^^}_LABELS"
  start_agent "${h}" --label "${!labels_var}"
done
wait_until 30 "the agents did not connect" all_connected

t_apply=$(date +%s.%N)
timeout 300 "${BDCOORD}" apply "${SPEC}" --coordinator "${sock}" >"${work}/apply.out" 2>&1 ||
  fail "apply: $(tail -30 "${work}/apply.out")"
t_ready=$(date +%s.%N)
grep -q "11/11 instances ready, done" "${work}/apply.out" || fail "apply summary: $(tail -5 "${work}/apply.out")"
elapsed() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$1" "$2"; }
echo "ok: apply: 11/11 ready (zk serving, kafka started, namenode formatted, datanodes reported) in $(elapsed "${t_apply}" "${t_ready}") s"

"${BDCOORD}" status --coordinator "${sock}" -o json >"${work}/status.json" || fail "status"
host_of() {
  python3 -c 'import json,sys; print({i["name"]: i["host"] for c in json.load(open(sys.argv[1]))["clusters"] for i in c["instances"]}[sys.argv[2]])' \
    "${work}/status.json" "$1"
}
declare -A HOST_OF
for n in zk1 zk2 zk3 kafka1 kafka2 kafka3 namenode1 datanode1 datanode2 datanode3; do HOST_OF[${n}]=$(host_of "${n}"); done
for s in zk kafka datanode; do
  [[ $(printf '%s\n' "${HOST_OF[${s}1]}" "${HOST_OF[${s}2]}" "${HOST_OF[${s}3]}" | sort -u | wc -l) -eq 3 ]] ||
    fail "${s}: not on 3 distinct hosts: ${HOST_OF[${s}1]} ${HOST_OF[${s}2]} ${HOST_OF[${s}3]}"
done
echo "ok: zk on ${HOST_OF[zk1]} ${HOST_OF[zk2]} ${HOST_OF[zk3]}, kafka on ${HOST_OF[kafka1]} ${HOST_OF[kafka2]} ${HOST_OF[kafka3]}, namenode on ${HOST_OF[namenode1]}, datanodes on ${HOST_OF[datanode1]} ${HOST_OF[datanode2]} ${HOST_OF[datanode3]}"

# inside NAME CMD...: CMD in instance NAME's container (stdin passed on).
inside() { local n=$1; shift; dockerh "${HOST_OF[${n}]}" exec -i "${n}" "$@"; }
TOOL_JVM=(java -Xms16m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true)
zk_tool() { local n=$1; shift; inside "${n}" "${TOOL_JVM[@]}" -cp '/opt/zookeeper/lib/*' "$@" </dev/null; }
hdfs_tool() { local n=$1; shift; inside "${n}" "${TOOL_JVM[@]}" -cp '/etc/hadoop:/opt/hadoop/lib/*' "$@" </dev/null; }
kafka_tool() { local n=$1; shift; inside "${n}" "${TOOL_JVM[@]}" -cp '/opt/kafka/lib/*' "$@"; }
# mode zkN: its `srvr` Mode (leader, follower, ...), empty when it does not answer. `srvr` is
# ZooKeeper's four-letter word on the client port; sent with perl (in the image's Debian root)
# because a JVM per question (FourLetterWordMain) costs seconds on this machine.
SRVR='my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:2181", Timeout => 2) or exit 1;
  print $s "srvr"; local $/; print(<$s> // "")'
mode() { inside "$1" perl -MIO::Socket::INET -e "${SRVR}" </dev/null 2>/dev/null | sed -n 's/^Mode: //p' || true; }
declare -A MODE
read_modes() { local n; for n in zk1 zk2 zk3; do MODE[${n}]=$(mode "${n}"); done; }
count_mode() { local n c=0; for n in zk1 zk2 zk3; do [[ ${MODE[${n}]} == "$1" ]] && c=$((c + 1)); done; echo "${c}"; }
modes_text() { echo "zk1=${MODE[zk1]:-none} zk2=${MODE[zk2]:-none} zk3=${MODE[zk3]:-none}"; }

# ZooKeeper: one leader, two followers.
read_modes
[[ $(count_mode leader) -eq 1 && $(count_mode follower) -eq 2 ]] ||
  fail "zookeeper: want 1 leader and 2 followers, srvr says $(modes_text)"
echo "ok: zookeeper srvr: $(modes_text)"

# A znode through zk1, read back through zk3 (another host).
value="written-through-zk1-$$"
zk_tool zk1 org.apache.zookeeper.ZooKeeperMain -server zk1.bigdata.lan:2181 \
  create /bdcoord-real "${value}" >"${work}/zk-create.out" 2>"${work}/zk-create.err" ||
  fail "zookeeper: create /bdcoord-real through zk1: $(cat "${work}/zk-create.out")"
zk_tool zk3 org.apache.zookeeper.ZooKeeperMain -server zk3.bigdata.lan:2181 \
  get /bdcoord-real >"${work}/zk-get.out" 2>"${work}/zk-get.err" || fail "zookeeper: get /bdcoord-real through zk3"
grep -qx "${value}" "${work}/zk-get.out" ||
  fail "zookeeper: /bdcoord-real read through zk3 is not '${value}': $(cat "${work}/zk-get.out")"
echo "ok: zookeeper: /bdcoord-real written through zk1 (${HOST_OF[zk1]}), read through zk3 (${HOST_OF[zk3]})"

# Kafka: the 3 brokers registered, each advertising its FQDN.
zk_tool zk2 org.apache.zookeeper.ZooKeeperMain -server zk2.bigdata.lan:2181 \
  ls /kafka/brokers/ids >"${work}/brokers.out" 2>"${work}/brokers.err" || fail "kafka: ls /kafka/brokers/ids"
grep -qx '\[1, 2, 3\]' "${work}/brokers.out" || fail "kafka: brokers in ZooKeeper: $(cat "${work}/brokers.out")"
echo "ok: kafka: brokers [1, 2, 3] registered in ZooKeeper (/kafka/brokers/ids)"

# A topic with 3 partitions, replication factor 3, every partition with 3 in-sync replicas.
kafka_tool kafka1 org.apache.kafka.tools.TopicCommand --bootstrap-server kafka1.bigdata.lan:9092 \
  --create --topic "${TOPIC}" --partitions 3 --replication-factor 3 </dev/null >"${work}/topic.out" 2>&1 ||
  fail "kafka: create topic: $(tail -5 "${work}/topic.out")"
in_sync() {
  kafka_tool kafka3 org.apache.kafka.tools.TopicCommand --bootstrap-server kafka3.bigdata.lan:9092 \
    --describe --topic "${TOPIC}" </dev/null >"${work}/describe.out" 2>/dev/null || return 1
  [[ $(grep -cE $'Partition: [0-9]+\tLeader: [0-9]+\tReplicas: [0-9],[0-9],[0-9]\tIsr: [0-9],[0-9],[0-9]' "${work}/describe.out") -eq 3 ]]
}
wait_until 60 "kafka: topic ${TOPIC} is not 3 partitions with 3 in-sync replicas each (describe.out below)" in_sync
echo "ok: kafka: topic ${TOPIC}: 3 partitions, replication factor 3, all in sync"

# Produced through kafka1 (acks=all), consumed through kafka2 on another host: none lost.
seq -f "message-%g" 1 "${MESSAGES}" >"${work}/sent"
kafka_tool kafka1 kafka.tools.ConsoleProducer --bootstrap-server kafka1.bigdata.lan:9092 --topic "${TOPIC}" \
  --producer-property acks=all <"${work}/sent" >"${work}/produce.out" 2>&1 ||
  fail "kafka: produce through kafka1: $(tail -5 "${work}/produce.out")"
kafka_tool kafka2 org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server kafka2.bigdata.lan:9092 \
  --topic "${TOPIC}" --from-beginning --max-messages "${MESSAGES}" --timeout-ms 60000 </dev/null \
  >"${work}/received" 2>"${work}/consume.err" || fail "kafka: consume through kafka2: $(tail -5 "${work}/consume.err")"
sort "${work}/sent" >"${work}/sent.sorted"
sort "${work}/received" >"${work}/received.sorted"
cmp -s "${work}/sent.sorted" "${work}/received.sorted" ||
  fail "kafka: consumed $(wc -l <"${work}/received") of ${MESSAGES} messages, differing: $(comm -3 "${work}/sent.sorted" "${work}/received.sorted" | head -5)"
echo "ok: kafka: ${MESSAGES} messages produced through kafka1 (${HOST_OF[kafka1]}), consumed through kafka2 (${HOST_OF[kafka2]}), none lost"

# HDFS: the 3 DataNodes registered (ip-hostname-check on: their IPs reverse-resolve through
# /etc/hosts); a file written through datanode1 and read back through datanode3 (another host).
hdfs_tool namenode1 org.apache.hadoop.hdfs.tools.DFSAdmin -report >"${work}/dfsadmin.out" 2>"${work}/dfsadmin.err" ||
  fail "hdfs: dfsadmin -report"
grep -q "^Live datanodes (3):" "${work}/dfsadmin.out" || fail "hdfs: dfsadmin -report: $(grep -i datanodes "${work}/dfsadmin.out")"
for i in 1 2 3; do
  grep -q "datanode${i}\.bigdata\.lan" "${work}/dfsadmin.out" || fail "hdfs: datanode${i} is not registered by its FQDN"
done
echo "ok: hdfs: Live datanodes (3), registered as datanode1..3.bigdata.lan (ip-hostname-check on)"
inside datanode1 sh -c 'head -c 4194304 /dev/urandom >/tmp/real-check && sha256sum </tmp/real-check' </dev/null >"${work}/hdfs-sent.sum" ||
  fail "hdfs: make a file in datanode1"
hdfs_tool datanode1 org.apache.hadoop.fs.FsShell -put /tmp/real-check /real-check >"${work}/hdfs-put.out" 2>&1 ||
  fail "hdfs: -put through datanode1: $(tail -5 "${work}/hdfs-put.out")"
inside datanode3 sh -c "java ${TOOL_JVM[*]:1} -cp '/etc/hadoop:/opt/hadoop/lib/*' org.apache.hadoop.fs.FsShell -cat /real-check | sha256sum" \
  </dev/null >"${work}/hdfs-read.sum" 2>"${work}/hdfs-cat.err" || fail "hdfs: -cat through datanode3"
cmp -s "${work}/hdfs-sent.sum" "${work}/hdfs-read.sum" ||
  fail "hdfs: checksum written $(cat "${work}/hdfs-sent.sum"), read back $(cat "${work}/hdfs-read.sum")"
echo "ok: hdfs: 4 MB written through datanode1 (${HOST_OF[datanode1]}), read back through datanode3 (${HOST_OF[datanode3]}), same sha256"
t_checked=$(date +%s.%N)
echo "figure: apply to every check passing: $(elapsed "${t_apply}" "${t_checked}") s (apply to ready: $(elapsed "${t_apply}" "${t_ready}") s)"

# RSS of every JVM (the container's process 1 is the java command).
rss=""
for n in zk1 zk2 zk3 kafka1 kafka2 kafka3 namenode1 datanode1 datanode2 datanode3; do
  kb=$(inside "${n}" sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/1/status </dev/null) || fail "RSS of ${n}"
  rss+=" ${n}=$((kb / 1024))MB"
done
echo "figure: RSS per JVM:${rss}"

# ZooKeeper failover: the leader's JVM (its container's process) killed with SIGKILL, as a crash
# would -> a new leader within 30 s, and Docker's restart policy (on-failure) brings the killed
# member back, as a follower. (Not `docker kill`: Docker counts that as a manual stop, applies no
# restart policy, and the agent leaves the instance exited: see the README.)
leader=""
for n in zk1 zk2 zk3; do [[ ${MODE[${n}]} == leader ]] && leader=${n}; done
pid=$(dockerh "${HOST_OF[${leader}]}" inspect -f '{{.State.Pid}}' "${leader}") || fail "inspect ${leader}"
kill -KILL "${pid}" || fail "kill -KILL ${pid} (${leader}'s JVM)"
t_kill=$(date +%s.%N)
new_leader() {
  local n
  for n in zk1 zk2 zk3; do
    [[ ${n} == "${leader}" ]] && continue
    [[ $(mode "${n}") == leader ]] && return 0
  done
  return 1
}
wait_until 30 "zookeeper: no new leader within 30 s of killing ${leader}" new_leader
echo "ok: zookeeper: ${leader} (the leader) killed (SIGKILL), a new leader after $(elapsed "${t_kill}" "$(date +%s.%N)") s"
back_as_follower() { [[ $(mode "${leader}") == follower ]]; }
wait_until 60 "zookeeper: the killed ${leader} is not back as a follower" back_as_follower
read_modes
[[ $(count_mode leader) -eq 1 && $(count_mode follower) -eq 2 ]] ||
  fail "zookeeper after failover: want 1 leader and 2 followers, srvr says $(modes_text)"
echo "ok: zookeeper: ${leader} back (restart policy) as a follower after $(elapsed "${t_kill}" "$(date +%s.%N)") s: $(modes_text)"

"${BDCOORD}" down --coordinator "${sock}" >"${work}/down.out" 2>&1 || fail "down: $(cat "${work}/down.out")"
grep -q "^removed 11 instances" "${work}/down.out" || fail "down: $(cat "${work}/down.out")"
for h in "${HOSTS[@]}"; do
  [[ -z $(dockerh "${h}" ps -aq --filter label=io.bdcoord.cluster) ]] || fail "containers left on ${h} after down"
done
echo "ok: down removes the 11 instances (total run $((SECONDS - start)) s)"
