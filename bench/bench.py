#!/usr/bin/env python3
"""alluxio-fuse benchmarks (issues 3, 4, 6, 10). Run through bench/run.sh, which installs the
tools and builds the binaries; this file only measures.

Design: every number is reported as a RATIO against a baseline measured in the same run (the
machine is a noisy, shared 2-core VM), each the median of --reps runs. Systems are mounted over
the same generated dataset; "cold" is a fresh mount with empty daemon caches and the source
files evicted from the kernel page cache (posix_fadvise DONTNEED on every file: writing
/proc/sys/vm/drop_caches is not permitted in this sandbox, even as root, and DONTNEED evicts
the same clean pages file by file); "warm" is the same workload again on the same mount;
"restart" remounts on the same cache directory (kernel cache of the mount gone, daemon's disk
cache kept). Every process and mount started here is stopped in a finally/atexit path, and the
temp dir is removed at the end. Only loopback addresses are used.
"""
import argparse
import atexit
import concurrent.futures
import datetime
import hashlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MiB = 1 << 20
VN_KEY = "alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker"
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
S3_KEY = "S3RVER"  # s3rver's built-in test credentials, not a secret
BUCKET = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")

SCALES = {
    "full": dict(large_n=4, large_mib=256, small_n=2000, meta_n=10000, bigdir_n=100000,
                 rand4k_io=16 * MiB, rand128k_io=256 * MiB, rss_passes=4),
    # quick: a smoke run of every system and section in < 10 minutes (s3fs over s3rver needs
    # ~80 ms per small file, so the trees are small).
    "quick": dict(large_n=4, large_mib=32, small_n=120, meta_n=600, bigdir_n=5000,
                  rand4k_io=2 * MiB, rand128k_io=16 * MiB, rss_passes=4),
}
SYSTEMS = ["local", "bindfs", "af-local", "af-uring", "af-workers", "af-s3", "s3fs",
           "s3fs-cache", "rclone", "rclone-full"]
STAT_PASSES = 5  # stat4 stats every file of meta/ this many times
WORKLOADS = ["seq", "rand4k", "rand4k4", "rand128k", "ttfb", "small4", "lsR", "stat4"]
RESTART_WORKLOADS = {"seq", "rand4k", "rand4k4", "rand128k", "ttfb", "small4"}
# name -> (unit, higher is better)
UNITS = {"seq": ("MiB/s", True), "rand4k": ("IOPS", True), "rand4k4": ("IOPS", True),
         "rand128k": ("MiB/s", True),
         "ttfb": ("ms", False), "small4": ("s", False), "lsR": ("s", False),
         "stat4": ("s", False), "seq4": ("MiB/s", True), "list_bigdir": ("s", False)}

CLEANUPS = []


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run_cleanups():
    while CLEANUPS:
        fn = CLEANUPS.pop()
        try:
            fn()
        except Exception as e:  # cleanup must go on whatever happens
            log("cleanup error: %s" % e)


# ---------------------------------------------------------------- helpers

def is_mountpoint(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4].encode().decode("unicode_escape") == path:
                return True
    return False


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise TimeoutError("timed out waiting for " + what)


def force_unmount(path):
    for cmd in (["fusermount3", "-u", "-q", path], ["umount", "-l", path],
                ["fusermount3", "-u", "-z", "-q", path]):
        if not is_mountpoint(path):
            return
        try:
            subprocess.run(cmd, timeout=20, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pass


def stop_process(proc, timeout=20):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def evict(root):
    """Drops the clean kernel page-cache pages of every file under root (or of root)."""
    paths = [root] if os.path.isfile(root) else (
        os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def proc_stats(pid):
    """(VmHWM in KiB, CPU seconds) of a live process, or (None, None)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            hwm = next((int(l.split()[1]) for l in f if l.startswith("VmHWM:")), None)
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        return hwm, cpu
    except (OSError, ValueError, IndexError):
        return None, None


def write_yaml(path, mapping):
    def emit(obj, indent):
        out = []
        for k, v in obj.items():
            pad = "  " * indent
            if isinstance(v, dict):
                out.append("%s%s:" % (pad, k))
                out.extend(emit(v, indent + 1))
            elif isinstance(v, bool):
                out.append("%s%s: %s" % (pad, k, "true" if v else "false"))
            elif isinstance(v, (str, list)):
                out.append("%s%s: %s" % (pad, k, json.dumps(v)))
            else:
                out.append("%s%s: %s" % (pad, k, v))
        return out
    with open(path, "w") as f:
        f.write("\n".join(emit(mapping, 0)) + "\n")


def merge(base, over):
    out = dict(base)
    for k, v in (over or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import uring_switch  # noqa: E402


def enable_fuse_uring():
    """mount.io_uring needs the fuse module's enable_uring (root); restored at exit."""
    try:
        CLEANUPS.append(uring_switch.turn_on())
    except OSError as e:
        sys.exit("mount.io_uring: cannot enable %s: %s" % (uring_switch.PARAM, e))
    log("fuse enable_uring: on for this run (restored at exit)")


def parse_af_set(ap, items):
    """--af-set a.b=V items as one nested override dict; V is an int, a bool or a string."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            ap.error("--af-set wants KEY=VALUE with a dotted config key, got %r" % item)
        value = int(raw) if raw.isdigit() else {"true": True, "false": False}.get(raw, raw)
        for part in reversed(key.split(".")):
            value = {part: value}
        out = merge(out, value)
    return out


def bdi_of(path):
    """The backing-device-info directory of a mount (for read_ahead_kb), or None."""
    dev = os.stat(path).st_dev
    p = "/sys/class/bdi/%d:%d" % (os.major(dev), os.minor(dev))
    return p if os.path.isdir(p) else None


# ---------------------------------------------------------------- dataset

def write_random(path, size):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open("/dev/urandom", "rb") as src, open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 8 * MiB)
            f.write(src.read(n))
            left -= n


def make_dataset(data, sc):
    """large/ (big files), small/ (64 KiB files, 2 levels), meta/ (tiny files, 3 levels),
    bigdir/ (empty files in one directory; served by the fake workers only)."""
    log("generating dataset in %s" % data)
    for i in range(sc["large_n"]):
        write_random(os.path.join(data, "large", "f%d.bin" % i), sc["large_mib"] * MiB)
    payload = os.urandom(64 * 1024)
    for i in range(sc["small_n"]):
        p = os.path.join(data, "small", "d%02d" % (i % 20), "s%02d" % (i // 20 % 5),
                         "f%05d.bin" % i)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(payload[i % 64:] + payload[:i % 64])
    for i in range(sc["meta_n"]):
        p = os.path.join(data, "meta", "a%02d" % (i % 10), "b%02d" % (i // 10 % 10),
                         "f%05d.txt" % i)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(b"%d\n" % i)
    # s3rver reports a common prefix only for a "directory" that directly holds an object, so
    # every directory of the trees gets one small file; otherwise S3 listings come back empty.
    for sub in ("small", "meta"):
        for d, _, _ in os.walk(os.path.join(data, sub)):
            with open(os.path.join(d, "_dir.txt"), "wb") as f:
                f.write(b"dir\n")
    big = os.path.join(data, "bigdir")
    os.makedirs(big, exist_ok=True)
    for i in range(sc["bigdir_n"]):
        os.close(os.open(os.path.join(big, "e%06d" % i), os.O_CREAT | os.O_WRONLY, 0o644))


def dataset_files(data, sub):
    out = []
    for d, _, fs in os.walk(os.path.join(data, sub)):
        out.extend(os.path.relpath(os.path.join(d, f), data) for f in fs)
    return sorted(out)


# ---------------------------------------------------------------- servers

class FakeWorkers:
    """Three fake workers on 127.0.0.2-4 serving the dataset as file://<data>."""

    def __init__(self, fake_bin, data, port):
        self.fake_bin, self.data, self.port, self.procs = fake_bin, data, port, []

    def start(self):
        peers = ",".join("%s:%d" % (h, self.port) for h in HOSTS)
        for h in HOSTS:
            p = subprocess.Popen(
                [self.fake_bin, "--bind", h, "--port", str(self.port), "--mode", "enterprise",
                 "--ufs-map", "file://%s=%s" % (self.data, self.data), "--peers", peers,
                 "--vnodes", "5", "--page-store-capacity", "8GiB"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            self.procs.append(p)
            line = p.stdout.readline()
            if not line.startswith(b"LISTENING"):
                raise RuntimeError("fake_worker on %s did not start" % h)

    def stop(self):
        for p in self.procs:
            stop_process(p, 10)
            p.stdout.close()
        self.procs = []

    def restart(self):
        self.stop()
        self.start()

    @property
    def hosts(self):
        return ",".join("%s:%d" % (h, self.port) for h in HOSTS)

    def counters(self):
        total = {}
        for h in HOSTS:
            with urllib.request.urlopen("http://%s:%d/debug/requests" % (h, self.port),
                                        timeout=10) as r:
                for k, v in json.loads(r.read()).get("by_endpoint", {}).items():
                    total[k] = total.get(k, 0) + v
        return total

    def reset_counters(self):
        for h in HOSTS:
            req = urllib.request.Request("http://%s:%d/debug/requests/reset" % (h, self.port),
                                         data=b"", method="POST")
            urllib.request.urlopen(req, timeout=10).read()


class S3rver:
    """s3rver (tests/s3) on 127.0.0.1 with the dataset uploaded once."""

    def __init__(self, root):
        self.dir = os.path.join(root, "s3rver")
        os.makedirs(self.dir)
        env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
        self.proc = subprocess.Popen(
            ["node", os.path.join(REPO, "tests", "s3", "s3rver_launch.js"), self.dir, BUCKET, "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith(b"LISTENING"):
            self.stop()
            raise RuntimeError("s3rver did not start (scripts/install-deps.sh installs it)")
        self.port = int(line.split()[1])
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def upload(self, data, rels):
        def put(rel):
            with open(os.path.join(data, rel), "rb") as f:
                body = f.read()
            url = "%s/%s/%s" % (self.endpoint, BUCKET, urllib.parse.quote(rel))
            req = urllib.request.Request(url, data=body, method="PUT",
                                         headers={"Content-Type": "application/octet-stream"})
            urllib.request.urlopen(req, timeout=120).read()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put, rels))

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                stop_process(self.proc, 5)


# ---------------------------------------------------------------- mounted systems

class System:
    """One file system under test. start(fresh) mounts it (fresh: empty caches), path() is
    where the dataset appears, stop() unmounts and returns (VmHWM KiB, CPU s) of its daemon."""
    name = "?"

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None
        self.mp = os.path.join(ctx.tmp, "mnt-" + self.name)
        os.makedirs(self.mp, exist_ok=True)
        self.cache = os.path.join(ctx.tmp, "cache-" + self.name)

    def command(self):
        raise NotImplementedError

    def sources(self):
        return [self.ctx.data]

    def prepare_cold(self):
        for s in self.sources():
            evict(s)

    def start(self, fresh):
        if fresh:
            shutil.rmtree(self.cache, ignore_errors=True)
        os.makedirs(self.cache, exist_ok=True)
        cmd, env = self.command()
        cmd = pinned(self.ctx, cmd)
        self.err = open(os.path.join(self.ctx.tmp, self.name + ".stderr"), "ab")
        full_env = dict(os.environ, **env)
        # An inherited AWS_CA_BUNDLE makes rclone's S3 client refuse its own transport; every
        # endpoint here is plain HTTP on loopback, so no CA setting applies.
        full_env.pop("AWS_CA_BUNDLE", None)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.err,
                                     env=full_env, cwd=self.ctx.tmp)
        CLEANUPS.append(self.stop)
        wait_until(lambda: is_mountpoint(self.mp) or self.proc.poll() is not None, 60,
                   "mount of " + self.name)
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (self.name, self.proc.returncode))
        # Some daemons mount before they answer; wait for the root to list.
        wait_until(lambda: os.path.isdir(os.path.join(self.path(), "large")), 60,
                   self.name + " to answer")
        self.after_mount()

    def after_mount(self):
        ra = self.ctx.args.read_ahead_kb
        bdi = bdi_of(self.mp)
        if bdi and self.name not in self.ctx.read_ahead_seen:
            with open(os.path.join(bdi, "read_ahead_kb")) as f:
                self.ctx.read_ahead_seen[self.name] = int(f.read())
            seen = self.ctx.read_ahead_seen[self.name]
            log("%s: kernel read_ahead_kb of the mount is %d" % (self.name, seen))
        if ra and bdi:
            with open(os.path.join(bdi, "read_ahead_kb"), "w") as f:
                f.write(str(ra))

    def path(self, rel=""):
        return os.path.join(self.mp, rel)

    def stop(self):
        if self.proc is None:
            return None, None
        stats = proc_stats(self.proc.pid)
        if is_mountpoint(self.mp):
            subprocess.run(["fusermount3", "-u", "-q", self.mp], timeout=30,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stop_process(self.proc, 10)
        force_unmount(self.mp)
        self.proc = None
        self.err.close()
        if self.stop in CLEANUPS:
            CLEANUPS.remove(self.stop)
        return stats


class Local(System):
    name = "local"

    def start(self, fresh):
        pass

    def stop(self):
        return None, None

    def path(self, rel=""):
        return os.path.join(self.ctx.data, rel)


class Bindfs(System):
    name = "bindfs"

    def command(self):
        return ["bindfs", "-f", "--no-allow-other", self.ctx.data, self.mp], {}


class AlluxioFuse(System):
    """alluxio-fuse -f with a config built from the context; subclasses pick the root."""
    name = "af-local"

    def base_config(self):
        return {"ufs_root": "file://" + self.ctx.data}

    def command(self):
        logs = os.path.join(self.ctx.tmp, "logs-" + self.name)
        os.makedirs(logs, exist_ok=True)
        cfg = merge(self.base_config(), {
            "logger": {"path": logs, "level": "WARNING"},
            "metrics": {"enabled": True, "listen": "127.0.0.1:0"},
            "page_cache": {"dir": self.cache, "capacity": "16GiB"},
            "write": {"staging_dir": os.path.join(self.ctx.tmp, "staging-" + self.name)},
        })
        cfg = merge(merge(cfg, self.ctx.af_set), self.ctx.af_overrides)
        conf = os.path.join(self.ctx.tmp, self.name + ".yaml")
        write_yaml(conf, cfg)
        self.conf = conf
        return [self.ctx.af_bin, "mount", self.mp, "--config", conf, "--foreground"], {}


class AlluxioUring(AlluxioFuse):
    """af-local served over FUSE-over-io_uring queues (mount.io_uring; main() turns on the
    kernel switch for the run)."""
    name = "af-uring"

    def base_config(self):
        return {"ufs_root": "file://" + self.ctx.data, "mount": {"io_uring": True}}


class AlluxioWorkers(AlluxioFuse):
    name = "af-workers"

    def base_config(self):
        return {"ufs_root": "file://" + self.ctx.data, "worker_hosts": self.ctx.workers.hosts,
                "options": {VN_KEY: 5}}

    def prepare_cold(self):
        self.ctx.workers.restart()  # empty page stores
        super().prepare_cold()


class AlluxioS3(AlluxioFuse):
    name = "af-s3"

    def base_config(self):
        return {"ufs_root": "s3://" + BUCKET,
                "target_options": {"endpoint_url": self.ctx.s3.endpoint, "key": S3_KEY,
                                   "secret": S3_KEY}}

    def sources(self):
        return [self.ctx.s3.dir]


class S3fs(System):
    name = "s3fs"
    use_cache = False

    def sources(self):
        return [self.ctx.s3.dir]

    def command(self):
        pw = os.path.join(self.ctx.tmp, "s3fs.passwd")
        with open(pw, "w") as f:
            f.write("%s:%s\n" % (S3_KEY, S3_KEY))
        os.chmod(pw, 0o600)
        opts = ["url=" + self.ctx.s3.endpoint, "use_path_request_style", "passwd_file=" + pw]
        if self.use_cache:
            opts.append("use_cache=" + self.cache)
        return ["s3fs", BUCKET, self.mp, "-f", "-o", ",".join(opts)], {}


class S3fsCache(S3fs):
    name = "s3fs-cache"
    use_cache = True


class Rclone(System):
    name = "rclone"
    mode = "off"

    def sources(self):
        return [self.ctx.s3.dir]

    def command(self):
        env = {"RCLONE_CONFIG_S3R_TYPE": "s3", "RCLONE_CONFIG_S3R_PROVIDER": "Other",
               "RCLONE_CONFIG_S3R_ENDPOINT": self.ctx.s3.endpoint,
               "RCLONE_CONFIG_S3R_ACCESS_KEY_ID": S3_KEY,
               "RCLONE_CONFIG_S3R_SECRET_ACCESS_KEY": S3_KEY,
               "RCLONE_CONFIG_S3R_FORCE_PATH_STYLE": "true"}
        conf = os.path.join(self.ctx.tmp, "rclone.conf")
        open(conf, "a").close()
        return ["rclone", "mount", "s3r:" + BUCKET, self.mp, "--config", conf, "--cache-dir",
                self.cache, "--vfs-cache-mode", self.mode, "--log-level", "ERROR"], env


class RcloneFull(Rclone):
    name = "rclone-full"
    mode = "full"


SYSTEM_CLASSES = {c.name: c for c in (Local, Bindfs, AlluxioFuse, AlluxioUring, AlluxioWorkers,
                                      AlluxioS3, S3fs, S3fsCache, Rclone, RcloneFull)}


# ---------------------------------------------------------------- workloads

def fio(ctx, files, rw, bs, io_size=None, jobs=1, tag="fio"):
    """Runs fio (psync, no O_DIRECT, no invalidation: eviction is ours) and returns its JSON."""
    out = os.path.join(ctx.tmp, "fio.json")
    cmd = ["fio", "--output-format=json", "--output=" + out, "--ioengine=psync", "--invalidate=0",
           "--readonly", "--direct=0", "--bs=" + bs, "--rw=" + rw, "--randrepeat=1",
           "--runtime=%d" % ctx.args.fio_runtime]
    if jobs == 1:
        cmd += ["--name=" + tag, "--filename=" + ":".join(f.replace(":", "\\:") for f in files),
                "--file_service_type=" + ("sequential" if rw == "read" else "random")]
        if io_size:
            cmd.append("--io_size=%d" % io_size)
    else:
        cmd += ["--group_reporting"]
        if io_size:
            cmd.append("--io_size=%d" % io_size)  # global: each job reads this much
        for i, f in enumerate(files):
            cmd += ["--name=%s%d" % (tag, i), "--filename=" + f.replace(":", "\\:")]
    subprocess.run(pinned(ctx, cmd), check=True, timeout=ctx.args.fio_runtime + 120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)["jobs"][0]["read"]


def pinned(ctx, cmd):
    """cmd under `taskset -c N` with --pin-cpu N (every daemon and fio on one CPU), else cmd.

    A diagnostic: on these VMs a wake-up of an idle vCPU costs more than a 4 KiB FUSE read, so
    small-read results depend on whether the scheduler puts the reader and the daemon on the
    same CPU; pinning both takes placement out of the comparison."""
    if ctx.args.pin_cpu is None:
        return cmd
    return ["taskset", "-c", str(ctx.args.pin_cpu)] + cmd


def large_files(sysm, ctx):
    return [sysm.path(r) for r in ctx.large]


def w_seq(sysm, ctx):
    r = fio(ctx, large_files(sysm, ctx), "read", "1m")
    return r["bw_bytes"] / MiB


def w_seq4(sysm, ctx):
    r = fio(ctx, large_files(sysm, ctx), "read", "1m", jobs=len(ctx.large))
    return r["bw_bytes"] / MiB


def w_rand4k(sysm, ctx):
    return fio(ctx, large_files(sysm, ctx), "randread", "4k", ctx.scale["rand4k_io"])["iops"]


def w_rand4k4(sysm, ctx):
    """4 KiB random reads from one reader per large file at once (the same total as rand4k)."""
    r = fio(ctx, large_files(sysm, ctx), "randread", "4k",
            ctx.scale["rand4k_io"] // len(ctx.large), jobs=len(ctx.large))
    return r["iops"]


def w_rand128k(sysm, ctx):
    r = fio(ctx, large_files(sysm, ctx), "randread", "128k", ctx.scale["rand128k_io"])
    return r["bw_bytes"] / MiB


def w_ttfb(sysm, ctx):
    """Mean over the large files of open + first 4 KiB read, in ms."""
    times = []
    for p in large_files(sysm, ctx):
        t0 = time.perf_counter()
        with open(p, "rb", buffering=0) as f:
            f.read(4096)
        times.append(time.perf_counter() - t0)
    return 1000 * sum(times) / len(times)


def timed(cmd, cwd):
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, timeout=1800)
    return time.perf_counter() - t0


def w_small4(sysm, ctx):
    # xargs with 4 parallel cat processes of 50 files each over a list made from the source.
    return timed(["xargs", "-0", "-a", ctx.small_list, "-P", "4", "-n", "50", "cat"],
                 sysm.path())


def w_lsR(sysm, ctx):
    t0 = time.perf_counter()
    out = subprocess.run(["ls", "-lR", "meta"], cwd=sysm.path(), check=True,
                         stdout=subprocess.PIPE, timeout=1800).stdout
    secs = time.perf_counter() - t0
    files = sum(1 for line in out.splitlines() if line.startswith(b"-"))
    if files != len(ctx.meta):  # a listing that lost entries must not look fast
        raise RuntimeError("%s: ls -lR listed %d files, expected %d" % (sysm.name, files,
                                                                         len(ctx.meta)))
    return secs


def w_stat4(sysm, ctx):
    # stat(1) of every file of meta/, STAT_PASSES times over, by 4 parallel processes (xargs),
    # so the time is the file system's, not the Python interpreter's: one warm pass of 10,000
    # os.stat calls from 4 Python threads took 35-110 ms on every system, local included
    # (bench/results/2026-12-03-full-issue6-pystat/), which only measured GIL hand-offs.
    per_proc = max(1, len(ctx.meta) * STAT_PASSES // 16)
    t0 = time.perf_counter()
    out = subprocess.run(["xargs", "-0", "-a", ctx.meta_list, "-P", "4", "-n", str(per_proc),
                          "stat", "-c", "%s"], cwd=sysm.path(), check=True,
                         stdout=subprocess.PIPE, timeout=1800).stdout
    secs = time.perf_counter() - t0
    if out.count(b"\n") != len(ctx.meta) * STAT_PASSES:
        raise RuntimeError("%s: stat answered %d of %d" % (sysm.name, out.count(b"\n"),
                                                           len(ctx.meta) * STAT_PASSES))
    return secs


WORKLOAD_FNS = {"seq": w_seq, "seq4": w_seq4, "rand4k": w_rand4k, "rand4k4": w_rand4k4,
                "rand128k": w_rand128k,
                "ttfb": w_ttfb, "small4": w_small4, "lsR": w_lsR, "stat4": w_stat4}


# ---------------------------------------------------------------- runner

class Context:
    pass


def record(ctx, **row):
    row.setdefault("variant", ctx.variant)
    ctx.rows.append(row)
    with open(os.path.join(ctx.out, "samples.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")


def measure_matrix(ctx, systems, workloads):
    """Every workload on every system (see measure_one), rep by rep: each rep measures every
    system before the next rep starts, so a machine that drifts faster or slower during the run
    (these shared VMs do, by 30 % and more within minutes) shifts every system alike instead of
    the ones measured last."""
    sysms = {sname: SYSTEM_CLASSES[sname](ctx) for sname in systems}
    broken = set()
    for rep in range(ctx.args.reps):
        for sname in systems:
            sysm = sysms[sname]
            for wl in workloads:
                if (sname, wl) in broken:
                    continue
                try:
                    measure_one(ctx, sysm, sname, wl, rep)
                except Exception as e:  # one broken system/workload must not end the run
                    sysm.stop()
                    broken.add((sname, wl))
                    log("%s %s failed: %r" % (sname, wl, e))
                    ctx.cut.append("%s %s (%s): failed: %r" % (sname, wl, ctx.variant, e))


def measure_one(ctx, sysm, sname, wl, rep):
    """Fresh mount -> cold -> warm -> (remount on the same cache -> restart)."""
    unit = UNITS[wl][0]
    sysm.prepare_cold()
    sysm.start(fresh=True)
    try:
        cold = WORKLOAD_FNS[wl](sysm, ctx)
        warm = WORKLOAD_FNS[wl](sysm, ctx)
    finally:
        hwm, cpu = sysm.stop()
    record(ctx, system=sname, workload=wl, phase="cold", rep=rep, value=cold,
           unit=unit, rss_kib=hwm, cpu_s=cpu)
    record(ctx, system=sname, workload=wl, phase="warm", rep=rep, value=warm,
           unit=unit, rss_kib=hwm, cpu_s=cpu)
    msg = "%-11s %-8s rep %d: cold %.2f warm %.2f %s" % (sname, wl, rep, cold, warm, unit)
    if wl in RESTART_WORKLOADS and sname != "local":
        sysm.start(fresh=False)
        try:
            again = WORKLOAD_FNS[wl](sysm, ctx)
        finally:
            hwm2, cpu2 = sysm.stop()
        record(ctx, system=sname, workload=wl, phase="restart", rep=rep, value=again,
               unit=unit, rss_kib=hwm2, cpu_s=cpu2)
        msg += ", restart %.2f" % again
    log(msg)


def curl_pages(ctx, af_bin, conf):
    """Issue 3 baseline: every page of the large files straight from the owning fake worker,
    with `curl --parallel` (one keep-alive transfer stream per file). Returns MiB/s."""
    keys = ["file://%s/%s" % (ctx.data, r) for r in ctx.large]
    out = subprocess.run([af_bin, "route", "--config", conf, "--json"] + keys, check=True,
                         capture_output=True, timeout=60)
    owners = {}
    for entry in json.loads(out.stdout):
        c = entry["candidates"][0]
        owners[entry["key"]] = "%s:%d" % (c["host"], c["port"]) if "port" in c else c["host"]
    total = 0
    cfgs = []
    for i, k in enumerate(keys):
        size = os.path.getsize(os.path.join(ctx.data, ctx.large[i]))
        total += size
        pid = hashlib.sha256(k.encode()).hexdigest()
        host = owners[k] if ":" in owners[k] else "%s:%d" % (owners[k], ctx.workers.port)
        q = urllib.parse.quote(k, safe="/:")
        cfg = os.path.join(ctx.tmp, "curl%d.cfg" % i)
        with open(cfg, "w") as f:
            for page in range((size + MiB - 1) // MiB):
                f.write('url = "http://%s/v1/file/%s/page/%d?ufsFullPath=%s"\n'
                        'output = "/dev/null"\n' % (host, pid, page, q))
        cfgs.append(cfg)
    t0 = time.perf_counter()
    procs = [subprocess.Popen(["curl", "-sSf", "--max-time", "600", "-K", c]) for c in cfgs]
    codes = [p.wait() for p in procs]
    elapsed = time.perf_counter() - t0
    if any(codes):
        raise RuntimeError("curl page GETs failed: %s" % codes)
    return total / MiB / elapsed


def children_cpu():
    """CPU seconds of this process's waited-for children (fio, curl) so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def issue3(ctx):
    """Cold 4-way parallel sequential read through the mount vs curl page GETs, 3 workers.
    Each side's CPU time is recorded too (cpu_split: CPU-s per GiB of the workers, the daemon
    and the readers), since on 2 shared cores the ratio is mostly a ratio of CPU per GiB."""
    sysm = AlluxioWorkers(ctx)
    gib = sum(os.path.getsize(os.path.join(ctx.data, r)) for r in ctx.large) / (1 << 30)

    def workers_cpu():
        return sum(proc_stats(p.pid)[1] or 0.0 for p in ctx.workers.procs)

    for rep in range(ctx.args.reps):
        sysm.prepare_cold()
        sysm.start(fresh=True)
        try:
            w0, d0, c0 = workers_cpu(), proc_stats(sysm.proc.pid)[1], children_cpu()
            mount = w_seq4(sysm, ctx)
            w1, d1, c1 = workers_cpu(), proc_stats(sysm.proc.pid)[1], children_cpu()
        finally:
            hwm, cpu = sysm.stop()
        split = {"workers": (w1 - w0) / gib,
                 "daemon": (d1 - d0) / gib if d0 is not None and d1 is not None else 0.0,
                 "readers": (c1 - c0) / gib}
        record(ctx, system="af-workers", workload="seq4", phase="cold", rep=rep, value=mount,
               unit="MiB/s", rss_kib=hwm, cpu_s=cpu, cpu_split=split)
        sysm.prepare_cold()
        w0, c0 = workers_cpu(), children_cpu()
        direct = curl_pages(ctx, ctx.af_bin, sysm.conf)
        w1, c1 = workers_cpu(), children_cpu()
        split_curl = {"workers": (w1 - w0) / gib, "readers": (c1 - c0) / gib}
        record(ctx, system="curl-workers", workload="seq4", phase="cold", rep=rep, value=direct,
               unit="MiB/s", rss_kib=None, cpu_s=None, cpu_split=split_curl)
        log("issue3 rep %d: mount %.1f MiB/s, curl %.1f MiB/s; CPU-s per GiB: mount %s, curl %s"
            % (rep, mount, direct, fmt_split(split), fmt_split(split_curl)))


def fmt_split(split):
    return " + ".join("%s %.2f" % (k, v) for k, v in split.items())


def rss_run(ctx, sname):
    """Issue 4: peak RSS of the daemon while 4 passes over the large files go through it (the
    first cold, the rest from its disk cache with the mount's kernel cache evicted)."""
    sysm = SYSTEM_CLASSES[sname](ctx)
    sysm.prepare_cold()
    sysm.start(fresh=True)
    read = 0
    try:
        for _ in range(ctx.scale["rss_passes"]):
            for p in large_files(sysm, ctx):
                evict(p)
            r = fio(ctx, large_files(sysm, ctx), "read", "1m", jobs=len(ctx.large))
            read += r["io_bytes"]
    finally:
        hwm, cpu = sysm.stop()
    record(ctx, system=sname, workload="rss", phase="4pass", rep=0, value=hwm / 1024.0,
           unit="MiB", rss_kib=hwm, cpu_s=cpu, bytes_read=read)
    log("rss %s: %.1f MiB peak over %.2f GiB read, %.1f CPU s" % (sname, hwm / 1024.0,
                                                                 read / (1 << 30), cpu))


def bigdir_listing(ctx):
    """Issue 6: cold `ls -l` of the big directory through the fake workers (plus bindfs)."""
    for rep in range(ctx.args.reps):
        for sname in ("af-workers", "bindfs"):
            sysm = SYSTEM_CLASSES[sname](ctx)
            sysm.prepare_cold()
            sysm.start(fresh=True)
            try:
                if sname == "af-workers":
                    ctx.workers.reset_counters()
                secs = timed(["ls", "-l", "bigdir"], sysm.path())
                reqs = ctx.workers.counters() if sname == "af-workers" else {}
            finally:
                hwm, cpu = sysm.stop()
            record(ctx, system=sname, workload="list_bigdir", phase="cold", rep=rep, value=secs,
                   unit="s", rss_kib=hwm, cpu_s=cpu, requests=reqs)
            log("bigdir %s rep %d: %.2f s, requests %s" % (sname, rep, secs, reqs))


# ---------------------------------------------------------------- report

def median_of(rows, **match):
    vals = [r["value"] for r in rows if all(r.get(k) == v for k, v in match.items())
            and r["value"] is not None]
    return statistics.median(vals) if vals else None


def ratio(value, base, higher_better):
    if value is None or base is None or value == 0 or base == 0:
        return None
    return value / base if higher_better else base / value


def fmt(v, digits=1):
    if v is None:
        return "—"
    if abs(v) >= 100:
        return "%.0f" % v
    return "%.*f" % (digits if abs(v) >= 1 else max(digits, 3), v)


def fmt_ratio(r):
    return "—" if r is None else "%.2f×" % r


def workload_table(rows, wl, systems):
    unit, hb = UNITS[wl]
    rows = [r for r in rows if r["workload"] == wl and r.get("variant") == "default"]
    out = ["### %s (%s, %s is better; ratios are speed ratios, > 1 = faster than the baseline)"
           % (wl, unit, "higher" if hb else "lower"), "",
           "| system | cold | ×bindfs | ×local | warm | ×bindfs | ×local | restart | ×bindfs "
           "| ×local | peak RSS MiB | CPU s |",
           "| --- | " + " | ".join(["---:"] * 11) + " |"]
    base = {}
    for s in ("bindfs", "local"):
        for ph in ("cold", "warm", "restart"):
            base[s, ph] = median_of(rows, system=s, phase=ph)
    base["local", "restart"] = base["local", "warm"]  # no mount to restart: page cache
    for s in systems:
        if not any(r["system"] == s for r in rows):
            continue
        cells = [s]
        for ph in ("cold", "warm", "restart"):
            v = median_of(rows, system=s, phase=ph)
            cells += [fmt(v), fmt_ratio(ratio(v, base["bindfs", ph], hb)),
                      fmt_ratio(ratio(v, base["local", ph], hb))]
        hwm = [r["rss_kib"] for r in rows if r["system"] == s and r["rss_kib"]]
        cpu = [r["cpu_s"] for r in rows if r["system"] == s and r["cpu_s"] is not None
               and r["phase"] == "cold"]
        cells.append(fmt(max(hwm) / 1024.0) if hwm else "—")
        cells.append(fmt(statistics.median(cpu), 2) if cpu else "—")
        out.append("| " + " | ".join(cells) + " |")
    return out


def targets(rows):
    """(issue, what, value, target, met) for each project target that was measured."""
    d = [r for r in rows if r.get("variant") == "default"]
    res = []

    def add(issue, what, val, target, cmp):
        if val is not None:
            res.append((issue, what, val, target, cmp(val)))
    a = median_of(d, system="af-workers", workload="seq4", phase="cold")
    b = median_of(d, system="curl-workers", workload="seq4", phase="cold")
    add(3, "cold seq read via 3 fake workers / curl page GETs", ratio(a, b, True), "≥ 0.70",
        lambda v: v >= 0.7)
    for sys_ in ("af-local", "af-uring", "af-workers"):
        for wl, tgt in (("seq", 0.9), ("rand4k", 0.8)):
            v = ratio(median_of(d, system=sys_, workload=wl, phase="restart"),
                      median_of(d, system="bindfs", workload=wl, phase="restart"), True)
            add(4, "%s %s daemon-cache warm (remounted) / bindfs remounted" % (sys_, wl), v,
                "≥ %.2f" % tgt, lambda x, t=tgt: x >= t)
        v = ratio(median_of(d, system=sys_, workload="rand4k4", phase="restart"),
                  median_of(d, system="bindfs", workload="rand4k4", phase="restart"), True)
        add(4, "%s rand4k, 4 readers, daemon-cache warm (remounted) / bindfs" % sys_, v,
            "(report)", lambda x: True)
        v = ratio(median_of(d, system=sys_, workload="seq", phase="restart"),
                  median_of(d, system="local", workload="seq", phase="warm"), True)
        add(4, "%s seq daemon-cache warm / local page cache" % sys_, v, "(report)",
            lambda x: True)
        rss = [r for r in d if r["workload"] == "rss" and r["system"] == sys_]
        if rss:
            gib = rss[0]["bytes_read"] / (1 << 30)
            add(4, "%s peak RSS over %.1f GiB read (MiB)" % (sys_, gib), rss[0]["value"], "≤ 150",
                lambda x: x <= 150)
    for wl in ("lsR", "stat4"):
        for sys_ in ("af-local", "af-workers"):
            v = ratio(median_of(d, system=sys_, workload=wl, phase="warm"),
                      median_of(d, system="bindfs", workload=wl, phase="warm"), False)
            add(6, "%s warm %s / bindfs" % (sys_, wl), v, "≥ 0.80", lambda x: x >= 0.8)
    return res


def report(ctx):
    rows = ctx.rows
    systems = [s for s in SYSTEMS if any(r["system"] == s for r in rows)]
    md = ["## Results %s (%s)" % (ctx.stamp, ctx.mode), "",
          "Machine: %s CPUs, kernel %s; shared with other jobs. Scale: %s. Each value is the "
          "median of %d runs." % (os.cpu_count(), os.uname().release, json.dumps(ctx.scale),
                                  ctx.args.reps), ""]
    pin = getattr(ctx.args, "pin_cpu", None)
    if pin is not None:
        md[-1:-1] = ["Every mount daemon and fio pinned to CPU %d (--pin-cpu)." % pin]
    af_set = getattr(ctx.args, "af_set", None)
    if af_set:
        md[-1:-1] = ["Every alluxio-fuse mount with %s (--af-set)." % ", ".join(af_set)]
    tg = targets(rows)
    if tg:
        md += ["### Targets", "", "| issue | measure | value | target | met |",
               "| --- | --- | ---: | --- | --- |"]
        for issue, what, val, target, met in tg:
            verdict = "—" if target == "(report)" else "yes" if met else "**no**"
            md.append("| %d | %s | %s | %s | %s |" % (issue, what, fmt(val, 2), target, verdict))
        md.append("")
    s3 = [r for r in rows if r["workload"] == "seq4"]
    if s3:
        md += ["### seq4 (issue 3: 4 parallel readers, cold, MiB/s)", "",
               "| system | median | runs |", "| --- | ---: | --- |"]
        for s in ("af-workers", "curl-workers"):
            vals = [r["value"] for r in s3 if r["system"] == s]
            md.append("| %s | %s | %s |" % (s, fmt(statistics.median(vals)),
                                           ", ".join(fmt(v) for v in vals)))
        md.append("")
        splits = [r for r in s3 if r.get("cpu_split")]
        if splits:
            md += ["CPU seconds per GiB read (median of the reps): readers = fio through the "
                   "mount, or curl.", "",
                   "| system | workers | daemon | readers | total |",
                   "| --- | ---: | ---: | ---: | ---: |"]
            for s in ("af-workers", "curl-workers"):
                rs = [r["cpu_split"] for r in splits if r["system"] == s]
                if not rs:
                    continue
                med = {k: statistics.median(x.get(k, 0.0) for x in rs)
                       for k in ("workers", "daemon", "readers")}
                total = statistics.median(sum(x.values()) for x in rs)
                md.append("| %s | %.2f | %s | %.2f | %.2f |" % (
                    s, med["workers"], "%.2f" % med["daemon"] if s == "af-workers" else "—",
                    med["readers"], total))
            md.append("")
    for wl in WORKLOADS:
        if any(r["workload"] == wl for r in rows):
            md += workload_table(rows, wl, systems) + [""]
    big = [r for r in rows if r["workload"] == "list_bigdir"]
    if big:
        md += ["### Cold `ls -l` of a %d-entry directory (issue 6)" % ctx.scale["bigdir_n"], "",
               "| system | median s | fake-worker requests (last run) |", "| --- | ---: | --- |"]
        for s in ("af-workers", "bindfs"):
            rs = [r for r in big if r["system"] == s]
            if rs:
                md.append("| %s | %s | %s |" % (s, fmt(median_of(rs, system=s), 2),
                                               json.dumps(rs[-1].get("requests") or {})))
        md.append("")
    tun = [r for r in rows if r.get("variant") not in (None, "default")]
    variants = [t[0] for t in TUNING if any(r["variant"] == t[0] for r in tun)]
    if variants:
        md += ["### Tuning (af-local, median; one section, baseline = defaults measured with it)",
               "", "| variant | seq cold MiB/s | seq restart MiB/s | rand4k cold IOPS | "
               "rand4k restart IOPS |", "| --- | ---: | ---: | ---: | ---: |"]
        for v in variants:
            cells = [fmt(median_of(tun, variant=v, system="af-local", workload=w, phase=p))
                     for w in ("seq", "rand4k") for p in ("cold", "restart")]
            md.append("| %s | %s |" % (v, " | ".join(cells)))
        md.append("")
    if ctx.cut:
        md += ["### Not measured or failed", ""] + ["- " + c for c in ctx.cut] + [""]
    return md


def write_outputs(ctx):
    with open(os.path.join(ctx.out, "samples.csv"), "w") as f:
        cols = ["variant", "system", "workload", "phase", "rep", "value", "unit", "rss_kib",
                "cpu_s"]
        f.write(",".join(cols) + "\n")
        for r in ctx.rows:
            f.write(",".join("" if r.get(c) is None else str(r.get(c)) for c in cols) + "\n")
    md = report(ctx)
    with open(os.path.join(ctx.out, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(ctx.out, "meta.json"), "w") as f:
        json.dump({"stamp": ctx.stamp, "mode": ctx.mode, "argv": sys.argv, "scale": ctx.scale,
                   "nproc": os.cpu_count(), "kernel": os.uname().release,
                   "sections_s": ctx.section_times, "cut": ctx.cut,
                   "read_ahead_kb_seen": ctx.read_ahead_seen, "pin_cpu": ctx.args.pin_cpu,
                   "af_set": ctx.args.af_set},
                  f, indent=1)
    print("\n".join(md))


# ---------------------------------------------------------------- main

# The baseline is measured again in the tuning section: the machine's load drifts between sections.
TUNING = [("baseline", {}, None),
          ("max_threads=4", {"mount": {"max_threads": 4}}, None),
          ("max_read=128KiB", {"mount": {"max_read": "128KiB"}}, None),
          ("read_ahead_kb=1024", {}, 1024),
          ("readahead off", {"page_cache": {"readahead": {"enabled": False}}}, None)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--sections", default=None,
                    help="default: matrix,issue3,rss,bigdir (quick), plus tuning (full)")
    ap.add_argument("--af-bin")
    ap.add_argument("--fake-worker")
    ap.add_argument("--report-only", metavar="DIR",
                    help="rewrite DIR/report.md from DIR/samples.jsonl and DIR/meta.json")
    ap.add_argument("--out", default=None)
    ap.add_argument("--tmp-root", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--fio-runtime", type=int, default=None,
                    help="cap of one fio run in s (default 30 quick, 60 full)")
    ap.add_argument("--read-ahead-kb", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--af-set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for every alluxio-fuse mount, e.g. "
                         "page_cache.max_inflight_fetches=8 (repeatable; for A/B runs)")
    ap.add_argument("--pin-cpu", type=int, default=None, metavar="N",
                    help="run every mount daemon and fio on CPU N (taskset): placement-free numbers")
    args = ap.parse_args()
    if args.report_only:
        return report_only(args)
    if not args.af_bin or not args.fake_worker:
        ap.error("--af-bin and --fake-worker are required")
    ctx = Context()
    ctx.args = args
    ctx.mode = "quick" if args.quick else "full"
    ctx.scale = SCALES[ctx.mode]
    if args.fio_runtime is None:
        args.fio_runtime = 30 if args.quick else 60
    ctx.af_bin, ctx.fake_bin = os.path.abspath(args.af_bin), os.path.abspath(args.fake_worker)
    ctx.af_overrides, ctx.variant, ctx.rows, ctx.section_times, ctx.cut = {}, "default", [], {}, []
    ctx.read_ahead_seen = {}
    ctx.af_set = parse_af_set(ap, args.af_set)
    ctx.stamp = datetime.datetime.now().strftime("%Y-%m-%d")
    ctx.out = args.out or os.path.join(HERE, "results", "%s-%s" % (ctx.stamp, ctx.mode))
    if os.path.exists(ctx.out) and not args.out:
        ctx.out += datetime.datetime.now().strftime("-%H%M%S")
    os.makedirs(ctx.out, exist_ok=True)
    systems = [s for s in args.systems.split(",") if s]
    if "af-uring" in systems and not os.path.exists(uring_switch.PARAM):
        log("af-uring skipped: this kernel has no FUSE over io_uring (%s)" % uring_switch.PARAM)
        systems.remove("af-uring")
    if "af-uring" in systems or ctx.af_set.get("mount", {}).get("io_uring") is True:
        enable_fuse_uring()
    workloads = [w for w in args.workloads.split(",") if w]
    sections = set((args.sections or "matrix,issue3,rss,bigdir" +
                    ("" if args.quick else ",tuning")).split(","))

    ctx.tmp = tempfile.mkdtemp(prefix="af-bench-", dir=args.tmp_root)
    CLEANUPS.append(lambda: shutil.rmtree(ctx.tmp, ignore_errors=True))
    atexit.register(run_cleanups)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    log("results -> %s, temp -> %s" % (ctx.out, ctx.tmp))

    ctx.data = os.path.join(ctx.tmp, "data")
    make_dataset(ctx.data, ctx.scale)
    # The new dataset is dirty in the page cache: unsynced, its writeback starts ~30 s later
    # (vm.dirty_expire_centisecs) in the middle of the first measurements, and evict() cannot
    # drop dirty pages. Every rep should start from the same clean, evictable state.
    t0 = time.monotonic()
    os.sync()
    log("dataset synced in %.1f s" % (time.monotonic() - t0))
    ctx.large = dataset_files(ctx.data, "large")
    ctx.small = dataset_files(ctx.data, "small")
    ctx.meta = dataset_files(ctx.data, "meta")
    ctx.meta_list = os.path.join(ctx.tmp, "meta.list")
    with open(ctx.meta_list, "wb") as f:
        f.write(b"".join(os.fsencode(r) + b"\0" for r in ctx.meta) * STAT_PASSES)
    ctx.small_list = os.path.join(ctx.tmp, "small.list")
    with open(ctx.small_list, "wb") as f:
        f.write(b"".join(os.fsencode(r) + b"\0" for r in ctx.small))

    with socket_port() as port:
        ctx.workers = FakeWorkers(ctx.fake_bin, ctx.data, port)
    ctx.workers.start()
    CLEANUPS.append(ctx.workers.stop)
    if any(s in systems for s in ("af-s3", "s3fs", "s3fs-cache", "rclone", "rclone-full")):
        ctx.s3 = S3rver(ctx.tmp)
        CLEANUPS.append(ctx.s3.stop)
        t0 = time.monotonic()
        ctx.s3.upload(ctx.data, ctx.large + ctx.small + ctx.meta)
        log("uploaded the dataset to s3rver in %.0f s" % (time.monotonic() - t0))

    def section(name, fn):
        if name not in sections:
            return
        t0 = time.monotonic()
        log("=== section %s" % name)
        try:
            fn()
        except Exception as e:  # report what was measured; name what failed
            log("section %s failed: %r" % (name, e))
            ctx.cut.append("%s: failed: %r" % (name, e))
        ctx.section_times[name] = round(time.monotonic() - t0)

    section("matrix", lambda: measure_matrix(ctx, systems, workloads))
    section("issue3", lambda: issue3(ctx))
    section("rss", lambda: [rss_run(ctx, s) for s in ("af-local", "af-uring", "af-workers")
                            if s != "af-uring" or s in systems])
    section("bigdir", lambda: bigdir_listing(ctx))

    def tuning():
        for label, over, ra in TUNING:
            ctx.variant, ctx.af_overrides, args.read_ahead_kb = label, over, ra or 0
            try:
                measure_matrix(ctx, ["af-local"], ["seq", "rand4k"])
            except OSError as e:
                ctx.cut.append("tuning %s: %r" % (label, e))
        ctx.variant, ctx.af_overrides, args.read_ahead_kb = "default", {}, 0
    section("tuning", tuning)
    write_outputs(ctx)
    log("done; results in %s" % ctx.out)


def report_only(args):
    ctx = Context()
    ctx.out = args.report_only
    with open(os.path.join(ctx.out, "meta.json")) as f:
        meta = json.load(f)
    with open(os.path.join(ctx.out, "samples.jsonl")) as f:
        ctx.rows = [json.loads(line) for line in f if line.strip()]
    ctx.stamp, ctx.mode, ctx.scale = meta["stamp"], meta["mode"], meta["scale"]
    ctx.cut = meta["cut"]
    ctx.args = argparse.Namespace(reps=max(r["rep"] for r in ctx.rows) + 1,
                                  pin_cpu=meta.get("pin_cpu"), af_set=meta.get("af_set"))
    md = report(ctx)
    with open(os.path.join(ctx.out, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


class socket_port:
    """A free TCP port on 127.0.0.2 (the fake workers share one port on three addresses)."""

    def __enter__(self):
        import socket
        self.s = socket.socket()
        self.s.bind(("127.0.0.2", 0))
        return self.s.getsockname()[1]

    def __exit__(self, *exc):
        self.s.close()


if __name__ == "__main__":
    try:
        main()
    finally:
        run_cleanups()
