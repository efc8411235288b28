#!/usr/bin/env bash
# Benchmarks of alluxio-fuse against the local directory, bindfs, s3fs-fuse and rclone mount
# (issues 3, 4, 6, 10). Usage (as root, needs /dev/fuse):
#
#   bench/run.sh [--quick] [bench.py options: --reps N --systems a,b --workloads x,y
#                 --sections matrix,issue3,rss,bigdir,tuning --out DIR]
#
# Installs fio, bindfs, s3fs and rclone with apt-get when missing (bench-only tools, not test
# dependencies), builds alluxio-fuse and fake_worker in Release into build-bench-release/ unless
# AF_BIN and AF_FAKE_WORKER name prebuilt binaries, then runs bench/bench.py, which writes
# bench/results/<date>-<quick|full>/ (samples.jsonl, samples.csv, report.md, meta.json) and
# prints the Markdown tables. Every mount and process it starts is stopped at exit, even on
# failure, and its temp dir (TMPDIR, default /tmp) is removed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"

# shellcheck source=bench/install-tools.sh
source "$here/install-tools.sh"
install_tools bench fio:fio bindfs:bindfs s3fs:s3fs rclone:rclone curl:curl
if [[ ! -d "$repo/tests/s3/node_modules/s3rver" ]]; then
  # The pinned s3rver of the S3 tests (same step as scripts/install-deps.sh).
  command -v npm >/dev/null || { echo "bench: npm missing (scripts/install-deps.sh)" >&2; exit 1; }
  (cd "$repo/tests/s3" && npm ci --silent --no-audit --no-fund >/dev/null)
fi
[[ -e /dev/fuse ]] || { echo "bench: /dev/fuse is missing" >&2; exit 1; }

if [[ -z "${AF_BIN:-}" || -z "${AF_FAKE_WORKER:-}" ]]; then
  build="$repo/build-bench-release"
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$build" -j2 alluxio-fuse fake_worker
  AF_BIN="${AF_BIN:-$build/alluxio-fuse}"
  AF_FAKE_WORKER="${AF_FAKE_WORKER:-$build/tests/fake_worker/fake_worker}"
fi

exec python3 "$here/bench.py" --af-bin "$AF_BIN" --fake-worker "$AF_FAKE_WORKER" "$@"
