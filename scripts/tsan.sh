#!/usr/bin/env bash
# ThreadSanitizer stage of scripts/test.sh, runnable on its own: builds only the unit tests
# labelled `concurrency` (CMake target concurrency_tests, in build-tsan/) with
# -DALLUXIO_FUSE_TSAN=ON and runs them with `ctest -L concurrency`. Any data race, lock-order
# inversion or other TSan report fails the test that produced it (halt_on_error). Suppressions,
# each with its reason, are in tests/tsan.supp. Prints the stage's wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
start=$(date +%s)

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALLUXIO_FUSE_TSAN=ON \
  -DALLUXIO_FUSE_INTEGRATION_TESTS=OFF -DALLUXIO_FUSE_LINE_TABLES_ONLY=ON ${TSAN_CMAKE_ARGS:-} \
  >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target concurrency_tests
built=$(date +%s)

supp=""
[ -f tests/tsan.supp ] && supp=":suppressions=$(pwd)/tests/tsan.supp"
status=0
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4${supp}" \
  ctest --test-dir "$BUILD_DIR" -L concurrency --output-on-failure --timeout 300 -j 2 || status=1
end=$(date +%s)
echo "tsan: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s"
exit "$status"
