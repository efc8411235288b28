#!/usr/bin/env python3
"""Profile of the cold read path through workers (issue 3's missed target).

Three fake workers on 127.0.0.2-4, a cluster mount over them, 4 x 256 MiB files read cold by
4 parallel fio jobs (1 MiB sequential) while `perf record -e cpu-clock` samples the daemon.
Prints fio's throughput, the CPU seconds of the daemon and of the workers, and the daemon's
top symbols by self time; writes them to <out>/profile.txt. As root (FUSE, drop_caches, perf).

    bench/profile_cold.py <alluxio-fuse> <fake_worker> <out dir> [--mib 256] [--call-graph]

--call-graph records DWARF call chains too, adds the top callers of the hottest symbols
(perf report --children) to profile.txt and keeps perf.data for `perf report -i` by hand
(large: a few hundred MiB).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("fake_worker")
    ap.add_argument("out")
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--call-graph", action="store_true",
                    help="record DWARF call chains and keep perf.data")
    args = ap.parse_args()
    os.environ["AF_BINARY"] = os.path.abspath(args.binary)
    os.environ["AF_FAKE_WORKER"] = os.path.abspath(args.fake_worker)
    import harness  # noqa: E402 (reads AF_BINARY / AF_FAKE_WORKER at import)

    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=harness.TMP_ROOT, prefix="af-profile-cold-")
    ufs = os.path.join(tmp, "ufs")
    os.makedirs(ufs)
    chunk = os.urandom(1 << 20)
    for i in range(4):
        with open(os.path.join(ufs, "f%d" % i), "wb") as f:
            for j in range(args.mib):
                f.write(chunk[j % 7:] + chunk[:j % 7])
    root = "file://" + ufs
    workers, mount, perf = [], None, None
    try:
        workers = [harness.FakeWorker({root: ufs}, bind="127.0.0.%d" % (i + 2)) for i in range(3)]
        mount = harness.Mount(tmp, {"ufs_root": root,
                                    "worker_hosts": ",".join(w.address for w in workers),
                                    "page_cache": {"dir": os.path.join(tmp, "pages")}},
                              name="mnt")
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        data = os.path.join(args.out, "perf.data")
        record = ["perf", "record", "-q", "-e", "cpu-clock", "-p", str(mount.proc.pid), "-o", data]
        if args.call_graph:
            record[3:3] = ["--call-graph", "dwarf,16384"]
        perf = subprocess.Popen(record,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        pids = [mount.proc.pid] + [w.proc.pid for w in workers]
        before = [cpu_seconds(p) for p in pids]
        fio = ["fio", "--output-format=json", "--rw=read", "--bs=1m", "--ioengine=psync",
               "--group_reporting"]
        for i in range(4):
            fio += ["--name=j%d" % i, "--filename=" + mount.path("f%d" % i)]
        out = subprocess.run(fio, check=True, capture_output=True, text=True, timeout=600).stdout
        after = [cpu_seconds(p) for p in pids]
        perf.send_signal(2)
        perf.wait(timeout=60)
        perf = None
        mibs = json.loads(out)["jobs"][0]["read"]["bw_bytes"] / (1 << 20)
        report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort",
                                 "symbol", "--stdio", "-q"], capture_output=True, text=True,
                                timeout=300).stdout
        top = []
        for line in report.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0].endswith("%"):
                top.append("%8s %s %s" % (parts[0], parts[1], " ".join(
                    p for p in parts[2:] if p != "-")))
        top = top[:20]
        callers = []
        if args.call_graph:
            # Inclusive time, callers folded in: which of our functions the copies run under.
            tree = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "symbol",
                                   "--stdio", "-q", "-g", "caller,0.5,callee,function,percent",
                                   "--percent-limit", "3"], capture_output=True, text=True,
                                  timeout=900).stdout
            callers = ["", "inclusive time with call chains (perf report --children, >= 3 %):"]
            callers += [line.rstrip() for line in tree.splitlines() if line.strip()][:200]
        lines = ["binary: %s" % os.path.abspath(args.binary),
                 "cold seq read, 4 x %d MiB, 4 fio jobs: %.0f MiB/s" % (args.mib, mibs),
                 "CPU seconds during the read: daemon %.2f, workers %s" % (
                     after[0] - before[0],
                     ", ".join("%.2f" % (a - b) for a, b in zip(after[1:], before[1:]))),
                 "", "daemon self time by symbol (perf cpu-clock):"] + top + callers
        if args.call_graph:
            lines.append("perf.data kept: " + data)
        else:
            os.unlink(data)
        with open(os.path.join(args.out, "profile.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        if perf is not None:
            perf.kill()
        if mount is not None:
            mount.stop()
        for w in workers:
            w.stop()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
