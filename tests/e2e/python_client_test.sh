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
source "${HERE}/testbed_lib.sh"
testbed_setup pyclient pyclient bdcoord-py

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

start_coordinator
racks=()
for h in "${HOSTS[@]}"; do
  rack=r${h#host}
  racks+=("${h}=${rack}")
  start_agent "${h}" --interval 2 --label "rack=${rack}"
done
wait_until 30 "the agents did not connect" all_connected

timeout 240 "${PYTHON}" "${HERE}/python_client_test.py" "${work}/gen" "${sock}" \
  "${BDCOORD_TESTBED_SUBNET}" "${BDCOORD_TESTBED_IMAGE}" "${racks[@]}" >"${work}/python.log" 2>&1 ||
  fail "the Python client: $(cat "${work}/python.log")"
cat "${work}/python.log"
