#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each one for a while from its
# committed seed corpus. Exits non-zero when any target finds a crash, leak or hang; the
# reproducer is saved under $BUILD/fuzz-artifacts/ (replay: <target binary> <file>).
#
#   scripts/fuzz.sh [seconds per target, default 10] [target ...]
#
# New inputs go to $BUILD/fuzz-corpus/<target>/ (never into the repository); copy the few that
# matter into tests/fuzz/corpus/<target>/ by hand. Env: FUZZ_BUILD_DIR (default build-fuzz),
# JOBS (default 2), FUZZ_WERROR (default ON).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECS=${1:-10}
if [ $# -gt 0 ]; then shift; fi
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-2}
ALL_TARGETS="fuzz_worker_info fuzz_worker_listing fuzz_worker_node fuzz_worker_load fuzz_s3_xml
  fuzz_config fuzz_uri fuzz_http_reply"
TARGETS=${*:-$ALL_TARGETS}

echo "== fuzz build (clang, ASan+UBSan+libFuzzer) in $BUILD"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DALLUXIO_FUSE_FUZZ=ON -DALLUXIO_FUSE_INTEGRATION_TESTS=OFF -DALLUXIO_FUSE_LINE_TABLES_ONLY=ON \
  -DALLUXIO_FUSE_WERROR="${FUZZ_WERROR:-ON}" \
  -DCMAKE_PROJECT_INCLUDE="$ROOT/tests/fuzz/attach.cmake" >/dev/null
# shellcheck disable=SC2086
ninja -C "$BUILD" -j "$JOBS" $TARGETS

mkdir -p "$BUILD/fuzz-artifacts"
status=0
for t in $TARGETS; do
  seeds="$ROOT/tests/fuzz/corpus/$t"
  work="$BUILD/fuzz-corpus/$t"
  mkdir -p "$work" "$seeds"
  echo "== $t (${SECS}s)"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds a memory blow-up.
  if ! "$BUILD/tests/fuzz/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD/fuzz-artifacts/$t-" \
      "$work" "$seeds" >"$BUILD/fuzz-artifacts/$t.log" 2>&1; then
    echo "fuzz.sh: $t FAILED; see $BUILD/fuzz-artifacts/$t.log" >&2
    grep -E "ERROR|invariant|SUMMARY|Test unit written" "$BUILD/fuzz-artifacts/$t.log" >&2 || true
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" \
      "$BUILD/fuzz-artifacts/$t.log" | tr '\n' ' '
    echo
  fi
done
if [ "$status" -ne 0 ]; then echo "fuzz.sh: FAILED" >&2; fi
exit "$status"
