#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test (ctest labels unit,
# integration, e2e, real). Unit tests run under AddressSanitizer and UndefinedBehaviorSanitizer;
# then the fuzz targets run briefly (BDCOORD_FUZZ_SECONDS each, default 15, 0 skips).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

BUILD_DIR=${BDCOORD_BUILD_DIR:-build}
JOBS=${BDCOORD_JOBS:-$(nproc)}

deploy/install-deps.sh

echo "== build (${BUILD_DIR})"
cmake -S . -B "${BUILD_DIR}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "${BUILD_DIR}" -j "${JOBS}"

echo "== build with sanitizers (${BUILD_DIR}-asan)"
cmake -S . -B "${BUILD_DIR}-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBDCOORD_SANITIZE=ON \
  -DBDCOORD_BUILD_BENCH=OFF >/dev/null
cmake --build "${BUILD_DIR}-asan" -j "${JOBS}"

echo "== unit tests (ASan/UBSan)"
ctest --test-dir "${BUILD_DIR}-asan" -L unit --output-on-failure -j "${JOBS}"

# Each libFuzzer target briefly (tests/fuzz/run.sh; longer by hand). BDCOORD_FUZZ_SECONDS per
# target, 0 skips the stage.
FUZZ_SECONDS=${BDCOORD_FUZZ_SECONDS:-15}
if [[ ${FUZZ_SECONDS} -gt 0 ]]; then
  echo "== fuzz (${FUZZ_SECONDS} s per target, ${BUILD_DIR}-fuzz)"
  fuzz_start=$(date +%s)
  BDCOORD_FUZZ_BUILD_DIR="${BUILD_DIR}-fuzz" BDCOORD_JOBS="${JOBS}" \
    tests/fuzz/run.sh "${FUZZ_SECONDS}"
  echo "== fuzz stage: $(($(date +%s) - fuzz_start)) s (build included)"
fi

echo "== integration, e2e and real-cluster tests"
ctest --test-dir "${BUILD_DIR}" -L 'integration|e2e|real' --output-on-failure

echo "== all tests passed"
