#!/usr/bin/env bash
# Runs integration test modules against the ASan+UBSan daemon, so memory and UB errors on the
# real FUSE paths (not only in unit tests) fail CI. The fake worker and s3rver are the normal
# builds (they are fixtures, not the product). A sanitizer report from any daemon fails the
# test that started it (tests/integration/harness.py reads AF_SANITIZER_LOG_DIR); deadline
# assertions are scaled by AF_TIME_SCALE because the instrumented daemon is slower.
#
#   scripts/sanitizer-integration.sh [asan alluxio-fuse] [fake_worker]
#   AF_SAN_MODULES="test_stop test_writes" scripts/sanitizer-integration.sh
#
# Leak checking is off here (a FUSE daemon that is signalled or killed by the tests exits
# through paths LeakSanitizer reports as leaks of still-running threads); the unit tests run
# with detect_leaks=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ASAN_BIN=$(realpath "${1:-build-asan/alluxio-fuse}")
FAKE=$(realpath "${2:-build/tests/fake_worker/fake_worker}")
MODULES=${AF_SAN_MODULES:-"test_foundation test_cli test_stop test_writes test_page_cache test_faults test_s3 test_metrics test_load_doctor test_tls test_secure_defaults test_uring"}
PER_MODULE_TIMEOUT=${AF_SAN_TIMEOUT:-420}

logdir=$(mktemp -d /tmp/af-sanitizer-XXXXXX)
export AF_SANITIZER_LOG_DIR=$logdir AF_TIME_SCALE=${AF_TIME_SCALE:-3}
export AF_BINARY=$ASAN_BIN AF_FAKE_WORKER=$FAKE PYTHONDONTWRITEBYTECODE=1
# test_uring's LD_PRELOAD shim that breaks io_uring_enter, from the same (normal) build.
export AF_FAIL_ENTER_SHIM=${AF_FAIL_ENTER_SHIM:-$(dirname "$(dirname "$FAKE")")/support/libaf_fail_uring_enter.so}
# The write model's steps: 5000 take ~220 s instrumented on a 2-core machine against ~10 s
# uninstrumented (ASan's large allocations); the normal stage runs all 5000 twice (classic
# and io_uring), so the sanitizer pass runs a shorter walk of the same model.
export AF_MODEL_STEPS=${AF_MODEL_STEPS:-1000}
export ASAN_OPTIONS="log_path=$logdir/asan:detect_leaks=0:abort_on_error=1"
export UBSAN_OPTIONS="log_path=$logdir/ubsan:print_stacktrace=1:halt_on_error=1"

status=0
cd "$ROOT/tests/integration"
for m in $MODULES; do
  start=$(date +%s)
  if timeout -k 10 "$PER_MODULE_TIMEOUT" python3 -m unittest "$m" > "$logdir/$m.out" 2>&1; then
    echo "sanitizer-integration: $m passed ($(($(date +%s) - start)) s)"
  else
    status=1
    echo "sanitizer-integration: $m FAILED ($(($(date +%s) - start)) s)" >&2
    tail -n 60 "$logdir/$m.out" >&2
  fi
done
reports=$(find "$logdir" -name 'asan.*' -o -name 'ubsan.*' | head -n 5)
if [ -n "$reports" ]; then
  status=1
  for r in $reports; do
    echo "== $r" >&2
    head -n 60 "$r" >&2
  done
fi
[ "$status" -eq 0 ] && rm -rf "$logdir"
exit "$status"
