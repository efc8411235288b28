"""Soak run (issue 11): mixed parallel readers and writers through a real mount over three fake
workers for N minutes while the workers misbehave, then a report. Not part of CI (bench/soak.sh
wraps it). Faults, in a loop: one worker is killed (SIGKILL) and restarted on its port after a
pause; another is made slow (fake worker latency knob) for a while, then healed. Membership
comes from a real etcd (Debian's etcd-server; the three workers registered as the Java workers
register themselves), and etcd itself is stopped and restarted every --etcd-restart-every
seconds: the daemon must keep its last good ring while etcd is down and refresh after. Without
an etcd binary (or with --no-etcd) membership is the static worker_hosts list.

Every read is checked byte for byte against the known content (source files are deterministic,
written files are remembered once their close() succeeded), so "mismatches" counts wrong bytes
ever returned. Errors are counted by errno; a clean EIO while a worker is down is expected, a
wrong byte never is. Every 5 s the daemon's RSS, open fds and in-flight FUSE operations are
sampled (samples.csv). At the end the mount must still answer a listing and a read.

Writes: fallback.writes is on, so a commit goes to the UFS when its workers fail.
Output: <out>/report.md, samples.csv, summary.json. Exit 1 on a mismatch or an unusable mount.
"""
import argparse
import collections
import csv
import errno
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from etcd_server import ETCD, Etcd  # noqa: E402

MiB = 1 << 20


def content(seed, size):
    return random.Random(seed).randbytes(size)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = collections.Counter()
        self.errors = collections.Counter()
        self.mismatches = 0
        self.mismatch_detail = []
        self.error_detail = []
        self.t0 = time.monotonic()

    def op(self, kind):
        with self.lock:
            self.ops[kind] += 1

    def error(self, kind, err, what=""):
        name = errno.errorcode.get(err, str(err)) if isinstance(err, int) else str(err)
        with self.lock:
            self.errors["%s:%s" % (kind, name)] += 1
            if len(self.error_detail) < 50:
                self.error_detail.append("%.1fs %s %s %s" % (time.monotonic() - self.t0, kind,
                                                             name, what))

    def mismatch(self, what):
        with self.lock:
            self.mismatches += 1
            if len(self.mismatch_detail) < 20:
                self.mismatch_detail.append(what)


def proc_sample(pid):
    rss_kb = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss_kb = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None, None
    return rss_kb, fds


def in_flight(metrics_addr):
    """Sum of alluxio_fuse_op_in_flight over ops, or None when metrics are unreachable."""
    try:
        with urllib.request.urlopen("http://%s/metrics" % metrics_addr, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith("alluxio_fuse_op_in_flight"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--readers", type=int, default=6)
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--files", type=int, default=24)
    ap.add_argument("--keep", type=int, default=100,
                    help="written files each writer keeps; older ones are unlinked")
    ap.add_argument("--out", required=True)
    ap.add_argument("--kill-every", type=float, default=40, help="seconds between worker kills")
    ap.add_argument("--down-for", type=float, default=10, help="seconds a killed worker stays down")
    ap.add_argument("--slow-ms", type=int, default=300, help="latency of the slow worker")
    ap.add_argument("--no-etcd", action="store_true", help="static worker_hosts membership")
    ap.add_argument("--etcd-restart-every", type=float, default=150,
                    help="seconds between etcd restarts (it stays down --down-for seconds)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    tmp = tempfile.mkdtemp(prefix="af-soak-", dir=harness.TMP_ROOT)
    ufs = os.path.join(tmp, "ufs")
    os.makedirs(os.path.join(ufs, "src"))
    os.makedirs(os.path.join(ufs, "w"))
    root = "file://" + ufs
    sizes = {}
    for i in range(args.files):
        size = random.Random(i).randint(64 * 1024, 6 * MiB)
        sizes["f%03d" % i] = size
        with open(os.path.join(ufs, "src", "f%03d" % i), "wb") as f:
            f.write(content(i, size))

    stats = Stats()
    stop = threading.Event()
    workers, mount, etcd = [], None, None
    events = []
    samples = []
    t0 = time.monotonic()

    def log_event(what):
        events.append((round(time.monotonic() - t0, 1), what))
        print("[%7.1fs] %s" % (time.monotonic() - t0, what), flush=True)

    try:
        # Three loopback hosts on one port (the ring needs distinct hosts); a restarted worker
        # binds its host and port again.
        hosts = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
        port = harness.free_port()

        def start_worker(i):
            return harness.FakeWorker({root: ufs}, bind=hosts[i], port=port)

        workers = [start_worker(i) for i in range(3)]
        membership = {"worker_hosts": ",".join(w.address for w in workers)}
        if not args.no_etcd and os.path.exists(ETCD):
            etcd = Etcd(tmp, name="soak")
            for h in hosts:
                etcd.register(h, port, hashlib.md5(h.encode()).digest())
            membership = {"etcd": {"hosts": "127.0.0.1:%d" % etcd.client_port,
                                   "refresh_interval": "5s", "timeout": "2s"}}
        metrics_port = harness.free_port()
        mount = harness.Mount(tmp, dict(membership, **{
            "ufs_root": root,
            "routing": {"connect_timeout": "1s", "metadata_timeout": "5s", "data_timeout": "10s",
                        "stall_timeout": "5s", "retries": 1, "suspect_backoff_initial": "2s",
                        "suspect_backoff_max": "10s"},
            "fallback": {"enabled": True, "writes": True},
            "metadata": {"ttl": "5s"},
            "page_cache": {"capacity": "256MiB"},
            "metrics": {"enabled": True, "listen": "127.0.0.1:%d" % metrics_port},
        }), name="soak")
        metrics_addr = "127.0.0.1:%d" % metrics_port
        log_event("mounted at %s over %s (membership from %s)" % (
            mount.mountpoint, ", ".join(w.address for w in workers),
            "etcd" if etcd else "worker_hosts"))
        written = {}  # name -> seed,size of files whose close() succeeded
        written_lock = threading.Lock()

        def reader(n):
            rnd = random.Random(1000 + n)
            while not stop.is_set():
                if rnd.random() < 0.2:
                    with written_lock:
                        pick = rnd.choice(list(written.items())) if written else None
                    if pick is None:
                        continue
                    name, (seed, size) = pick
                    path, want_seed, want_size = mount.path("w/" + name), seed, size
                else:
                    name = "f%03d" % rnd.randrange(args.files)
                    path, want_seed, want_size = mount.path("src/" + name), int(name[1:]), \
                        sizes[name]
                try:
                    if rnd.random() < 0.3:
                        with open(path, "rb") as f:
                            got = f.read()
                        if hashlib.sha256(got).digest() != \
                                hashlib.sha256(content(want_seed, want_size)).digest():
                            stats.mismatch("whole %s (%d bytes, want %d)" % (path, len(got),
                                                                              want_size))
                        stats.op("read_whole")
                    else:
                        off = rnd.randrange(want_size)
                        ln = rnd.randint(1, 512 * 1024)
                        with open(path, "rb") as f:
                            f.seek(off)
                            got = f.read(ln)
                        want = content(want_seed, want_size)[off:off + ln]
                        if got != want:
                            stats.mismatch("range %s @%d+%d" % (path, off, ln))
                        stats.op("read_range")
                except OSError as e:
                    with written_lock:
                        raced = e.errno == errno.ENOENT and path.startswith(
                            mount.path("w/")) and name not in written
                    if raced:  # a writer unlinked it after this reader picked it: expected
                        stats.op("read_of_unlinked")
                    else:
                        stats.error("read", e.errno, path)
                if rnd.random() < 0.05:
                    try:
                        os.listdir(mount.path("src"))
                        stats.op("list")
                    except OSError as e:
                        stats.error("list", e.errno, "src")

        def writer(n):
            rnd = random.Random(2000 + n)
            i = 0
            while not stop.is_set():
                i += 1
                name = "w%d-%05d" % (n, i)
                seed, size = 100000 * (n + 1) + i, rnd.randint(1, 3 * MiB)
                try:
                    with open(mount.path("w/" + name), "wb") as f:
                        f.write(content(seed, size))
                    with written_lock:
                        written[name] = (seed, size)
                    stats.op("write")
                except OSError as e:
                    stats.error("write", e.errno, name)
                # Keep the data set bounded (--keep files per writer): delete the oldest ones, so
                # RSS over time measures the daemon, not a directory that grows without end.
                with written_lock:
                    mine = [k for k in written if k.startswith("w%d-" % n)]
                    old = mine[:max(0, len(mine) - args.keep)]
                    for k in old:
                        written.pop(k)
                for k in old:
                    try:
                        os.unlink(mount.path("w/" + k))
                        stats.op("unlink")
                    except OSError as e:
                        stats.error("unlink", e.errno, k)

        def chaos():
            rnd = random.Random(7)
            while not stop.wait(args.kill_every):
                victim = rnd.randrange(3)
                slow = (victim + 1) % 3
                w = workers[victim]
                w.kill()
                log_event("killed worker %s" % w.address)
                try:
                    workers[slow].faults({"latency_ms": args.slow_ms})
                    log_event("worker %s slow (%d ms)" % (workers[slow].address, args.slow_ms))
                except OSError as e:
                    log_event("could not slow %s: %s" % (workers[slow].address, e))
                if stop.wait(args.down_for):
                    return
                try:
                    w.stop()
                    workers[victim] = start_worker(victim)
                    log_event("restarted worker %s" % workers[victim].address)
                except Exception as e:  # noqa: BLE001 - keep soaking; reported below
                    log_event("restart of %s:%d failed: %s" % (hosts[victim], port, e))
                try:
                    workers[slow].faults({})
                    log_event("worker %s healed" % workers[slow].address)
                except OSError:
                    pass

        def etcd_chaos():
            while etcd is not None and not stop.wait(args.etcd_restart_every):
                etcd.stop()
                log_event("stopped etcd")
                if stop.wait(args.down_for):
                    return
                try:
                    etcd.start()
                    log_event("restarted etcd")
                except Exception as e:  # noqa: BLE001 - keep soaking; reported below
                    log_event("etcd restart failed: %s" % e)

        def sampler():
            while not stop.wait(5):
                rss, fds = proc_sample(mount.proc.pid)
                with stats.lock:
                    ops = sum(stats.ops.values())
                    errs = sum(stats.errors.values())
                samples.append({"t_s": round(time.monotonic() - t0, 1), "rss_kib": rss,
                                "open_fds": fds, "in_flight": in_flight(metrics_addr),
                                "ops": ops, "errors": errs, "mismatches": stats.mismatches})

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(args.readers)]
        threads += [threading.Thread(target=writer, args=(i,)) for i in range(args.writers)]
        threads += [threading.Thread(target=chaos), threading.Thread(target=sampler),
                    threading.Thread(target=etcd_chaos)]
        for t in threads:
            t.daemon = True
            t.start()
        deadline = t0 + args.minutes * 60
        while time.monotonic() < deadline and mount.proc.poll() is None:
            time.sleep(1)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        hung = [t.name for t in threads if t.is_alive()]

        # Heal everything, then the mount must answer.
        for i, w in enumerate(workers):
            if w.proc.poll() is not None:
                workers[i] = start_worker(i)
            else:
                w.faults({})
        time.sleep(2)
        usable = False
        try:
            os.listdir(mount.path("src"))
            with open(mount.path("src/f000"), "rb") as f:
                usable = f.read() == content(0, sizes["f000"])
        except OSError as e:
            log_event("final check failed: %s" % e)
        final_in_flight = in_flight(metrics_addr)
        alive = mount.proc.poll() is None
    finally:
        stop.set()
        if mount is not None:
            code = mount.stop()
            log_event("unmounted (exit %s)" % code)
            # The daemon's warnings and errors, for explaining any error counted above.
            with open(os.path.join(args.out, "daemon-warnings.log"), "w") as f:
                f.writelines(line + "\n" for line in mount.log().splitlines()
                             if re.search(r" (warning|error|critical) \[", line))
        for w in workers:
            w.stop()
        if etcd is not None:
            etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    elapsed = time.monotonic() - t0
    rss = [s["rss_kib"] for s in samples if s["rss_kib"]]
    fds = [s["open_fds"] for s in samples if s["open_fds"]]
    summary = {
        "minutes": round(elapsed / 60, 2),
        "ops": dict(stats.ops), "ops_total": sum(stats.ops.values()),
        "errors_by_errno": dict(stats.errors), "mismatches": stats.mismatches,
        "mismatch_examples": stats.mismatch_detail, "error_examples": stats.error_detail,
        "rss_kib": {"first": rss[0] if rss else None, "max": max(rss) if rss else None,
                    "last": rss[-1] if rss else None},
        "open_fds": {"first": fds[0] if fds else None, "max": max(fds) if fds else None,
                     "last": fds[-1] if fds else None},
        "in_flight_at_end": final_in_flight, "daemon_alive_at_end": alive,
        "mount_usable_at_end": usable, "hung_threads": hung, "events": events,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(args.out, "samples.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["t_s", "rss_kib", "open_fds", "in_flight", "ops",
                                          "errors", "mismatches"])
        w.writeheader()
        w.writerows(samples)
    lines = [
        "# Soak run", "",
        "%.1f minutes, %d readers, %d writers, 3 fake workers; a worker killed every %.0f s "
        "(down %.0f s) while another is slowed to %d ms; membership from %s." % (
            elapsed / 60, args.readers, args.writers, args.kill_every, args.down_for,
            args.slow_ms, "etcd, restarted every %.0f s (down %.0f s)" % (
                args.etcd_restart_every, args.down_for) if etcd else "worker_hosts"), "",
        "| measure | value |", "| --- | --- |",
        "| operations | %d (%s) |" % (summary["ops_total"], ", ".join(
            "%s %d" % kv for kv in sorted(stats.ops.items()))),
        "| data mismatches | **%d** |" % stats.mismatches,
        "| errors by errno | %s |" % (", ".join("%s %d" % kv for kv in sorted(
            stats.errors.items())) or "none"),
        "| daemon RSS (KiB) first / max / last | %s / %s / %s |" % (
            summary["rss_kib"]["first"], summary["rss_kib"]["max"], summary["rss_kib"]["last"]),
        "| open fds first / max / last | %s / %s / %s |" % (
            summary["open_fds"]["first"], summary["open_fds"]["max"],
            summary["open_fds"]["last"]),
        "| in-flight FUSE ops at the end | %s |" % final_in_flight,
        "| daemon alive / mount usable at the end | %s / %s |" % (alive, usable),
        "| threads still running after stop | %s |" % (", ".join(hung) or "none"), "",
        "Samples every 5 s are in samples.csv; fault events in summary.json.",
    ]
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    ok = stats.mismatches == 0 and usable and alive and not hung
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
