#!/usr/bin/env bash
# Installs dependencies, builds, creates a small sample dataset, mounts it with alluxio-fuse,
# lists and reads it, and leaves the mount up. Run as root on Debian 12.
#
#   scripts/demo.sh            # mount at /mnt/alluxio-demo
#   MOUNTPOINT=/mnt/x scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MOUNTPOINT=${MOUNTPOINT:-/mnt/alluxio-demo}
DEMO=${DEMO_DIR:-/var/tmp/alluxio-fuse-demo}

bash scripts/install-deps.sh
echo "== building"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target alluxio-fuse

BIN="$ROOT/build/alluxio-fuse"
if grep -q " $MOUNTPOINT fuse" /proc/mounts; then
  echo "== unmounting the previous demo mount at $MOUNTPOINT"
  "$BIN" unmount "$MOUNTPOINT" || "$BIN" unmount --lazy "$MOUNTPOINT"
fi

echo "== creating a sample dataset in $DEMO/ufs"
mkdir -p "$DEMO/ufs/train" "$DEMO/ufs/val" "$DEMO/logs" "$MOUNTPOINT"
for i in 0 1 2 3; do
  head -c $((3 * 1024 * 1024 + i * 1000)) /dev/urandom > "$DEMO/ufs/train/part-0000$i.bin"
done
printf 'id,label\n1,cat\n2,dog\n' > "$DEMO/ufs/val/labels.csv"
echo "hello from the under-store" > "$DEMO/ufs/README.txt"

cat > "$DEMO/conf.yaml" <<YAML
# Standalone mode: serve the local directory with the local caches in front.
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
for f in train/part-00000.bin train/part-00003.bin; do
  a=$(sha256sum < "$MOUNTPOINT/$f" | cut -d' ' -f1)
  b=$(sha256sum < "$DEMO/ufs/$f" | cut -d' ' -f1)
  [ "$a" = "$b" ] && echo "  $f: $a (equal)" || { echo "  $f: MISMATCH" >&2; exit 1; }
done
echo
echo "The mount is up at $MOUNTPOINT (log: $DEMO/logs/alluxio-fuse.log)."
echo "Unmount with: $BIN unmount $MOUNTPOINT"
