#!/usr/bin/env bash
# The real cluster (deploy/examples/bigdata-real.yaml: ZooKeeper 3.9.4, Kafka 3.9.1, HDFS 3.4.1,
# Flink 1.20.1, Drill 1.21.2) run by bdcoordd and one bdagent per testbed host, checked with the
# systems' own clients (deploy/real/checks.sh, which `deploy/quickstart.sh --real` prints too):
# - ZooKeeper: exactly one leader and two followers (`srvr`); a znode written through zk1 is
#   read through zk3 (kazoo from the root namespace, through the LAN bridge);
# - Kafka: the 3 brokers registered; a topic with 3 partitions and replication factor 3, every
#   partition fully in sync; messages produced through kafka1 (acks=all) and consumed through
#   kafka2, none lost;
# - HDFS: the 3 DataNodes registered (ip-hostname-check on); 4 MB written through datanode1 and
#   read back through datanode3, same sha256;
# - Flink: the leading JobManager (from ZooKeeper) lists 2 TaskManagers and 4 slots;
# - Drill: the 3 drillbits registered in ZooKeeper under their cluster id, 3 ONLINE by SQL.
# Then failures and growth:
# - ZooKeeper: the leader's container killed (`docker kill`, which Docker counts as a manual
#   stop: no restart policy applies) -> a new leader within 30 s, and the agent starts the
#   killed member again: back as a follower;
# - ZooKeeper: a rolling change of zoo.cfg while a client writes every 100 ms: one member at a
#   time, the leader last; the longest gap between two writes is printed;
# - Kafka: a broker crashes while more messages are produced -> back, the topic fully in sync,
#   every message read through the crashed broker;
# - Flink: the leading JobManager crashes -> the other leads, with both TaskManagers;
# - HDFS: `bdcoord scale datanode 4` -> datanode4 registers with the NameNode, which was not
#   restarted (the live /etc/hosts at work).
# The other crashes are SIGKILL to the container's process (the JVM); Docker's restart policy
# brings it back. Prints the time from `apply` to every check passing and the RSS of every JVM.
# Images: deploy/images/build.sh SYSTEM... builds what is missing on host1's dockerd (or
# DOCKER_HOST's), then `bdcoord images push` sends the spec's images (one `docker save` archive)
# through bdcoordd to the hosts that lack them (every host loaded or skipped); a second push, by
# name, skips every host.
# Usage: real_cluster_test.sh BDCOORDD BDAGENT BDCOORD SOURCE_DIR
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3 SRC=$4
source "${SRC}/tests/e2e/testbed_lib.sh"
testbed_setup real bigdata lan all
source "${SRC}/deploy/real/checks.sh"
REAL_ADDR=${sock} REAL_WORK=${work}
((${#HOSTS[@]} >= 4)) || fail "the real cluster needs the 4-host testbed, have ${#HOSTS[@]}"
# The images are built on host1's dockerd unless told otherwise, then pushed to the others.
export DOCKER_HOST=${DOCKER_HOST:-unix://${BDCOORD_TESTBED_HOST1_SOCK}}
SPEC=${SRC}/deploy/examples/bigdata-real.yaml
SYSTEMS=(zookeeper kafka hadoop flink drill)
INSTANCES=18

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
  real_gateway_down
}
trap real_cleanup EXIT
# A command failing outside a check says where, instead of `set -e` ending the run silently.
trap 'fail "line ${LINENO}: \"${BASH_COMMAND}\" failed"' ERR

start=${SECONDS}
"${SRC}/deploy/images/build.sh" "${SYSTEMS[@]}" >"${work}/images.log" 2>&1 ||
  fail "images: deploy/images/build.sh ${SYSTEMS[*]}: $(tail -15 "${work}/images.log")"
echo "ok: images of ${SYSTEMS[*]} built on ${DOCKER_HOST} ($((SECONDS - start)) s)"
for h in "${HOSTS[@]}"; do
  [[ -z $(dockerh "${h}" ps -aq --filter label=io.bdcoord.cluster) ]] ||
    fail "${h} already runs bdcoord containers: the testbed is not clean"
done
remove_volumes
real_gateway_up || fail "cannot give ${REAL_BRIDGE} the address ${REAL_GATEWAY}"

start_coordinator
for h in "${HOSTS[@]}"; do
  labels_var="BDCOORD_TESTBED_${h^^}_LABELS"
  start_agent "${h}" --label "${!labels_var}"
done
wait_until 30 "the agents did not connect" all_connected

# The spec's images from host1 to the hosts that lack them (one archive), then again by name:
# every host skipped for every image (each ID with its tag is there).
mapfile -t IMAGES < <(real_spec_images "${SPEC}")
((${#IMAGES[@]} == ${#SYSTEMS[@]})) || fail "the spec runs ${IMAGES[*]}, not one image per system"
real_push_images "${IMAGES[@]}"
cp "${work}/push.out" "${work}/push-first.out"
real_push "${IMAGES[@]}"
grep -c "): 0 of ${#HOSTS[@]} hosts lack it$" "${work}/push.out" | grep -qx "${#IMAGES[@]}" ||
  fail "images: the second push sent: $(cat "${work}/push.out")"
echo "ok: images: ${IMAGES[*]} on all ${#HOSTS[@]} hosts; a second push skips every host"

t_apply=$(date +%s.%N)
timeout 420 "${BDCOORD}" apply "${SPEC}" --coordinator "${sock}" >"${work}/apply.out" 2>&1 ||
  fail "apply: $(tail -30 "${work}/apply.out")"
t_ready=$(date +%s.%N)
grep -q "${INSTANCES}/${INSTANCES} instances ready, done" "${work}/apply.out" ||
  fail "apply summary: $(tail -5 "${work}/apply.out")"
echo "ok: apply: ${INSTANCES}/${INSTANCES} ready (each serving, by its readiness check) in $(since "${t_apply}") s"

real_locate
distinct() { [[ $(printf '%s\n' "$@" | sort -u | wc -l) -eq $# ]]; }
for s in zk kafka datanode drillbit; do
  distinct "${HOST_OF[${s}1]}" "${HOST_OF[${s}2]}" "${HOST_OF[${s}3]}" ||
    fail "${s}: not on 3 distinct hosts: ${HOST_OF[${s}1]} ${HOST_OF[${s}2]} ${HOST_OF[${s}3]}"
done
distinct "${HOST_OF[jobmanager1]}" "${HOST_OF[jobmanager2]}" || fail "the JobManagers share a host"
for i in 1 2 3; do
  printf '%s\n' "${HOST_OF[datanode1]}" "${HOST_OF[datanode2]}" "${HOST_OF[datanode3]}" |
    grep -qx "${HOST_OF[drillbit${i}]}" || fail "drillbit${i} on ${HOST_OF[drillbit${i}]}, which runs no DataNode"
done
echo "ok: placed: zk on ${HOST_OF[zk1]} ${HOST_OF[zk2]} ${HOST_OF[zk3]}, kafka on ${HOST_OF[kafka1]} ${HOST_OF[kafka2]} ${HOST_OF[kafka3]}, datanodes on ${HOST_OF[datanode1]} ${HOST_OF[datanode2]} ${HOST_OF[datanode3]} with a drillbit each, jobmanagers on ${HOST_OF[jobmanager1]} ${HOST_OF[jobmanager2]}"

real_check_all
grep -q "^Live datanodes (3):" "${work}/dfsadmin.out" || fail "hdfs: not exactly 3 live DataNodes (dfsadmin.out below)"
echo "figure: apply to every check passing: $(since "${t_apply}") s (apply to ready: $(elapsed "${t_apply}" "${t_ready}") s)"

# RSS of every JVM (the container's process 1 is the java command).
rss=""
for n in zk1 zk2 zk3 kafka1 kafka2 kafka3 namenode1 datanode1 datanode2 datanode3 jobmanager1 jobmanager2 \
  taskmanager1 taskmanager2 drillbit1 drillbit2 drillbit3; do
  kb=$(inside "${n}" sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/1/status </dev/null) || fail "RSS of ${n}"
  rss+=" ${n}=$((kb / 1024))MB"
done
echo "figure: RSS per JVM:${rss}"

# crash NAME: SIGKILL to the JVM (the container's process 1), as a crash would.
crash() {
  local pid
  pid=$(dockerh "${HOST_OF[$1]}" inspect -f '{{.State.Pid}}' "$1") || fail "inspect $1"
  kill -KILL "${pid}" || fail "kill -KILL ${pid} ($1's JVM)"
}

# ZooKeeper: the leader's container killed -> a new leader within 30 s; the agent (not Docker,
# for which `docker kill` is a manual stop) starts it again, and it is back as a follower.
read_modes
crashed=$(zk_leader) || fail "zookeeper: no leader to kill: $(modes_text)"
dockerh "${HOST_OF[${crashed}]}" kill "${crashed}" >/dev/null || fail "docker kill ${crashed}"
t_kill=$(date +%s.%N)
new_leader() {
  local n
  for n in zk1 zk2 zk3; do [[ ${n} != "${crashed}" && $(zk mode "${n}") == leader ]] && return 0; done
  return 1
}
wait_until 30 "zookeeper: no new leader within 30 s of crashing ${crashed}" new_leader
echo "ok: zookeeper: ${crashed} (the leader) killed (docker kill), a new leader after $(since "${t_kill}") s"
wait_until 60 "zookeeper: the killed ${crashed} is not back as a follower" one_leader_two_followers
[[ ${MODE[${crashed}]} == follower ]] || fail "zookeeper: ${crashed} came back as ${MODE[${crashed}]}"
echo "ok: zookeeper: ${crashed} back as a follower after $(since "${t_kill}") s: $(modes_text)"

# ZooKeeper: a rolling change of zoo.cfg (syncLimit 5 -> 6) while a client writes every 100 ms
# through the ensemble: one member at a time, each back in the quorum before the next, the
# leader last (update: order: leader_last); the client keeps working. The longest time between
# two successful writes is the figure.
read_modes
leader_before=$(zk_leader) || fail "zookeeper: no leader before the rolling update: $(modes_text)"
sed 's/^        syncLimit=5$/        syncLimit=6/' "${SPEC}" >"${work}/rolled.yaml"
grep -q "syncLimit=6" "${work}/rolled.yaml" || fail "the rolled spec has no syncLimit=6"
/usr/bin/python3 "${REAL_DIR}/zk_client.py" writer \
  "${IP_OF[zk1]}:2181,${IP_OF[zk2]}:2181,${IP_OF[zk3]}:2181" /rolling "${work}/stop-writer" \
  >"${work}/writer.out" 2>"${work}/writer.err" &
writer_pid=$!
pids+=("${writer_pid}")
sleep_until_writes() { [[ $(zk get zk1 /rolling 2>/dev/null || echo 0) -gt 10 ]]; }
wait_until 30 "zookeeper: the writer does not write" sleep_until_writes
t_roll=$(date +%s.%N)
timeout 300 "${BDCOORD}" apply "${work}/rolled.yaml" --coordinator "${sock}" >"${work}/roll.out" 2>&1 ||
  fail "rolling update: $(tail -20 "${work}/roll.out")"
roll_s=$(since "${t_roll}")
grep -q "rollout: 3/3 updated, done" "${work}/roll.out" || fail "rollout: $(tail -10 "${work}/roll.out")"
touch "${work}/stop-writer"
wait "${writer_pid}" || fail "zookeeper writer: $(cat "${work}/writer.err")"
"${BDCOORD}" rollout status -o json --coordinator "${sock}" >"${work}/rollout.json"
last=$(/usr/bin/python3 -c '
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
print(max(steps, key=lambda s: s["released_at_us"])["instance"])' "${work}/rollout.json")
[[ ${last} == "${leader_before}" ]] || fail "zookeeper: ${last} was replaced last, not the leader ${leader_before}"
for n in zk1 zk2 zk3; do
  inside "${n}" grep -qx "syncLimit=6" /etc/zookeeper/zoo.cfg </dev/null ||
    fail "zookeeper: ${n} does not run the new zoo.cfg"
done
wait_until 60 "zookeeper: not one leader and two followers after the rolling update" one_leader_two_followers
read -r writes_ok writes_failed gap <<<"$(sed 's/[a-z_]*=//g' "${work}/writer.out")"
((writes_ok > 0)) || fail "zookeeper: the writer wrote nothing: $(cat "${work}/writer.out")"
echo "ok: zookeeper: zoo.cfg rolled in ${roll_s} s, one member at a time, the leader ${leader_before} last; now $(modes_text)"
echo "figure: zookeeper rolling update: ${writes_ok} writes every 100 ms through it, ${writes_failed} failed, longest gap between two writes ${gap} ms"

# Kafka: kafka3 crashes while more messages are produced (acks=all, 2 in sync suffice) -> back,
# every partition 3 in sync again, every message read through kafka3.
crash kafka3
t_kill=$(date +%s.%N)
produce 1001 2000
wait_until 120 "kafka: kafka3 is not registered again" brokers_registered
wait_until 120 "kafka: after kafka3's crash the topic is not fully in sync (describe.out below)" in_sync
echo "ok: kafka: kafka3 crashed while 1000 more were produced; back and fully in sync after $(since "${t_kill}") s"
consume_all kafka3
echo "ok: kafka: all 2000 messages read through kafka3, none lost"

# Flink: the leading JobManager crashes -> the other leads, and the TaskManagers register with it.
crashed=${FLINK_LEADER}
crash "${crashed}"
t_kill=$(date +%s.%N)
other_leads() { FLINK_LEADER=$(flink_leader) && [[ ${FLINK_LEADER} != "${crashed}" ]]; }
wait_until 60 "flink: no other JobManager leads after ${crashed} crashed" other_leads
wait_until 90 "flink: the new leader ${FLINK_LEADER} does not list 2 TaskManagers and 4 slots (flink-overview.out below)" \
  flink_serves "${FLINK_LEADER}"
echo "ok: flink: ${crashed} (the leader) crashed; ${FLINK_LEADER} leads with 2 TaskManagers, 4 slots after $(since "${t_kill}") s"

# HDFS: a 4th DataNode joins every /etc/hosts live and registers; the NameNode keeps running,
# and so do the drillbits (which depend on `datanode: ready`: depends_on orders first starts).
started() { dockerh "${HOST_OF[$1]}" inspect -f '{{.Id}} {{.State.StartedAt}}' "$1"; }
declare -A was_started
for n in namenode1 drillbit1 drillbit2 drillbit3; do was_started[${n}]=$(started "${n}"); done
t_scale=$(date +%s.%N)
"${BDCOORD}" scale datanode 4 --coordinator "${sock}" >"${work}/scale.out" 2>&1 || fail "scale datanode 4: $(tail -5 "${work}/scale.out")"
wait_until 120 "hdfs: datanode4 did not register (dfsadmin.out below)" live_datanodes 4
grep -q "datanode4\.bigdata\.lan" "${work}/dfsadmin.out" || fail "hdfs: datanode4 is not registered by its FQDN"
for n in namenode1 drillbit1 drillbit2 drillbit3; do
  [[ $(started "${n}") == "${was_started[${n}]}" ]] || fail "hdfs: ${n} was restarted or replaced by the scale"
done
echo "ok: hdfs: scale datanode 4: datanode4 registered by its FQDN after $(since "${t_scale}") s; the NameNode and the drillbits not restarted"

"${BDCOORD}" down --coordinator "${sock}" >"${work}/down.out" 2>&1 || fail "down: $(cat "${work}/down.out")"
grep -q "^removed $((INSTANCES + 1)) instances" "${work}/down.out" || fail "down: $(cat "${work}/down.out")"
for h in "${HOSTS[@]}"; do
  [[ -z $(dockerh "${h}" ps -aq --filter label=io.bdcoord.cluster) ]] || fail "containers left on ${h} after down"
done
echo "ok: down removes the $((INSTANCES + 1)) instances (total run $((SECONDS - start)) s)"
