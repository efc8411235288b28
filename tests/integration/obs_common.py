"""Shared pieces of the observability, page-cache and metadata integration tests ("obs").

- `Cluster`: three fake workers on 127.0.0.2/.3/.4 serving one local UFS directory, started
  once per test class when a class needs an expensive dataset, with the mount config for them.
- `scrape` / `parse_exposition`: fetch `/metrics` from the address the daemon writes to
  `<logger.path>/metrics.addr` and turn the text into {(name, labels): value}.
- counter helpers over the fake workers' `/debug/requests`.

Stdlib only, like harness.py; every process started here has a stop() that never raises.
"""
import hashlib
import os
import random
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request

import harness

MiB = 1 << 20
VNODES = 5
VN_KEY = "alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker"
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def path_id(key):
    return hashlib.sha256(key.encode()).hexdigest()


def write_random(path, size, seed):
    rng = random.Random(seed)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 8 * MiB)
            f.write(rng.randbytes(n))
            left -= n


def sha256_read(path, chunk=MiB):
    """Reads the whole file in `chunk`-sized reads; returns (hex digest, bytes read)."""
    h = hashlib.sha256()
    total = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
            total += len(b)
    return h.hexdigest(), total


def merge(base, **sections):
    """base with each dict section merged one level deep (other values replace)."""
    cfg = dict(base)
    for k, v in sections.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = dict(cfg[k], **v)
        else:
            cfg[k] = v
    return cfg


class Cluster:
    """Three fake workers over `ufs`, all on one port (the ring identity is the host)."""

    def __init__(self, ufs, hosts=HOSTS):
        self.ufs = ufs
        self.root = "file://" + ufs
        self.port = harness.free_port()
        self.hosts = hosts
        self.workers = {}
        peers = ",".join("%s:%d" % (h, self.port) for h in hosts)
        try:
            for h in hosts:
                self.workers[h] = harness.FakeWorker(
                    {self.root: ufs}, bind=h, port=self.port,
                    extra=["--peers", peers, "--vnodes", str(VNODES), "--seed", "7"])
        except Exception:
            self.stop()
            raise

    def config(self, **sections):
        base = {"ufs_root": self.root,
                "worker_hosts": ",".join("%s:%d" % (h, self.port) for h in self.hosts),
                "options": {VN_KEY: VNODES},
                "routing": {"backoff_initial": "50ms", "backoff_max": "200ms"}}
        return merge(base, **sections)

    def key(self, rel):
        return self.root + "/" + rel if rel else self.root

    def reset(self):
        for w in self.live():
            w.reset_counters()

    def live(self):
        return [w for w in self.workers.values() if w.proc.poll() is None]

    def counters(self):
        return [w.counters() for w in self.live()]

    def endpoint_total(self, endpoint):
        return sum(c.get("by_endpoint", {}).get(endpoint, 0) for c in self.counters())

    def total_requests(self):
        return sum(c.get("total", 0) for c in self.counters())

    def by_path(self, key, endpoint):
        pid = path_id(key)
        return sum(c.get("by_path_id", {}).get(pid, {}).get(endpoint, 0)
                   for c in self.counters())

    def owners(self, rels, scratch):
        """The first-choice worker host of each path (relative to the UFS root), asked of
        `alluxio-fuse route --raw` with this cluster's config (written under `scratch`)."""
        conf = os.path.join(scratch, "route.yaml")
        harness.write_yaml(conf, self.config())
        return [hosts[0] for hosts in harness.route_hosts(conf, [self.key(r) for r in rels], 1)]

    def spread(self, count, scratch, pattern="data/f%03d.bin"):
        """`count` names from `pattern` chosen so that every worker owns at least
        count // len(hosts) of them. The ring depends on the UFS root (a fresh temp dir), and
        with few virtual nodes a fixed list of names can miss a worker entirely."""
        want = count // len(self.hosts)
        names = [pattern % i for i in range(count * 8)]
        taken = {h: [] for h in self.hosts}
        for rel, host in zip(names, self.owners(names, scratch)):
            if len(taken[host]) < want:
                taken[host].append(rel)
        chosen = [r for rels in taken.values() for r in rels]
        if len(chosen) < want * len(self.hosts):
            raise AssertionError("no spread over the workers in %d names: %s"
                                 % (len(names), {h: len(r) for h, r in taken.items()}))
        rest = [r for r in names if r not in chosen]
        return sorted(chosen + rest[:count - len(chosen)])

    def stop(self):
        for w in self.workers.values():
            try:
                w.stop()
            except Exception:
                pass


class ClassCluster:
    """Mixin for a unittest.TestCase class that shares one temp dir and one Cluster.

    setUpClass calls `make_dataset(ufs)` once; everything is removed in tearDownClass, which
    unittest runs even when a test fails (and the mixin cleans up if setUpClass itself fails).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.class_tmp = tempfile.mkdtemp(prefix="af-obs-", dir=harness.TMP_ROOT)
        try:
            cls.ufs = os.path.join(cls.class_tmp, "ufs")
            os.makedirs(cls.ufs)
            cls.make_dataset(cls.ufs)
            cls.cluster = Cluster(cls.ufs)
        except Exception:
            cls._class_cleanup()
            raise

    @classmethod
    def _class_cleanup(cls):
        c = getattr(cls, "cluster", None)
        if c is not None:
            c.stop()
        shutil.rmtree(cls.class_tmp, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls._class_cleanup()
        super().tearDownClass()

    @classmethod
    def make_dataset(cls, ufs):
        pass


# ---- /metrics ----

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_exposition(text):
    """{(name, frozenset of (label, value)): float} for every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("unparsable exposition line: %r" % line)
        labels = frozenset(_LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metrics_address(mount, timeout=10):
    path = os.path.join(mount.log_dir, "metrics.addr")
    harness.wait_until(lambda: os.path.exists(path), timeout, "metrics.addr")
    with open(path) as f:
        return f.read().strip()


def http_get(url, timeout=10):
    """(status, body bytes); HTTP errors are answers, not exceptions."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def scrape(address):
    status, body = http_get("http://%s/metrics" % address)
    if status != 200:
        raise AssertionError("/metrics answered %d" % status)
    return body.decode()


class Samples:
    """Lookups over one parsed scrape."""

    def __init__(self, text):
        self.text = text
        self.samples = parse_exposition(text)

    def get(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels` (0 if none)."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and want <= ls)

    def series(self, name):
        return {ls: v for (n, ls), v in self.samples.items() if n == name}


def wait_metric(address, predicate, timeout, what):
    """Scrapes until predicate(Samples) holds (counters published by the daemon's collect hook
    or by background tasks may lag a read by a moment); returns the last Samples."""
    last = [None]

    def check():
        last[0] = Samples(scrape(address))
        return predicate(last[0])
    harness.wait_until(check, timeout, what)
    return last[0]


# ---- page cache directory ----

def page_files(cache_dir):
    """Paths of page files under <dir>/<P>/<bucket>/<file id>/<index> (tmp/ excluded)."""
    out = []
    for psize in os.listdir(cache_dir) if os.path.isdir(cache_dir) else ():
        top = os.path.join(cache_dir, psize)
        if not psize.isdigit() or not os.path.isdir(top):
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            rel = os.path.relpath(dirpath, top)
            if rel == "tmp" or rel.startswith("tmp" + os.sep):
                continue
            if rel.count(os.sep) == 1:  # <bucket>/<file id>
                out.extend(os.path.join(dirpath, f) for f in filenames)
    return out


def page_bytes(cache_dir):
    total = 0
    for p in page_files(cache_dir):
        try:
            total += os.stat(p).st_size
        except FileNotFoundError:
            pass  # evicted while we walked
    return total


def wait_quiet(cluster, settle=0.3, timeout=20):
    """Waits until the workers' request totals stop changing (background readahead done)."""
    last = [-1, time.monotonic()]

    def still():
        t = cluster.total_requests()
        now = time.monotonic()
        if t != last[0]:
            last[0], last[1] = t, now
            return False
        return now - last[1] >= settle
    harness.wait_until(still, timeout, "worker traffic to settle")
