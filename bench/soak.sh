#!/usr/bin/env bash
# Soak run (issue 11; not part of CI): N minutes (default 30) of mixed parallel readers and
# writers through a mount over three fake workers (membership from a real etcd) while one
# worker is killed and restarted, another made slow, and etcd stopped and restarted, in loops. Reports operations, data mismatches (must be 0), errors by errno,
# and the daemon's RSS, open fds and in-flight operations over time, in
# bench/results/<date>-soak/ (report.md, samples.csv, summary.json). As root (needs /dev/fuse).
#
#   bench/soak.sh [minutes] [soak.py options: --readers N --writers N --kill-every S ...]
#
# Uses build/alluxio-fuse and build/tests/fake_worker/fake_worker unless AF_BINARY and
# AF_FAKE_WORKER name other binaries. Exit 1 on a mismatch, a dead daemon or an unusable mount.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
minutes=30
if [[ $# -gt 0 && "$1" != -* ]]; then minutes=$1; shift; fi
export AF_BINARY=${AF_BINARY:-$repo/build/alluxio-fuse}
export AF_FAKE_WORKER=${AF_FAKE_WORKER:-$repo/build/tests/fake_worker/fake_worker}
for b in "$AF_BINARY" "$AF_FAKE_WORKER"; do
  [[ -x "$b" ]] || { echo "soak: $b missing; build first (see README)" >&2; exit 2; }
done
out="$here/results/$(date -u +%Y-%m-%d)-soak"
[[ "$minutes" == "30" ]] || out="$out-${minutes}m"
exec timeout $(( ${minutes%.*} * 60 + 600 )) python3 "$here/soak.py" --minutes "$minutes" --out "$out" "$@"
