#!/usr/bin/env bash
# Installs dependencies, builds, creates a small sample dataset, starts three fake Alluxio
# workers on loopback (127.0.0.2-4, the test fixture that speaks the worker REST API, serving
# the dataset as their UFS), mounts through them with alluxio-fuse, lists and reads, shows which
# worker each file went to, and leaves the mount and the workers up. Run as root on Debian 12.
#
#   scripts/demo.sh                # cluster mode through three fake workers, at /mnt/alluxio-demo
#   scripts/demo.sh --standalone   # no workers: serve the local directory directly
#   MOUNTPOINT=/mnt/x scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MOUNTPOINT=${MOUNTPOINT:-/mnt/alluxio-demo}
DEMO=${DEMO_DIR:-/var/tmp/alluxio-fuse-demo}
PORT=${DEMO_WORKER_PORT:-28580}
MODE=cluster
for arg in "$@"; do
  case "$arg" in
    --standalone) MODE=standalone ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh
echo "== building"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target alluxio-fuse fake_worker

BIN="$ROOT/build/alluxio-fuse"
WORKER_BIN="$ROOT/build/tests/fake_worker/fake_worker"
if grep -q " $MOUNTPOINT fuse" /proc/mounts; then
  echo "== unmounting the previous demo mount at $MOUNTPOINT"
  "$BIN" unmount "$MOUNTPOINT" || "$BIN" unmount --lazy "$MOUNTPOINT"
fi
if [ -f "$DEMO/workers.pid" ]; then
  echo "== stopping the previous demo's fake workers"
  xargs -r kill < "$DEMO/workers.pid" 2>/dev/null || true
  rm -f "$DEMO/workers.pid"
fi

echo "== creating a sample dataset in $DEMO/ufs"
mkdir -p "$DEMO/ufs/train" "$DEMO/ufs/val" "$DEMO/logs" "$MOUNTPOINT"
for i in 0 1 2 3; do
  head -c $((3 * 1024 * 1024 + i * 1000)) /dev/urandom > "$DEMO/ufs/train/part-0000$i.bin"
done
printf 'id,label\n1,cat\n2,dog\n' > "$DEMO/ufs/val/labels.csv"
echo "hello from the under-store" > "$DEMO/ufs/README.txt"

HOSTS="127.0.0.2 127.0.0.3 127.0.0.4"
if [ "$MODE" = cluster ]; then
  echo "== starting three fake workers on ${HOSTS// /, } port $PORT"
  peers=$(for h in $HOSTS; do printf '%s:%s,' "$h" "$PORT"; done)
  peers=${peers%,}
  for h in $HOSTS; do
    setsid "$WORKER_BIN" --bind "$h" --port "$PORT" --ufs-map "file://$DEMO/ufs=$DEMO/ufs" \
      --peers "$peers" > "$DEMO/logs/worker-$h.out" 2>&1 < /dev/null &
    echo $! >> "$DEMO/workers.pid"
  done
  for h in $HOSTS; do
    for _ in $(seq 100); do
      grep -q LISTENING "$DEMO/logs/worker-$h.out" 2>/dev/null && break
      sleep 0.1
    done
    grep -q LISTENING "$DEMO/logs/worker-$h.out" || { echo "fake worker $h did not start" >&2; exit 1; }
  done
  MEMBERSHIP="# Cluster mode: three workers, the same consistent-hash ring as the Alluxio clients.
worker_hosts: \"${peers}\""
else
  MEMBERSHIP="# Standalone mode: serve the local directory with the local caches in front."
fi

cat > "$DEMO/conf.yaml" <<YAML
$MEMBERSHIP
ufs_root: file://$DEMO/ufs
logger:
  path: $DEMO/logs
  level: INFO
page_cache:
  dir: $DEMO/cache
  capacity: 1GiB
write:
  staging_dir: $DEMO/staging
metrics:
  enabled: false
YAML

echo "== mounting: alluxio-fuse mount $MOUNTPOINT --config $DEMO/conf.yaml"
"$BIN" mount "$MOUNTPOINT" --config "$DEMO/conf.yaml"

echo "== ls -lR $MOUNTPOINT"
ls -lR "$MOUNTPOINT"
echo "== cat $MOUNTPOINT/README.txt"
cat "$MOUNTPOINT/README.txt"
echo "== cat $MOUNTPOINT/val/labels.csv"
cat "$MOUNTPOINT/val/labels.csv"
echo "== sha256 through the mount vs. the source"
for f in train/part-00000.bin train/part-00001.bin train/part-00002.bin train/part-00003.bin; do
  a=$(sha256sum < "$MOUNTPOINT/$f" | cut -d' ' -f1)
  b=$(sha256sum < "$DEMO/ufs/$f" | cut -d' ' -f1)
  [ "$a" = "$b" ] && echo "  $f: $a (equal)" || { echo "  $f: MISMATCH" >&2; exit 1; }
done
if [ "$MODE" = cluster ]; then
  echo "== which worker holds each file (alluxio-fuse route), and the page requests each served"
  "$BIN" route --config "$DEMO/conf.yaml" --count 1 "$MOUNTPOINT"/train/part-0000{0,1,2,3}.bin
  requests() {
    for h in $HOSTS; do
      printf '  %s: %s page requests\n' "$h" "$(curl -fsS "http://$h:$PORT/debug/requests" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["by_endpoint"].get("get_page", 0))')"
    done
  }
  requests
  echo "== reading everything again: served by the local page cache, no new page requests"
  cat "$MOUNTPOINT"/train/* > /dev/null
  requests
fi
echo
echo "The mount is up at $MOUNTPOINT (log: $DEMO/logs/alluxio-fuse.log)."
echo "Unmount with: $BIN unmount $MOUNTPOINT"
if [ "$MODE" = cluster ]; then
  echo "Then stop the fake workers with: xargs kill < $DEMO/workers.pid"
fi
