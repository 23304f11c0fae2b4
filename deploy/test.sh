#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test (ctest labels unit,
# integration, e2e, real, package). Unit tests run under AddressSanitizer and
# UndefinedBehaviorSanitizer; then the fuzz targets run briefly (BDCOORD_FUZZ_SECONDS each,
# default 15, 0 skips).
# Exits non-zero on any failure. `test.sh --help` for the settings.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: deploy/test.sh

As root on Debian 12 (safe to re-run): installs the Debian packages (deploy/install-deps.sh),
builds BUILD_DIR (RelWithDebInfo) and BUILD_DIR-asan (ASan/UBSan), runs the unit tests under the
sanitizers, each fuzz target briefly (in BUILD_DIR-fuzz), then the integration, e2e and
real-cluster tests, then the .debs installed into a clean Debian 12 root (label package).
Exits non-zero on any failure. Takes no arguments.

Environment:
  BDCOORD_BUILD_DIR     the build directory, BUILD_DIR (default: build)
  BDCOORD_JOBS          parallel build and test jobs (default: nproc)
  BDCOORD_FUZZ_SECONDS  seconds per fuzz target (default: 15; 0 skips the fuzz stage)
EOF
}
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage && exit 0 ;;
    -*) echo "test.sh: unknown option $1 (see --help)" >&2 && exit 2 ;;
    *) echo "test.sh: unexpected argument '$1': it takes none (see --help)" >&2 && exit 2 ;;
  esac
done

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

echo "== the .debs in a clean Debian 12 root"
ctest --test-dir "${BUILD_DIR}" -L package --output-on-failure

echo "== all tests passed"
