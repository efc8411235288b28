"""Issue 9: `alluxio-fuse load` and `alluxio-fuse doctor` against real fake-worker processes.

Three fake workers on 127.0.0.2/.3/.4 (one port) serve one local UFS directory, as in
test_workers.py. The worker a key goes to is taken from `alluxio-fuse route --raw`, the same
routing the load command uses; every assertion about requests reads the fake workers'
/debug/requests counters (endpoint `load` counts submit, progress and stop alike).
"""
import os
import re
import socket
import subprocess
import time

import harness
from harness import BINARY

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
VNODES = 5
VN_KEY = "alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker"
FAST = ["--poll-interval", "100ms"]


def run(args, timeout=60):
    return harness.run_cli(args, timeout=timeout)


class ClusterCase(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(os.path.join(self.ufs, "data", "sub"))
        for rel, size in (("data/a.bin", 3 << 20), ("data/sub/b.bin", 1000), ("top.txt", 10)):
            with open(os.path.join(self.ufs, rel), "wb") as f:
                f.write(os.urandom(size))
        self.root = "file://" + self.ufs
        self.port = harness.free_port()
        peers = ",".join("%s:%d" % (h, self.port) for h in HOSTS)
        self.workers = {}
        for h in HOSTS:
            self.workers[h] = self.start_worker(
                {self.root: self.ufs}, bind=h, port=self.port,
                extra=["--peers", peers, "--vnodes", str(VNODES), "--seed", "7"])

    def config(self, **overrides):
        cfg = {"ufs_root": self.root,
               "worker_hosts": ",".join("%s:%d" % (h, self.port) for h in HOSTS),
               "options": {VN_KEY: VNODES},
               "routing": {"connect_timeout": "1s", "metadata_timeout": "2s"},
               "metrics": {"enabled": False},
               "page_cache": {"dir": os.path.join(self.tmp, "cache"), "capacity": "64MiB"},
               "write": {"staging_dir": os.path.join(self.tmp, "staging"),
                         "staging_capacity": "64MiB"}}
        cfg.update(overrides)
        path = os.path.join(self.tmp, "conf.yaml")
        harness.write_yaml(path, cfg)
        return path

    def owners(self, key, conf):
        return harness.route_hosts(conf, [key], 3)[0]

    def load_counts(self):
        return {h: w.counters()["by_endpoint"].get("load", 0) for h, w in self.workers.items()}


class LoadTest(ClusterCase):
    def test_submit_progress_succeeded(self):
        conf = self.config()
        key = self.root + "/data"
        owner = self.owners(key, conf)[0]
        r = run(["load", "/data", "--config", conf, "--timeout", "30s"] + FAST)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCEEDED", r.stdout)
        self.assertIn("submitted to %s:%d" % (owner, self.port), r.stdout)
        # Not a terminal: plain lines, no carriage returns or escape sequences.
        self.assertNotIn("\r", r.stdout)
        self.assertNotIn("\x1b", r.stdout)
        counts = self.load_counts()
        self.assertEqual(counts[owner], 2, counts)  # submit + one progress
        self.assertEqual(sum(counts.values()), 2, counts)
        # The fake worker really loaded the files' pages.
        pages = self.workers[owner].request("GET", "/debug/pages")
        self.assertGreaterEqual(pages.count(b"page_index"), 4, pages)  # 3 + 1 pages

    def test_full_key_is_the_same_job(self):
        conf = self.config()
        owner = self.owners(self.root + "/data", conf)[0]
        r = run(["load", self.root + "//data/", "--config", conf] + FAST)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.load_counts()[owner], 2)

    def test_stop(self):
        conf = self.config()
        owner = self.owners(self.root + "/data", conf)[0]
        self.assertEqual(run(["load", "data", "--config", conf] + FAST).returncode, 0)
        before = self.load_counts()[owner]
        r = run(["load", "data", "--config", conf, "--stop"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("stopped", r.stdout)
        self.assertEqual(self.load_counts()[owner], before + 1)

    def test_stop_without_job_fails(self):
        conf = self.config()
        r = run(["load", "/data", "--config", conf, "--stop"])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("No job found", r.stderr)

    def test_timeout_stops_the_job(self):
        conf = self.config()
        owner = self.owners(self.root + "/data", conf)[0]
        self.workers[owner].faults({"hang": True})
        t0 = time.monotonic()
        r = run(["load", "/data", "--config", conf, "--timeout", "1s"] + FAST)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("timed out", r.stderr)
        # The deadline bounds the submit (1 s); the stop gets routing.metadata_timeout (2 s).
        self.assertLess(elapsed, 8, r.stderr)
        counts = self.load_counts()
        self.assertEqual(counts[owner], 2, counts)  # the submit, then the stop
        self.assertEqual(sum(counts.values()), 2, counts)
        self.workers[owner].faults({})

    def test_failed_job_exits_1(self):
        conf = self.config()
        r = run(["load", "/no/such/dir", "--config", conf] + FAST)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("does not exist", r.stderr)

    def test_submit_fails_over_when_the_owner_is_down(self):
        conf = self.config()
        first, second = self.owners(self.root + "/data", conf)[:2]
        self.workers[first].kill()
        r = run(["load", "/data", "--config", conf] + FAST)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("submitted to %s:%d" % (second, self.port), r.stdout)
        self.assertEqual(self.workers[second].counters()["by_endpoint"].get("load", 0), 2)

    def test_usage_errors_exit_2(self):
        conf = self.config()
        self.assertEqual(run(["load", "/data", "--config", conf, "--timeout", "soon"]).returncode,
                         2)
        self.assertEqual(run(["load", "/data"]).returncode, 2)  # no --config
        standalone = os.path.join(self.tmp, "standalone.yaml")
        harness.write_yaml(standalone, {"ufs_root": self.root})
        r = run(["load", "/data", "--config", standalone])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("standalone", r.stderr)
        self.assertEqual(sum(self.load_counts().values()), 0)


LINE = re.compile(r"^(.*?)\s+(OK|WARN|FAIL)\s+(.*)$")


def parse_doctor(stdout):
    rows = []
    for line in stdout.splitlines()[1:]:
        m = LINE.match(line)
        if m:
            rows.append((m.group(1), m.group(2), m.group(3)))
    return rows


class DoctorTest(ClusterCase):
    def doctor(self, conf, *extra):
        r = run(["doctor", "--config", conf] + list(extra))
        return r, parse_doctor(r.stdout)

    def verdicts(self, rows, prefix):
        return [v for name, v, _ in rows if name.startswith(prefix)]

    def test_healthy_cluster(self):
        mp = os.path.join(self.tmp, "mnt")
        os.makedirs(mp)
        r, rows = self.doctor(self.config(), mp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("FAIL", [v for _, v, _ in rows], r.stdout)
        self.assertEqual(self.verdicts(rows, "worker "), ["OK"] * 3, r.stdout)
        for part in ("config", "ufs ", "page_cache.dir", "write.staging_dir", "/dev/fuse",
                     "metrics", "mount point"):
            self.assertEqual(self.verdicts(rows, part), ["OK"], (part, r.stdout))
        # Each worker was asked about the root, once.
        for w in self.workers.values():
            self.assertEqual(w.counters()["by_endpoint"].get("info", 0), 1)

    def test_worker_down(self):
        self.workers[HOSTS[1]].kill()
        r, rows = self.doctor(self.config())
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        by_name = {name: (v, d) for name, v, d in rows}
        down = by_name["worker %s:%d" % (HOSTS[1], self.port)]
        self.assertEqual(down[0], "FAIL", r.stdout)
        self.assertIn("unreachable", down[1])
        self.assertEqual(by_name["worker %s:%d" % (HOSTS[0], self.port)][0], "OK")
        self.assertIn("1 FAIL", r.stdout)

    def test_missing_ufs_dir(self):
        missing = "file://" + os.path.join(self.tmp, "missing")
        r, rows = self.doctor(self.config(ufs_root=missing))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        ufs = [(v, d) for name, v, d in rows if name.startswith("ufs ")]
        self.assertEqual(ufs[0][0], "FAIL", r.stdout)
        self.assertIn("not_found", ufs[0][1])

    def test_standalone_and_live_mount(self):
        m = self.start_mount({"ufs_root": self.root})
        r, rows = self.doctor(m.config_path, m.mountpoint)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.verdicts(rows, "worker "), [])
        by_name = {name: (v, d) for name, v, d in rows}
        self.assertEqual(by_name["mount point " + m.mountpoint][0], "OK", r.stdout)
        self.assertIn("mounted", by_name["mount point " + m.mountpoint][1])
        # The running daemon holds its cache directory: a warning, not a failure.
        self.assertEqual(by_name["page_cache.dir"][0], "WARN", r.stdout)
        self.assertIn("in use", by_name["page_cache.dir"][1])

    def test_metrics_port_taken_by_another_program(self):
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r, rows = self.doctor(self.config(metrics={"listen": "127.0.0.1:%d" % port}))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        by_name = {name: (v, d) for name, v, d in rows}
        self.assertEqual(by_name["metrics 127.0.0.1:%d" % port][0], "FAIL", r.stdout)

    def test_bad_config_exits_2(self):
        conf = os.path.join(self.tmp, "bad.yaml")
        with open(conf, "w") as f:
            f.write("ufs_root: file:///tmp\npage_cache:\n  capcity: 1GiB\n")
        r, _ = self.doctor(conf)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("page_cache.capcity", r.stderr)
