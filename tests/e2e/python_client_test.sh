#!/usr/bin/env bash
# Another language drives the API: generates Python code from proto/bdcoord/v1/*.proto with
# protoc and grpc_python_plugin (Debian's protobuf-compiler-grpc), starts bdcoordd on a temporary
# socket and one bdagent per testbed host (host1, host2), and runs python_client_test.py against
# it (ListHosts, Place, Apply, GetStatus, Down). Usage: python_client_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$(dirname "${HERE}")")
# Debian's python3 (python3-grpcio, python3-protobuf), not whatever python3 is first on PATH.
PYTHON=/usr/bin/python3
eval "$("${REPO}/deploy/testbed.sh" env)"
work=$(mktemp -d /tmp/bdcoord-pyclient.XXXXXX)
sock="unix://${work}/bdcoordd.sock"
hosts=(host1 host2)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for h in "${hosts[@]}"; do  # this test's containers and network, by their labels
    s="unix:///run/bdcoord-testbed/${h}/docker.sock"
    ids=$(docker -H "${s}" ps -aq --filter label=io.bdcoord.cluster=pyclient 2>/dev/null || true)
    # shellcheck disable=SC2086  # a list of IDs
    if [[ -n ${ids} ]]; then docker -H "${s}" rm -f ${ids} >/dev/null 2>&1 || true; fi
    docker -H "${s}" network rm bdcoord-py >/dev/null 2>&1 || true
  done
  [[ -n ${KEEP:-} ]] || rm -rf "${work}"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "${work}"/*.log; do echo "== ${f}" >&2; tail -20 "${f}" >&2; done
  exit 1
}

plugin=$(command -v grpc_python_plugin) ||
  fail "grpc_python_plugin not found (Debian package protobuf-compiler-grpc; deploy/install-deps.sh)"
"${PYTHON}" -c 'import grpc, google.protobuf' 2>/dev/null ||
  fail "${PYTHON} cannot import grpc and google.protobuf (python3-grpcio, python3-protobuf)"
mkdir -p "${work}/gen"
protoc -I "${REPO}/proto" --python_out="${work}/gen" --grpc_python_out="${work}/gen" \
  --plugin=protoc-gen-grpc_python="${plugin}" "${REPO}"/proto/bdcoord/v1/*.proto ||
  fail "protoc could not generate the Python code"
[[ -f ${work}/gen/bdcoord/v1/cluster_pb2_grpc.py ]] || fail "no cluster_pb2_grpc.py generated"
echo "ok: protoc generated $(find "${work}/gen" -name '*.py' | wc -l) Python modules"

"${BDCOORDD}" --listen "${sock}" --data-dir "${work}/data" 2>"${work}/bdcoordd.log" &
pids+=($!)
racks=()
for h in "${hosts[@]}"; do
  rack=r${h#host}
  racks+=("${h}=${rack}")
  nsenter --net="/var/run/netns/bdcoord-${h}" "${BDAGENT}" --coordinator "${sock}" --host-name "${h}" \
    --docker-socket "/run/bdcoord-testbed/${h}/docker.sock" --config /dev/null --interval 2 \
    --label "rack=${rack}" 2>"${work}/agent-${h}.log" &
  pids+=($!)
done
deadline=$((SECONDS + 30))
until [[ $("${BDCOORD}" hosts --coordinator "${sock}" -o json 2>/dev/null | grep -c '"connected": true') -eq ${#hosts[@]} ]]; do
  ((SECONDS < deadline)) || fail "the agents did not connect"
  sleep 0.2
done

timeout 240 "${PYTHON}" "${HERE}/python_client_test.py" "${work}/gen" "${sock}" \
  "${BDCOORD_TESTBED_SUBNET}" "${BDCOORD_TESTBED_IMAGE}" "${racks[@]}" >"${work}/python.log" 2>&1 ||
  fail "the Python client: $(cat "${work}/python.log")"
cat "${work}/python.log"
