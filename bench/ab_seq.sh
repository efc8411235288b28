#!/usr/bin/env bash
# A/B of daemon binaries on issue 4's warm sequential read, interleaved round by round with
# bindfs so that the drift of a shared VM (30 % and more within minutes) hits every variant
# alike. Each round: bindfs over the data, then for each binary a fresh page cache, one cold
# read through the mount, a restart on the same cache, and the measured read (fio, 1 MiB psync
# reads of 4 x 256 MiB files, as bench/run.sh's seq). Prints one line per measurement and the
# median ratio of each variant to the bindfs of the same round; writes results.tsv. Each
# measurement also records the daemon's CPU time (user and system, ms, all threads) and context
# switches from its start to the end of that read (it is started just before the read), so a
# slow read shows whether the same work cost more CPU (a slower machine at that moment) or more
# work was done (more switches).
#
#   bench/ab_seq.sh [--rounds N] [--out DIR] NAME=BINARY[,uring] [NAME=BINARY[,uring] ...]
#
# ",uring" serves that variant's mounts over FUSE-over-io_uring (mount.io_uring; the kernel
# switch is turned on for the run and put back at exit). As root; needs fio and bindfs.
# Everything it starts is stopped at exit, even on failure, and its temp dir is removed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/install-tools.sh
source "$here/install-tools.sh"
install_tools ab_seq fio:fio bindfs:bindfs

rounds=8 uring=false out=""
variants=()
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *=*,uring) variants+=("$1"); uring=true; shift ;;
    *=*) variants+=("$1"); shift ;;
    *) echo "ab_seq: unknown argument $1" >&2; exit 2 ;;
  esac
done
((${#variants[@]})) || { echo "ab_seq: give at least one NAME=BINARY" >&2; exit 2; }
out="$(realpath -m "${out:-$here/results/$(date +%F)-ab-seq}")"
mkdir -p "$out"

tmp="$(mktemp -d /tmp/af-ab-XXXXXX)"
switch=/sys/module/fuse/parameters/enable_uring
old_switch=""
pid=""
cleanup() {
  for m in "$tmp/mnt" "$tmp/bmnt"; do fusermount3 -u -q "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
  if [[ -n "$old_switch" ]]; then echo "$old_switch" >"$switch"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
if $uring; then
  [[ -e $switch ]] || { echo "ab_seq: this kernel has no FUSE over io_uring" >&2; exit 1; }
  old_switch=$(cat "$switch")
  echo Y >"$switch"
fi

mkdir -p "$tmp/data" "$tmp/mnt" "$tmp/bmnt" "$tmp/logs"
files=()
for i in 0 1 2 3; do
  head -c $((256 << 20)) /dev/urandom >"$tmp/data/f$i.bin"
  files+=("f$i.bin")
done
for transport in false true; do
  cat >"$tmp/c-$transport.yaml" <<EOF
ufs_root: "file://$tmp/data"
logger: {path: "$tmp/logs", level: WARNING}
page_cache: {dir: "$tmp/cache", capacity: 16GiB}
write: {staging_dir: "$tmp/staging"}
mount: {io_uring: $transport}
EOF
done

seq_read() {  # MiB/s of fio over the four files under $1
  local list
  list=$(printf "$1/%s:" "${files[@]}")
  fio --name=s --rw=read --bs=1m --ioengine=psync --invalidate=0 --readonly \
    --filename="${list%:}" --file_service_type=sequential --output-format=terse 2>/dev/null |
    awk -F';' '{printf "%d", $7 / 1024}'
}
wait_mounted() {
  for _ in $(seq 200); do mountpoint -q "$1" && return 0; sleep 0.05; done
  echo "ab_seq: $1 did not mount" >&2
  exit 1
}
af_up() {  # binary, io_uring (true/false)
  "$1" mount "$tmp/mnt" --config "$tmp/c-$2.yaml" --foreground >>"$tmp/logs/stdout" 2>&1 &
  pid=$!
  wait_mounted "$tmp/mnt"
}
daemon_cpu() {  # "user ms<TAB>system ms<TAB>context switches" of the daemon's threads so far
  local t
  for t in /proc/"$pid"/task/*; do
    # after the ")" that ends the thread's name, field 1 is the state, 12 utime, 13 stime
    { sed 's/.*) //' "$t/stat" && awk '/ctxt_switches/ {n += $2} END {print n + 0}' "$t/status"; } \
      2>/dev/null | paste -sd' '
  done | awk -v tick="$(getconf CLK_TCK)" 'NF > 13 {u += $12; s += $13; c += $NF}
    END {printf "%d\t%d\t%d", u * 1000 / tick, s * 1000 / tick, c}'
}
af_down() {
  fusermount3 -u "$tmp/mnt"
  wait "$pid" || true
  pid=""
}

printf "round\tvariant\tMiB/s\tuser_ms\tsys_ms\tswitches\n" >"$out/results.tsv"
for r in $(seq "$rounds"); do
  bindfs -f --no-allow-other "$tmp/data" "$tmp/bmnt" &
  pid=$!
  wait_mounted "$tmp/bmnt"
  v=$(seq_read "$tmp/bmnt")
  v+=$'\t'$(daemon_cpu)
  fusermount3 -u "$tmp/bmnt"
  wait "$pid" || true
  pid=""
  printf "%s\tbindfs\t%s\n" "$r" "$v" | tee -a "$out/results.tsv"
  for nv in "${variants[@]}"; do
    bin=${nv#*=} ring=false
    if [[ $bin == *,uring ]]; then bin=${bin%,uring} ring=true; fi
    rm -rf "$tmp/cache"
    af_up "$bin" $ring
    seq_read "$tmp/mnt" >/dev/null  # cold: fills the daemon's page cache
    af_down
    af_up "$bin" $ring
    v=$(seq_read "$tmp/mnt")
    v+=$'\t'$(daemon_cpu)
    af_down
    printf "%s\t%s\t%s\n" "$r" "${nv%%=*}" "$v" | tee -a "$out/results.tsv"
  done
done
python3 - "$out/results.tsv" <<'EOF' | tee "$out/summary.txt"
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()[1:]]
base = {r[0]: float(r[2]) for r in rows if r[1] == "bindfs"}
names = [n for n in dict.fromkeys(r[1] for r in rows) if n != "bindfs"]
for n in names:
    mine = [r for r in rows if r[1] == n]
    ratios = sorted(float(r[2]) / base[r[0]] for r in mine)
    mib = statistics.median(float(r[2]) for r in mine)
    print("%-10s median %.0f MiB/s, x bindfs of the same round: median %.2f (%s)"
          % (n, mib, statistics.median(ratios), " ".join("%.2f" % x for x in ratios)))
for n in ["bindfs"] + names:
    mine = [r for r in rows if r[1] == n]
    print("%-10s daemon per read: user %d ms, system %d ms (%d-%d), %d switches (medians)"
          % (n, statistics.median(int(r[3]) for r in mine), statistics.median(int(r[4]) for r in mine),
             min(int(r[4]) for r in mine), max(int(r[4]) for r in mine),
             statistics.median(int(r[5]) for r in mine)))
print("bindfs     median %.0f MiB/s" % statistics.median(base.values()))
EOF
