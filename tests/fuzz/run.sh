#!/usr/bin/env bash
# Builds the libFuzzer targets if needed (clang, build-fuzz/) and runs each for SECONDS (default
# 60) from its corpus in tests/fuzz/corpus/TARGET, with its dictionary when there is one.
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]   (targets: spec docker_json log_stream
# etc_files tar; default all). New inputs go to build-fuzz/corpus/TARGET (the seeds stay as they
# are); a crash, leak, timeout or OOM is kept under build-fuzz/crashes/TARGET/ and makes the
# script exit 1 after the other targets have run. BDCOORD_FUZZ_JOBS runs that many workers per
# target (default 1). `run.sh --help` for the arguments.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]

Builds the libFuzzer targets with clang in BDCOORD_FUZZ_BUILD_DIR (default build-fuzz) if
needed, then runs each TARGET (spec docker_json log_stream etc_files tar; default all) for
SECONDS (default 60) from its corpus in tests/fuzz/corpus/TARGET. Crashes are kept in the
build directory's crashes/TARGET/ and make it exit 1 after the other targets.
BDCOORD_FUZZ_JOBS: workers per target (default 1).
EOF
}
for arg in "$@"; do
  case ${arg} in
    -h | --help) usage && exit 0 ;;
    -*) echo "fuzz/run.sh: unknown option ${arg} (see --help)" >&2 && exit 2 ;;
  esac
done
cd "$(dirname "$(readlink -f "$0")")/../.."

SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(spec docker_json log_stream etc_files tar)
BUILD_DIR=${BDCOORD_FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${BDCOORD_FUZZ_JOBS:-1}
# Stack traces for UBSan reports too; every report is fatal (-fno-sanitize-recover).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

if [[ ! -f ${BUILD_DIR}/build.ninja ]]; then
  cmake -S . -B "${BUILD_DIR}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DBDCOORD_FUZZ=ON -DBDCOORD_BUILD_TESTS=OFF \
    -DBDCOORD_BUILD_BENCH=OFF >/dev/null
fi
targets=()
for target in "${TARGETS[@]}"; do targets+=("${target}_fuzzer"); done
cmake --build "${BUILD_DIR}" --target "${targets[@]}" -j "${BDCOORD_JOBS:-$(nproc)}"

failed=()
for target in "${TARGETS[@]}"; do
  corpus=${BUILD_DIR}/corpus/${target}
  crashes=${BUILD_DIR}/crashes/${target}
  mkdir -p "${corpus}" "${crashes}"
  args=(-max_total_time="${SECONDS_PER_TARGET}" -timeout=10 -rss_limit_mb=2048
        -max_len=65536 -print_final_stats=1 -artifact_prefix="${crashes}/")
  [[ -f tests/fuzz/dict/${target}.dict ]] && args+=(-dict="tests/fuzz/dict/${target}.dict")
  [[ ${JOBS} -gt 1 ]] && args+=(-fork="${JOBS}" -ignore_crashes=0)
  log=${BUILD_DIR}/crashes/${target}.log
  echo "== fuzz ${target} for ${SECONDS_PER_TARGET} s"
  status=0
  "${BUILD_DIR}/tests/fuzz/${target}_fuzzer" "${args[@]}" "${corpus}" "tests/fuzz/corpus/${target}" \
    >"${log}" 2>&1 || status=$?
  grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "${log}" | tail -2 || true
  if [[ ${status} -ne 0 ]]; then
    echo "fuzz ${target}: FAILED (exit ${status}); log ${log}, inputs in ${crashes}/:"
    ls "${crashes}"
    grep -E -m 5 'ERROR|SUMMARY|runtime error|==[0-9]+==' "${log}" || tail -20 "${log}"
    failed+=("${target}")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: ${failed[*]} failed"
  exit 1
fi
echo "fuzz: ${TARGETS[*]}: no crash in ${SECONDS_PER_TARGET} s each"
