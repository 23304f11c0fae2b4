#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: installs dependencies, builds bdcoord, and
# places the 36-container Big Data example (deploy/examples/bigdata.yaml). Safe to re-run.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

BUILD_DIR=${BDCOORD_BUILD_DIR:-build}

deploy/install-deps.sh
cmake -S . -B "${BUILD_DIR}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "${BUILD_DIR}" -j "$(nproc)" --target bdcoord

BDCOORD="${BUILD_DIR}/cli/bdcoord"
echo
echo "== ${BDCOORD} place deploy/examples/bigdata.yaml"
"${BDCOORD}" place deploy/examples/bigdata.yaml
cat <<MSG

Look around:
  ${BDCOORD} place deploy/examples/bigdata.yaml -o hosts            # every container's /etc/hosts
  ${BDCOORD} place deploy/examples/bigdata.yaml --show-config zk1   # rendered zoo.cfg and myid
  ${BDCOORD} place deploy/examples/bigdata.yaml -o json             # for other tools
  ${BDCOORD} place tests/testdata/bad/many_errors.yaml              # what a bad spec gets
MSG
