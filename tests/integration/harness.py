"""Shared fixtures for integration tests: real mounts of the built binary, real server processes.

Every process and mount started here is stopped in tearDown/cleanup even when a test fails:
fusermount3 -u, then SIGTERM, then SIGKILL, then a lazy unmount, so a stuck mount can never hang
the suite. Each helper has its own deadline.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

BINARY = os.environ.get("AF_BINARY", "alluxio-fuse")
FAKE_WORKER = os.environ.get("AF_FAKE_WORKER", "fake_worker")
TMP_ROOT = os.environ.get("AF_TMP", "/tmp")
# Set by scripts/sanitizer-integration.sh: the directory where ASan/UBSan reports of the
# daemon land (ASAN_OPTIONS/UBSAN_OPTIONS log_path). Any report there fails the test that made it.
SANITIZER_LOG_DIR = os.environ.get("AF_SANITIZER_LOG_DIR")
# Deadline assertions are multiplied by this under sanitizers (the daemon runs ~3x slower).
TIME_SCALE = float(os.environ.get("AF_TIME_SCALE", "1"))
# AF_IT_IO_URING=1: every mount asks for FUSE over io_uring (mount.io_uring) unless its test
# says otherwise; the runner turns on /sys/module/fuse/parameters/enable_uring.
IO_URING = os.environ.get("AF_IT_IO_URING") == "1"
if IO_URING:  # the kernel's switch on for this process, the old value back at exit
    import atexit
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
    import uring_switch  # noqa: E402
    try:
        atexit.register(uring_switch.turn_on())
    except OSError as e:
        raise SystemExit("AF_IT_IO_URING=1 needs %s: %s" % (uring_switch.PARAM, e))


def sanitizer_reports():
    """{path: text} of sanitizer reports written so far (empty when not under sanitizers)."""
    out = {}
    if not SANITIZER_LOG_DIR or not os.path.isdir(SANITIZER_LOG_DIR):
        return out
    for name in sorted(os.listdir(SANITIZER_LOG_DIR)):
        path = os.path.join(SANITIZER_LOG_DIR, name)
        try:
            with open(path, errors="replace") as f:
                out[path] = f.read()
        except OSError:
            pass
    return out


def is_mountpoint(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4].encode().decode("unicode_escape")
            if mnt == path:
                return True
    return False


def wait_until(predicate, timeout, what):
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))


def force_unmount(path):
    """Unmount however it takes; never raises, never blocks for long."""
    for cmd in (["fusermount3", "-u", "-q", path], ["umount", "-l", path],
                ["fusermount3", "-u", "-z", "-q", path]):
        if not is_mountpoint(path):
            return
        try:
            subprocess.run(cmd, timeout=10, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pass


def run_cmd(argv, timeout=60, env=None):
    """Runs a command that may daemonize, without pipes: its output goes to temp files.

    subprocess.run(capture_output=True) waits for EOF on the pipes after the timeout kills the
    parent; a daemonized grandchild that still holds them makes that wait endless. Files have no
    EOF to wait for, so this returns (or raises TimeoutExpired) within `timeout`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(argv, code, out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))


def run_cli(args, timeout=60, env=None):
    """The built binary with `args`; see run_cmd."""
    return run_cmd([BINARY] + list(args), timeout=timeout, env=env)


def route_hosts(conf, keys, count):
    """The ordered candidate hosts of each full key, from `alluxio-fuse route --raw --json`
    with the config file `conf`: one list of `count` hosts per key."""
    out = run_cli(["route", "--config", conf, "--raw", "--json", "--count", str(count)]
                  + list(keys), timeout=30)
    if out.returncode != 0:
        raise AssertionError("alluxio-fuse route failed: %s" % out.stderr)
    return [[c["host"] for c in e["candidates"]] for e in json.loads(out.stdout)]


def bounded(fn, timeout, what):
    """Calls fn() in a daemon thread; raises TimeoutError if it has not returned in `timeout`.

    For file-system calls on a mount that may be dead or stuck: the test fails fast instead of
    hanging until ctest's limit (the stuck thread is abandoned; cleanup unmounts lazily)."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e
    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError("timed out after %.1fs: %s" % (timeout, what))
    if "error" in box:
        raise box["error"]
    return box.get("value")


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_yaml(path, mapping):
    """A tiny YAML writer for flat and nested dicts of scalars/lists (no PyYAML needed)."""
    def emit(obj, indent):
        out = []
        for k, v in obj.items():
            pad = "  " * indent
            if isinstance(v, dict):
                out.append("%s%s:" % (pad, k))
                out.extend(emit(v, indent + 1))
            elif isinstance(v, list):
                out.append("%s%s: %s" % (pad, k, json.dumps(v)))
            elif isinstance(v, bool):
                out.append("%s%s: %s" % (pad, k, "true" if v else "false"))
            else:
                out.append("%s%s: %s" % (pad, k, json.dumps(v) if isinstance(v, str) else v))
        return out
    with open(path, "w") as f:
        f.write("\n".join(emit(mapping, 0)) + "\n")


class Mount:
    """A foreground alluxio-fuse process mounted on a fresh directory."""

    def __init__(self, workdir, config, extra_args=(), name="mnt", start_timeout=30, env=None):
        self.workdir = workdir
        self.mountpoint = os.path.join(workdir, name)
        os.makedirs(self.mountpoint, exist_ok=True)
        self.config_path = os.path.join(workdir, name + ".yaml")
        self.log_dir = os.path.join(workdir, name + "-logs")
        os.makedirs(self.log_dir, exist_ok=True)
        cfg = dict(config)
        # Set when this harness asked for io_uring (AF_IT_IO_URING=1 and the test did not say):
        # a clean stop then checks that the rings were really used.
        self.uring_injected = IO_URING and "io_uring" not in cfg.get("mount", {})
        if self.uring_injected:
            cfg["mount"] = dict(cfg.get("mount", {}), io_uring=True)
        cfg.setdefault("logger", {}).setdefault("path", self.log_dir)
        cfg.setdefault("metrics", {}).setdefault("enabled", False)
        cfg.setdefault("page_cache", {}).setdefault("dir", os.path.join(workdir, name + "-cache"))
        cfg.setdefault("write", {}).setdefault("staging_dir",
                                               os.path.join(workdir, name + "-staging"))
        write_yaml(self.config_path, cfg)
        self.stderr_path = os.path.join(workdir, name + ".stderr")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [BINARY, "mount", self.mountpoint, "--config", self.config_path, "--foreground"]
                + list(extra_args),
                stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            wait_until(lambda: is_mountpoint(self.mountpoint) or self.proc.poll() is not None,
                       start_timeout, "mount of " + self.mountpoint)
            if self.proc.poll() is not None:
                raise RuntimeError("alluxio-fuse exited with %s: %s" %
                                   (self.proc.returncode, self.stderr()))
        except Exception:
            self.stop()
            raise

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log(self):
        path = os.path.join(self.log_dir, "alluxio-fuse.log")
        try:
            with open(path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def path(self, rel=""):
        return os.path.join(self.mountpoint, rel)

    def stop(self, timeout=20):
        """Unmount and wait for the daemon; returns its exit code (None if it had to be killed)."""
        code = None
        if self.proc.poll() is None and is_mountpoint(self.mountpoint):
            try:
                subprocess.run(["fusermount3", "-u", "-q", self.mountpoint], timeout=10,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                pass
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                code = None
        force_unmount(self.mountpoint)
        if self.uring_injected and code == 0 and "FUSE over io_uring:" not in self.log():
            raise AssertionError("AF_IT_IO_URING=1 but %s was served through /dev/fuse:\n%s"
                                 % (self.mountpoint, self.log()[-2000:]))
        return code


class FakeWorker:
    """One tests/fake_worker process on a loopback address."""

    def __init__(self, ufs_maps, bind="127.0.0.1", mode="enterprise", extra=(), port=0):
        args = [FAKE_WORKER, "--bind", bind, "--port", str(port), "--mode", mode]
        for prefix, local in ufs_maps.items():
            args += ["--ufs-map", "%s=%s" % (prefix, local)]
        args += list(extra)
        self.bind = bind
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = b""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith(b"LISTENING") or not line:
                break
        if not line.startswith(b"LISTENING"):
            self.stop()
            raise RuntimeError("fake_worker did not start")
        self.port = int(line.split()[1])

    @property
    def address(self):
        return "%s:%d" % (self.bind, self.port)

    def request(self, method, path, body=None, timeout=10):
        req = urllib.request.Request("http://%s%s" % (self.address, path), data=body,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            # Says who answered: a 404 for a debug route once came from this address in CI,
            # unexplained; the body and the process state tell a dead worker (its port reused
            # by another server) from a worker that did not know the route.
            raise RuntimeError("fake worker %s: %s %s -> HTTP %d, body %r, worker %s" % (
                self.address, method, path, e.code, e.read()[:300],
                "running" if self.proc.poll() is None else
                "exited with %s" % self.proc.returncode)) from e

    def counters(self):
        return json.loads(self.request("GET", "/debug/requests"))

    def reset_counters(self):
        self.request("POST", "/debug/requests/reset", body=b"")

    def faults(self, spec):
        self.request("POST", "/debug/faults", body=json.dumps(spec).encode())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.proc.stdout.close()


class TempDirTestCase(unittest.TestCase):
    """A test case with a private temp dir and a cleanup stack that always runs."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="af-it-", dir=TMP_ROOT)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        if SANITIZER_LOG_DIR:
            # Runs after every other cleanup (LIFO), i.e. once the daemons have exited.
            before = set(sanitizer_reports())
            self.addCleanup(self._check_sanitizer_reports, before)

    def _check_sanitizer_reports(self, before):
        new = {p: t for p, t in sanitizer_reports().items() if p not in before}
        if new:
            self.fail("sanitizer reports from the daemon:\n" +
                      "\n".join("== %s\n%s" % (p, t[:4000]) for p, t in new.items()))

    def start_mount(self, config, **kw):
        m = Mount(self.tmp, config, **kw)
        self.addCleanup(m.stop)
        return m

    def start_worker(self, *a, **kw):
        w = FakeWorker(*a, **kw)
        self.addCleanup(w.stop)
        return w
