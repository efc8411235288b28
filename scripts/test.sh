#!/usr/bin/env bash
# Installs dependencies, builds with warnings as errors, runs clang-tidy on src/, runs every
# test (unit + integration) with ctest, then builds with ASan+UBSan and runs the unit tests
# again plus most integration modules against the instrumented daemon
# (scripts/sanitizer-integration.sh), then builds the concurrency tests with ThreadSanitizer
# and runs them (scripts/tsan.sh), then the fuzzers.
# Exits non-zero on any failure. Needs root (FUSE mounts, apt).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-$(nproc)}

bash scripts/install-deps.sh

# A stuck mount from an earlier run must not hang this one. Only dead or hung ones go: a live
# mount of something else on this machine (a soak, a benchmark) answers statfs and stays.
for m in $(awk '$3 ~ /^fuse.alluxio-fuse/ && $2 ~ /^\/tmp\/af-/ {print $2}' /proc/mounts); do
  timeout -k 2 5 stat -f "$m" >/dev/null 2>&1 && continue
  fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
done

# Every build here (and in tsan.sh, fuzz.sh) keeps line tables only (-g1): backtraces and
# sanitizer reports stay symbolized, and compiles take 30-40 % less time than with full debug
# info (-g), which on a 2-core machine is minutes of the CI budget.
# Each stage's header says how long the run has taken so far (the CI budget is 30 minutes).
stage() { echo "== $* [$((SECONDS / 60)) min $((SECONDS % 60)) s]"; }

stage "build (RelWithDebInfo, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALLUXIO_FUSE_WERROR=ON \
  -DALLUXIO_FUSE_LINE_TABLES_ONLY=ON >/dev/null
cmake --build build -j "$JOBS"
status=0

# The project's .clang-tidy on the product code (tests are not held to it), from the compile
# database of the build above; its WarningsAsErrors makes any finding fail the stage (about
# 3 min on 2 cores). -Wno-unknown-warning-option: the database holds gcc-only warning flags.
# The output keeps the findings only: no colour codes, per-file command lines or counts of
# diagnostics suppressed in system headers.
stage "clang-tidy (src/)"
run-clang-tidy -p build -j "$JOBS" -quiet -extra-arg=-Wno-unknown-warning-option "$ROOT/src/" 2>&1 |
  sed -E -e 's/\x1b\[[0-9;]*m//g' -e '/^clang-tidy(-[0-9]+)? .* -p=build /d' \
    -e '/^[0-9]+ warnings?( and [0-9]+ errors?)? generated\.$/d' || status=1

stage "tests"
ctest --test-dir build --output-on-failure --timeout 900 -j 2 || status=1

stage "sanitizer build (ASan+UBSan), unit tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DALLUXIO_FUSE_SANITIZE=ON \
  -DALLUXIO_FUSE_INTEGRATION_TESTS=OFF -DALLUXIO_FUSE_LINE_TABLES_ONLY=ON >/dev/null
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit --output-on-failure --timeout 300 -j 2 || status=1

stage "sanitizer build (ASan+UBSan), integration tests against the instrumented daemon"
bash scripts/sanitizer-integration.sh build-asan/alluxio-fuse build/tests/fake_worker/fake_worker || status=1

stage "ThreadSanitizer build (the concurrency tests only), ctest -L concurrency"
bash scripts/tsan.sh || status=1

stage "fuzz (libFuzzer, clang; 5 s per target)"
FUZZ_BUILD_DIR=build-fuzz JOBS="$JOBS" bash scripts/fuzz.sh 5 || status=1

stage "done"
if [ "$status" -ne 0 ]; then
  # The reasons of the failed ctest tests again, where the end of a long log shows them.
  python3 scripts/failure_digest.py build build-asan build-tsan || true
  echo "test.sh: FAILED" >&2
fi
exit "$status"
