#!/usr/bin/env bash
# deploy/images/smoke.sh: starts each real system from its image in containers with
# `--network none` (a second process of the same system joins with `--network container:`),
# as the image's non-root user, on new named volumes, checks it with the system's own client,
# and prints figures (start time, JVM RSS). Run `smoke.sh --help`.
set -euo pipefail

readonly ALL=(zookeeper kafka hadoop flink drill)
readonly P=bdcoord-smoke # prefix of every container and volume this script makes
# The small-heap JVM options every check uses (the figures in README.md are with them).
readonly JOPTS=${BDCOORD_SMOKE_JAVA_OPTS:-"-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"}
readonly TIMEOUT=${BDCOORD_SMOKE_TIMEOUT:-120}

usage() {
  cat <<EOF
Usage: smoke.sh [SYSTEM...] [--keep]

Checks the images bdcoord/SYSTEM:latest (default: every system that has an image; one of
${ALL[*]}) on the dockerd of DOCKER_HOST, one system at a time, and prints for each JVM the
seconds from \`docker run\` to the log line that says it serves, and its RSS (VmRSS of the
container's PID 1, the JVM) once the check passed. Java options: \$BDCOORD_SMOKE_JAVA_OPTS
(default: ${JOPTS}). Containers and volumes are named ${P}-*; they are removed at the end
unless --keep. Needs nsenter and curl on the host (Flink's REST API is read from the
JobManager's network namespace).
EOF
}

log() { printf '%s smoke: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
FAILED=()
fail() {
  log "FAIL: $*"
  FAILED+=("$1")
}

cleanup() {
  local ids
  ids=$(docker ps -aq --filter "name=^${P}-")
  [[ -z ${ids} ]] || docker rm -f ${ids} >/dev/null
  ids=$(docker volume ls -q --filter "name=^${P}-")
  [[ -z ${ids} ]] || docker volume rm ${ids} >/dev/null
}

# run NAME IMAGE NETWORK VOLUME:PATH SCRIPT: a detached container running `sh -c SCRIPT` with
# JOPTS in its environment; records the start time in START_<NAME>.
declare -A STARTED
run() {
  local name=$1 image=$2 net=$3 vol=$4 script=$5
  # Under bdcoord every member's name is in /etc/hosts; here the container's own name is (Hadoop
  # resolves it at start). A container that joins another's network shares its name and hosts.
  local names=()
  [[ ${net} != none ]] || names=(--hostname "${P}-${name}" --add-host "${P}-${name}:127.0.0.1")
  STARTED[${name}]=$(date +%s.%N)
  docker run -d --name "${P}-${name}" "${names[@]}" --network "${net}" -v "${P}-${vol}" \
    -e "JOPTS=${JOPTS}" "${image}" sh -c "${script}" >/dev/null
}

# wait_log NAME REGEX: waits for REGEX in the container's log; prints the seconds since run.
wait_log() {
  local name=$1 re=$2 deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    if grep -Eq "${re}" <<<"$(logs "${name}")"; then
      awk -v a="${STARTED[${name}]}" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
      return 0
    fi
    if [[ $(docker inspect -f '{{ .State.Running }}' "${P}-${name}") != true ]]; then
      docker logs --tail 30 "${P}-${name}" >&2
      log "${name} exited before logging /${re}/"
      return 1
    fi
    sleep 0.2
  done
  docker logs --tail 30 "${P}-${name}" >&2
  log "${name}: no /${re}/ in its log after ${TIMEOUT} s"
  return 1
}

# logs NAME: the container's whole log (read into a variable first: `docker logs | grep -q`
# fails under pipefail when grep stops reading early).
logs() { docker logs "${P}-$1" 2>&1 || true; }

rss() { # NAME: the VmRSS of the container's PID 1 (the JVM), in MB
  docker exec "${P}-$1" sh -c 'grep VmRSS /proc/1/status' | awk '{ printf "%d MB", $2 / 1024 }'
}

FIGURES=()
figure() { FIGURES+=("$(printf '%-10s %-34s up in %5s s  RSS %s' "$1" "$2" "$3" "$4")"); }

# --- ZooKeeper: standalone, `srvr` through ZooKeeper's own FourLetterWordMain -----------------

smoke_zookeeper() {
  run zk bdcoord/zookeeper:latest none zk:/var/lib/zookeeper '
    printf "tickTime=2000\ndataDir=/var/lib/zookeeper\nclientPort=2181\nadmin.enableServer=false\n" >/tmp/zoo.cfg
    exec java $JOPTS -cp "/opt/zookeeper/lib/*" org.apache.zookeeper.server.quorum.QuorumPeerMain /tmp/zoo.cfg'
  local t
  t=$(wait_log zk 'binding to port') || return 1
  local out
  out=$(docker exec "${P}-zk" java -XX:TieredStopAtLevel=1 -cp '/opt/zookeeper/lib/*' \
    org.apache.zookeeper.client.FourLetterWordMain localhost 2181 srvr 2>/dev/null)
  grep -q 'Mode: standalone' <<<"${out}" || {
    fail zookeeper "srvr did not answer Mode: standalone: ${out}"
    return 1
  }
  docker exec "${P}-zk" test -d /var/lib/zookeeper/version-2 ||
    fail zookeeper "no version-2 in the dataDir volume"
  log "zookeeper: srvr says $(grep -E '^(Zookeeper version|Mode)' <<<"${out}" | cut -c1-60 | paste -sd' ')"
  figure zookeeper QuorumPeerMain "${t}" "$(rss zk)"
}

# --- Kafka: one broker on that ZooKeeper; a topic, one message produced and consumed ---------

smoke_kafka() {
  docker inspect "${P}-zk" >/dev/null 2>&1 || smoke_zookeeper || return 1
  run kafka bdcoord/kafka:latest "container:${P}-zk" kafka:/var/lib/kafka '
    cat >/tmp/server.properties <<EOF
broker.id=1
zookeeper.connect=localhost:2181
listeners=PLAINTEXT://localhost:9092
advertised.listeners=PLAINTEXT://localhost:9092
log.dirs=/var/lib/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# The log cleaner allocates this buffer on the heap at start (default 128 MB: more than the
# small heap).
log.cleaner.dedupe.buffer.size=16777216
EOF
    exec java $JOPTS -cp "/opt/kafka/lib/*" kafka.Kafka /tmp/server.properties'
  local t
  t=$(wait_log kafka 'started \(kafka.server.KafkaServer\)') || {
    fail kafka "the broker did not start"
    return 1
  }
  local k=(docker exec "${P}-kafka" java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '/opt/kafka/lib/*')
  "${k[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server localhost:9092 --create \
    --topic smoke --partitions 3 --replication-factor 1 >/dev/null 2>&1 || {
    fail kafka "TopicCommand --create failed"
    return 1
  }
  echo "hello from bdcoord" | docker exec -i "${P}-kafka" java -XX:TieredStopAtLevel=1 \
    -cp '/opt/kafka/lib/*' kafka.tools.ConsoleProducer --bootstrap-server localhost:9092 \
    --topic smoke 2>/dev/null
  local got
  got=$("${k[@]}" org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server localhost:9092 \
    --topic smoke --from-beginning --max-messages 1 --timeout-ms 30000 2>/dev/null)
  [[ ${got} == "hello from bdcoord" ]] || {
    fail kafka "consumed '${got}' instead of the produced message"
    return 1
  }
  docker exec "${P}-kafka" sh -c 'ls -d /var/lib/kafka/data/smoke-*' >/dev/null ||
    fail kafka "no partition directory in the log.dirs volume"
  log "kafka: topic smoke (3 partitions) created, produced and consumed: '${got}'"
  figure kafka kafka.Kafka "${t}" "$(rss kafka)"
}

# --- HDFS: NameNode -format, NameNode, a DataNode beside it, a file put and read back --------

readonly HADOOP_CONF='mkdir -p /tmp/conf
cat >/tmp/conf/core-site.xml <<EOF
<configuration>
  <property><name>fs.defaultFS</name><value>hdfs://localhost:8020</value></property>
</configuration>
EOF
cat >/tmp/conf/hdfs-site.xml <<EOF
<configuration>
  <property><name>dfs.namenode.name.dir</name><value>/var/lib/hadoop/name</value></property>
  <property><name>dfs.datanode.data.dir</name><value>/var/lib/hadoop/data</value></property>
  <property><name>dfs.replication</name><value>1</value></property>
</configuration>
EOF
'
smoke_hadoop() {
  local cp='-cp "/tmp/conf:/opt/hadoop/lib/*"'
  run nnformat bdcoord/hadoop:latest none nn:/var/lib/hadoop/name "${HADOOP_CONF}
    exec java \$JOPTS ${cp} org.apache.hadoop.hdfs.server.namenode.NameNode -format -nonInteractive smoke"
  local rc
  rc=$(docker wait "${P}-nnformat")
  grep -q 'has been successfully formatted' <<<"$(logs nnformat)" && ((rc == 0)) || {
    docker logs --tail 20 "${P}-nnformat" >&2
    fail hadoop "NameNode -format failed (exit ${rc})"
    return 1
  }
  run nn bdcoord/hadoop:latest none nn:/var/lib/hadoop/name "${HADOOP_CONF}
    exec java \$JOPTS ${cp} org.apache.hadoop.hdfs.server.namenode.NameNode"
  local t
  t=$(wait_log nn 'NameNode RPC up at') || {
    fail hadoop "the NameNode did not start"
    return 1
  }
  run dn bdcoord/hadoop:latest "container:${P}-nn" dn:/var/lib/hadoop/data "${HADOOP_CONF}
    exec java \$JOPTS ${cp} org.apache.hadoop.hdfs.server.datanode.DataNode"
  local tdn
  tdn=$(wait_log dn 'Successfully sent block report') || {
    fail hadoop "the DataNode did not register"
    return 1
  }
  local sh=(docker exec -i "${P}-dn" sh -c "${HADOOP_CONF}"'
    exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "/tmp/conf:/opt/hadoop/lib/*" "$@"' -)
  echo "hello from bdcoord" | "${sh[@]}" org.apache.hadoop.fs.FsShell -put - /smoke.txt 2>/dev/null || {
    fail hadoop "FsShell -put failed"
    return 1
  }
  local got
  got=$("${sh[@]}" org.apache.hadoop.fs.FsShell -cat /smoke.txt 2>/dev/null </dev/null)
  [[ ${got} == "hello from bdcoord" ]] || {
    fail hadoop "FsShell -cat gave '${got}'"
    return 1
  }
  local live
  live=$("${sh[@]}" org.apache.hadoop.hdfs.tools.DFSAdmin -report 2>/dev/null </dev/null |
    grep -m1 'Live datanodes')
  log "hadoop: ${live}; /smoke.txt written and read back"
  figure hadoop NameNode "${t}" "$(rss nn)"
  figure hadoop DataNode "${tdn}" "$(rss dn)"
}

# --- Flink: a JobManager and a TaskManager; the REST API lists the TaskManager's slots -------

readonly FLINK_CONF='mkdir -p /tmp/conf
cat >/tmp/conf/config.yaml <<EOF
jobmanager.rpc.address: localhost
jobmanager.bind-host: 0.0.0.0
jobmanager.memory.process.size: 512m
rest.address: localhost
rest.bind-address: 0.0.0.0
taskmanager.bind-host: 0.0.0.0
taskmanager.host: localhost
taskmanager.numberOfTaskSlots: 2
# TaskManagerRunner started without the Flink scripts needs every memory component set (the
# scripts compute them with BashJavaUtils and pass them as -D): heap 64+128 MB, direct
# 64+0+32 MB (so -Xmx192m -XX:MaxDirectMemorySize=96m or more).
taskmanager.cpu.cores: 2
taskmanager.memory.framework.heap.size: 64m
taskmanager.memory.task.heap.size: 128m
taskmanager.memory.managed.size: 64m
taskmanager.memory.network.min: 32m
taskmanager.memory.network.max: 32m
taskmanager.memory.framework.off-heap.size: 64m
taskmanager.memory.task.off-heap.size: 0m
taskmanager.memory.jvm-metaspace.size: 128m
taskmanager.memory.jvm-overhead.min: 64m
taskmanager.memory.jvm-overhead.max: 64m
io.tmp.dirs: /var/lib/flink/tmp
high-availability.type: zookeeper
high-availability.zookeeper.quorum: localhost:2181
high-availability.cluster-id: /smoke
high-availability.storageDir: file:///var/lib/flink/ha
EOF
mkdir -p /var/lib/flink/tmp
'
smoke_flink() {
  # High availability through the ZooKeeper above: the JobManager serves once it is leader.
  docker inspect "${P}-zk" >/dev/null 2>&1 || smoke_zookeeper || return 1
  run jm bdcoord/flink:latest "container:${P}-zk" jm:/var/lib/flink "${FLINK_CONF}
    exec java \$JOPTS -cp '/opt/flink/lib/*' \
      org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir /tmp/conf"
  local t
  t=$(wait_log jm 'Rest endpoint listening at') || {
    fail flink "the JobManager did not start"
    return 1
  }
  run tm bdcoord/flink:latest "container:${P}-jm" tm:/var/lib/flink "${FLINK_CONF}
    exec java \$JOPTS -Xmx192m -XX:MaxDirectMemorySize=128m -cp '/opt/flink/lib/*' \
      org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir /tmp/conf"
  local ttm
  ttm=$(wait_log tm 'Successful registration at resource manager') || {
    fail flink "the TaskManager did not register"
    return 1
  }
  local pid out
  pid=$(docker inspect -f '{{ .State.Pid }}' "${P}-jm")
  grep -q 'http://localhost:8081 was granted leadership' <<<"$(logs jm)" ||
    fail flink "the JobManager's REST endpoint was not granted leadership through ZooKeeper"
  out=$(nsenter -t "${pid}" -n curl -sf http://127.0.0.1:8081/overview) || {
    fail flink "no answer from the REST API on 8081"
    return 1
  }
  grep -q '"taskmanagers":1' <<<"${out}" && grep -q '"slots-total":2' <<<"${out}" || {
    fail flink "REST /overview: ${out}"
    return 1
  }
  local zk
  zk=$(docker exec "${P}-zk" java -XX:TieredStopAtLevel=1 -cp '/opt/zookeeper/lib/*' \
    org.apache.zookeeper.ZooKeeperMain -server localhost:2181 ls /flink/smoke/leader 2>/dev/null |
    tail -n 1)
  grep -q rest_server <<<"${zk}" || fail flink "no leader znodes under /flink/smoke/leader: ${zk}"
  log "flink: REST /overview: ${out}; ZooKeeper /flink/smoke/leader: ${zk}"
  figure flink StandaloneSessionClusterEntrypoint "${t}" "$(rss jm)"
  figure flink TaskManagerRunner "${ttm}" "$(rss tm)"
}

# --- Drill: one drillbit on the ZooKeeper above ------------------------------------------------

smoke_drill() {
  docker inspect "${P}-zk" >/dev/null 2>&1 || smoke_zookeeper || return 1
  run drill bdcoord/drill:latest "container:${P}-zk" drill:/var/lib/drill '
    mkdir -p /tmp/conf
    cat >/tmp/conf/drill-override.conf <<EOF
drill.exec: { cluster-id: "smoke", zk.connect: "localhost:2181",
  sys.store.provider.local.path: "/var/lib/drill", tmp.directories: ["/var/lib/drill/tmp"] }
EOF
    exec java $JOPTS -XX:MaxDirectMemorySize=512m -Ddrill.exec.enable-epoll=false \
      --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
      --add-opens java.base/java.net=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED \
      -cp "/tmp/conf:/opt/drill/lib/*" org.apache.drill.exec.server.Drillbit'
  local t
  t=$(wait_log drill 'Startup completed') || {
    fail drill "the drillbit did not start"
    return 1
  }
  local pid out zk
  pid=$(docker inspect -f '{{ .State.Pid }}' "${P}-drill")
  out=$(nsenter -t "${pid}" -n curl -sf -H 'Content-Type: application/json' \
    -d '{"queryType":"SQL","query":"select hostname, user_port, state from sys.drillbits"}' \
    http://127.0.0.1:8047/query.json | tr -d '\n') || true
  grep -q '"state":"ONLINE"' <<<"${out}" || {
    fail drill "SQL on sys.drillbits through the REST API on 8047: ${out}"
    return 1
  }
  zk=$(docker exec "${P}-zk" java -XX:TieredStopAtLevel=1 -cp '/opt/zookeeper/lib/*' \
    org.apache.zookeeper.ZooKeeperMain -server localhost:2181 ls /drill/smoke 2>/dev/null | tail -n 1)
  [[ ${zk} == \[?* ]] || fail drill "no drillbit registered under /drill/smoke: ${zk}"
  log "drill: sys.drillbits says $(grep -o '"rows":\[[^]]*\]' <<<"${out}"); ZooKeeper /drill/smoke: ${zk}"
  figure drill Drillbit "${t}" "$(rss drill)"
}

# --- main --------------------------------------------------------------------------------------

KEEP=0
SYSTEMS=()
for arg in "$@"; do
  case ${arg} in
    --help | -h)
      usage
      exit 0
      ;;
    --keep) KEEP=1 ;;
    -*) printf 'smoke: error: unknown option %s (see --help)\n' "${arg}" >&2 && exit 2 ;;
    *) SYSTEMS+=("${arg}") ;;
  esac
done
if ((${#SYSTEMS[@]} == 0)); then
  for s in "${ALL[@]}"; do
    docker image inspect "bdcoord/${s}:latest" >/dev/null 2>&1 && SYSTEMS+=("${s}")
  done
fi
cleanup
((KEEP)) || trap cleanup EXIT
for s in "${SYSTEMS[@]}"; do
  log "${s}: starting"
  "smoke_${s}" || [[ " ${FAILED[*]} " == *" ${s} "* ]] || fail "${s}" "see above"
done
printf '%s\n' "${FIGURES[@]}"
if ((${#FAILED[@]} > 0)); then
  log "failed: ${FAILED[*]}"
  exit 1
fi
log "passed: ${SYSTEMS[*]}"
