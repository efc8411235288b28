"""Observability end to end (issue 8): /metrics agrees exactly with a scripted workload over
three fake workers, a real Prometheus scrapes the daemon, every Grafana dashboard expr
evaluates, `promtool check metrics` accepts the exposition, and /healthz answers while mounted.

The workload is counted on both sides: the fake workers count every request they receive
(`/debug/requests`, faulted ones included) and the daemon counts every attempt it makes, so for
each worker REST method the daemon's `alluxio_http_server_result_total` summed over states must
equal the workers' counter exactly. Reads use `mount.direct_io` so that a re-read reaches the
daemon (not the kernel page cache), and 128 KiB reads, which every kernel delivers as one FUSE
read each, so each read is one page-cache lookup and the expected hit count is exact.
Knobs: AF_PROMETHEUS, AF_PROMTOOL (binaries; default /usr/bin/prometheus, /usr/bin/promtool).
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import harness
import obs_common as oc

MiB = oc.MiB
READ = 128 << 10
PROMETHEUS = os.environ.get("AF_PROMETHEUS", shutil.which("prometheus") or "/usr/bin/prometheus")
PROMTOOL = os.environ.get("AF_PROMTOOL", shutil.which("promtool") or "/usr/bin/promtool")
SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STATES = ("ok", "not_found", "timeout", "refused", "http_4xx", "http_5xx", "no_reply",
          "bad_response")
WORKER_METHODS = ("info", "list", "get_page", "post_page", "range", "chunk_read", "chunk_write",
                  "head", "tail", "mkdir", "touch", "rm", "mv", "copy", "load", "node", "ufs_info")


def read_count(size):
    """FUSE reads with data for one pass of READ-sized reads (the EOF read does no lookup)."""
    return (size + READ - 1) // READ


class MetricsTestCase(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(self.ufs)
        self.cluster = oc.Cluster(self.ufs)
        self.addCleanup(self.cluster.stop)

    def mount(self, **sections):
        cfg = self.cluster.config(metrics={"enabled": True, "listen": "127.0.0.1:0"},
                                  mount={"direct_io": True}, **sections)
        m = self.start_mount(cfg)
        return m, oc.metrics_address(m)

    def read_pass(self, m, files):
        for rel, size in files.items():
            digest, n = oc.sha256_read(m.path(rel), READ)
            self.assertEqual(n, size, rel)
            self.assertEqual(digest, harness.sha256_file(os.path.join(self.ufs, rel)), rel)


class WorkloadCountsTest(MetricsTestCase):
    def test_scrape_shows_exactly_what_the_workload_implies(self):
        files = {}
        for i, rel in enumerate(self.cluster.spread(18, self.tmp)):
            size = 2 * MiB + 1000 * i + 1
            oc.write_random(os.path.join(self.ufs, rel), size, seed=i)
            files[rel] = size
        m, addr = self.mount()
        status, body = oc.http_get("http://%s/healthz" % addr)
        self.assertEqual((status, body.strip()), (200, b"ok"))

        # Pass 1: everything from the workers (listing, attributes, pages).
        self.assertEqual(sorted(os.listdir(m.path("data"))), sorted(os.path.basename(r)
                                                                      for r in files))
        self.read_pass(m, files)
        oc.wait_quiet(self.cluster)
        per_worker = {h: c.get("by_endpoint", {}).get("get_page", 0)
                      for h, c in zip(self.cluster.workers, self.cluster.counters())}
        self.assertTrue(all(per_worker.values()),
                        "the workload must read through all three workers: %s" % per_worker)
        before = oc.Samples(oc.scrape(addr))
        pages_before = self.cluster.endpoint_total("get_page")

        # Pass 2: a cache-hit pass; nothing reaches a worker.
        self.read_pass(m, files)
        oc.wait_quiet(self.cluster)
        after = oc.Samples(oc.scrape(addr))
        self.assertEqual(self.cluster.endpoint_total("get_page"), pages_before)
        hits = (after.get("alluxio_fuse_page_cache_hits_total")
                - before.get("alluxio_fuse_page_cache_hits_total"))
        self.assertEqual(hits, sum(read_count(s) for s in files.values()))
        self.assertEqual(after.get("alluxio_fuse_page_cache_misses_total"),
                         before.get("alluxio_fuse_page_cache_misses_total"))
        self.assertEqual(after.get("alluxio_fuse_read_bytes_total", source="cache")
                         - before.get("alluxio_fuse_read_bytes_total", source="cache"),
                         sum(files.values()))

        # Pass 3: a forced failover. The next get_page on every worker answers 503, so the
        # owner of the new file's first page fails and the router moves on.
        rel = "fail/ff.bin"
        oc.write_random(os.path.join(self.ufs, rel), 2 * MiB + 7, seed=99)
        for w in self.cluster.workers.values():
            w.faults({"fail_next": {"endpoint": "get_page", "count": 1, "action": "status:503"}})
        self.read_pass(m, {rel: 2 * MiB + 7})
        oc.wait_quiet(self.cluster)
        injected = 0
        for w in self.cluster.workers.values():
            left = json.loads(w.request("GET", "/debug/faults")).get("fail_next", [])
            injected += 1 - sum(f["count"] for f in left)
            w.faults({})
        self.assertGreater(injected, 0)

        s = oc.Samples(oc.scrape(addr))
        workers = {ep: self.cluster.endpoint_total(ep) for ep in WORKER_METHODS}
        for ep in WORKER_METHODS:
            daemon = s.get("alluxio_http_server_result_total", method=ep)
            self.assertEqual(daemon, workers[ep],
                             "%s: daemon counted %d attempts, the workers saw %d"
                             % (ep, daemon, workers[ep]))
        self.assertEqual(s.get("alluxio_http_server_result_total", method="get_page", state="ok"),
                         workers["get_page"] - injected)
        self.assertEqual(s.get("alluxio_http_server_result_total", method="get_page",
                               state="http_5xx"), injected)
        self.assertGreater(s.get("alluxio_fuse_router_failovers_total"), 0)
        self.assertGreater(workers["list"], 0)
        self.assertGreater(workers["info"], 0)

        # The histogram agrees with the result counter, method by method.
        for ep in WORKER_METHODS + ("etcd_range", "ufs_get"):
            for success, states in (("true", ("ok", "not_found")),
                                    ("false", STATES[2:])):
                want = sum(s.get("alluxio_http_server_result_total", method=ep, state=st)
                           for st in states)
                count = s.get("alluxio_http_server_call_latency_ms_count", method=ep,
                              success=success)
                self.assertEqual(count, want, "%s success=%s" % (ep, success))
                buckets = [s.get("alluxio_http_server_call_latency_ms_bucket", method=ep,
                                 success=success, le=le)
                           for le in ("10", "40", "160", "640", "+Inf")]
                self.assertEqual(buckets, sorted(buckets), "%s buckets not cumulative" % ep)
                self.assertEqual(buckets[-1], count)
        # Every `le` of the product document, and no other.
        les = {dict(ls)["le"] for ls in s.series("alluxio_http_server_call_latency_ms_bucket")}
        self.assertEqual(les, {"10", "40", "160", "640", "+Inf"})
        self.assertGreater(s.get("alluxio_fuse_op_duration_seconds_count", op="read"), 0)
        self.assertEqual(s.get("alluxio_fuse_membership_workers"), 3)
        self.assertEqual(s.get("alluxio_fuse_page_cache_enabled"), 1)
        self.assertEqual(s.get("alluxio_fuse_build_info"), 1)

        status, _ = oc.http_get("http://%s/healthz" % addr)
        self.assertEqual(status, 200)
        self.check_promtool(s.text)

    def check_promtool(self, text):
        if not os.path.exists(PROMTOOL):
            self.skipTest("promtool not installed")
        out = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                             capture_output=True, timeout=60)
        problems = [ln for ln in (out.stdout + out.stderr).decode().splitlines() if ln.strip()]
        # The product document's histogram name trips the "abbreviated units" lint; nothing else
        # may be flagged.
        rest = [p for p in problems
                if not ("alluxio_http_server_call_latency_ms" in p and "abbreviated" in p)]
        self.assertEqual(rest, [], "promtool check metrics: %s" % problems)


class Prometheus:
    """Debian's Prometheus 2.x on a free loopback port with a temp data dir."""

    def __init__(self, workdir, target):
        self.port = harness.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        with open(os.path.join(SOURCE_DIR, "conf", "prometheus.yml")) as f:
            conf = f.read()
        assert "127.0.0.1:49999" in conf and "scrape_interval: 15s" in conf, conf
        conf = conf.replace("127.0.0.1:49999", target).replace("scrape_interval: 15s",
                                                               "scrape_interval: 1s")
        self.config = os.path.join(workdir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write(conf)
        self.log = open(os.path.join(workdir, "prometheus.log"), "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + self.config,
             "--storage.tsdb.path=" + os.path.join(workdir, "prom-data"),
             "--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            harness.wait_until(self.ready, 60, "prometheus to be ready")
        except Exception:
            self.stop()
            raise

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("prometheus exited with %s" % self.proc.returncode)
        try:
            return oc.http_get(self.url + "/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def query(self, expr):
        """(HTTP status, decoded JSON reply) of an instant query."""
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        status, body = oc.http_get(url, timeout=10)
        return status, json.loads(body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


def dashboard_exprs():
    with open(os.path.join(SOURCE_DIR, "conf", "grafana", "alluxio-fuse-dashboard.json")) as f:
        model = json.load(f)
    out = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "expr" and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(model)
    return out


@unittest.skipUnless(os.path.exists(PROMETHEUS), "prometheus not installed")
class PrometheusTest(MetricsTestCase):
    def test_real_prometheus_scrapes_the_daemon_and_the_dashboard_evaluates(self):
        files = {"p/f%d.bin" % i: MiB + 3 * i for i in range(6)}
        for i, (rel, size) in enumerate(files.items()):
            oc.write_random(os.path.join(self.ufs, rel), size, seed=i)
        m, addr = self.mount()
        self.read_pass(m, files)
        oc.wait_quiet(self.cluster)

        scratch = tempfile.mkdtemp(prefix="prom-", dir=self.tmp)
        prom = Prometheus(scratch, addr)
        self.addCleanup(prom.stop)

        def up():
            status, reply = prom.query('up{job="alluxio-fuse"} == 1')
            return status == 200 and len(reply["data"]["result"]) == 1
        harness.wait_until(up, 60, 'up{job="alluxio-fuse"} == 1')

        # The histogram, through PromQL, with the counts the daemon exposes.
        scraped = oc.Samples(oc.scrape(addr))
        status, reply = prom.query(
            'alluxio_http_server_call_latency_ms_bucket{job="alluxio-fuse",method="get_page",'
            'success="true"}')
        self.assertEqual((status, reply["status"]), (200, "success"), reply)
        got = {r["metric"]["le"]: float(r["value"][1]) for r in reply["data"]["result"]}
        self.assertEqual(set(got), {"10", "40", "160", "640", "+Inf"})
        self.assertEqual(got["+Inf"], scraped.get("alluxio_http_server_call_latency_ms_count",
                                                  method="get_page", success="true"))
        self.assertGreater(got["+Inf"], 0)
        for r in reply["data"]["result"]:
            self.assertEqual(r["metric"].get("mount"), "/mnt/alluxio")  # labels of the job file
        status, reply = prom.query(
            'histogram_quantile(0.99, sum by (le, method) '
            '(alluxio_http_server_call_latency_ms_bucket{method="get_page"}))')
        self.assertEqual(reply["status"], "success", reply)
        self.assertEqual(len(reply["data"]["result"]), 1, reply)

        exprs = dashboard_exprs()
        self.assertGreaterEqual(len(exprs), 9)
        for expr in exprs:
            self.assertIn("$instance", expr)
            status, reply = prom.query(expr.replace("$instance", ".*"))
            self.assertEqual((status, reply.get("status")), (200, "success"),
                             "%s -> %s" % (expr, reply))

        status, body = oc.http_get("http://%s/healthz" % addr)
        self.assertEqual((status, body.strip()), (200, b"ok"))
        self.assertIsNone(m.proc.poll())


if __name__ == "__main__":
    unittest.main()
