"""Cluster mode against real fake-worker processes: routing, failover, fallback, hostile replies,
etcd membership.

Three fake workers on 127.0.0.2/.3/.4 serve the same local UFS directory; the mount uses
`worker_hosts` (or etcd) with 5 virtual nodes, as the fake workers do. The consistent-hash ring
of routing.md §1-2 is reimplemented here so the expected owner of every file is computed
independently of the daemon (and cross-checked with `alluxio-fuse route --raw --json` when that
command is available). Knobs: AF_IT_BIG_MIB (size of the kill-mid-read file, default 128).
"""
import errno
import hashlib
import http.server
import json
import os
import random
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request
import uuid

import harness
from etcd_server import ETCD, Etcd

MiB = 1 << 20
VNODES = 5
VN_KEY = "alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker"
BIG_MIB = int(os.environ.get("AF_IT_BIG_MIB", "128"))


# ---- The ring of routing.md, independent of the daemon's C++ ----

def murmur3_32(data, seed=0):
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    n = len(data) // 4
    for i in range(n):
        k = struct.unpack_from("<I", data, i * 4)[0]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[n * 4:]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def le32(i):
    return struct.pack("<i", i)


def identity_from_host(host):
    b = bytearray(hashlib.md5(host.encode()).digest())
    b[6] = (b[6] & 0x0F) | 0x30
    b[8] = (b[8] & 0x3F) | 0x80
    return bytes(b)


class Ring:
    """workers: {identity bytes (version 1): name}."""

    def __init__(self, workers, vnodes=VNODES):
        self.entries = {}
        for ident in sorted(workers):
            for i in range(vnodes):
                self.entries[murmur3_32(ident + le32(1) + le32(i))] = workers[ident]
        self.hashes = sorted(self.entries)

    def owner(self, key, attempt):
        p = murmur3_32(key.encode() + le32(attempt))
        for h in self.hashes:
            if h >= p:
                return self.entries[h]
        return self.entries[self.hashes[0]]

    def pick(self, key, count):
        out = []
        count = min(count, len(set(self.entries.values())))
        for a in range(1, 101):
            if len(out) >= count:
                break
            w = self.owner(key, a)
            if w not in out:
                out.append(w)
        return out


def path_id(key):
    return hashlib.sha256(key.encode()).hexdigest()


def write_random(path, size, seed):
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 8 * MiB)
            f.write(rng.randbytes(n))
            left -= n


def page_requests(worker, key):
    return worker.counters().get("by_path_id", {}).get(path_id(key), {}).get("get_page", 0)


def read_all(path, chunk=MiB):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


class ClusterTestCase(harness.TempDirTestCase):
    HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")

    def setUp(self):
        super().setUp()
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(self.ufs)
        self.root = "file://" + self.ufs
        self.port = harness.free_port()
        self.workers = {}

    def start_workers(self, hosts=HOSTS, extra=()):
        peers = ",".join("%s:%d" % (h, self.port) for h in self.HOSTS)
        for h in hosts:
            self.workers[h] = self.start_worker(
                {self.root: self.ufs}, bind=h, port=self.port,
                extra=["--peers", peers, "--vnodes", str(VNODES), "--seed", "7"] + list(extra))
        return self.workers

    def cluster_config(self, **sections):
        cfg = {"ufs_root": self.root,
               "worker_hosts": ",".join("%s:%d" % (h, self.port) for h in self.HOSTS),
               "options": {VN_KEY: VNODES},
               "routing": {"backoff_initial": "50ms", "backoff_max": "200ms"}}
        for k, v in sections.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k] = dict(cfg[k], **v)
            else:
                cfg[k] = v
        return cfg

    def ring(self, hosts=HOSTS):
        return Ring({identity_from_host(h): h for h in hosts})

    def key(self, rel):
        return self.root + "/" + rel

    def put(self, rel, size, seed=1):
        path = os.path.join(self.ufs, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_random(path, size, seed)
        return path


class RoutingTest(ClusterTestCase):
    def test_pages_go_to_the_ring_owner_and_bytes_match(self):
        self.start_workers()
        sizes = [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 5, 100, 2 * MiB]
        files = {"f%02d.bin" % i: s for i, s in enumerate(sizes)}
        for i, (rel, size) in enumerate(files.items()):
            self.put(rel, size, seed=i)
        m = self.start_mount(self.cluster_config())
        ring = self.ring()
        for w in self.workers.values():
            w.reset_counters()
        for rel in files:
            self.assertEqual(read_all(m.path(rel)), harness.sha256_file(os.path.join(self.ufs, rel)),
                             rel)
        for rel, size in files.items():
            owner = ring.pick(self.key(rel), 3)[0]
            for host, w in self.workers.items():
                n = page_requests(w, self.key(rel))
                if host == owner:
                    if size > 0:
                        self.assertGreater(n, 0, "%s: owner %s got no page request" % (rel, host))
                else:
                    self.assertEqual(n, 0, "%s: page request went to %s, owner is %s" %
                                     (rel, host, owner))
        # The route command agrees with this ring, for full keys (--raw) and for paths inside
        # the live mount (translated through it).
        for args in (["--raw"] + [self.key(r) for r in files], [m.path(r) for r in files]):
            out = harness.run_cli(["route", "--config", m.config_path, "--json"] + args,
                                  timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            entries = json.loads(out.stdout)
            self.assertEqual([e["key"] for e in entries], [self.key(r) for r in files])
            for entry in entries:
                expect = ring.pick(entry["key"], 3)
                self.assertEqual([c["host"] for c in entry["candidates"]], expect)


class FailoverTest(ClusterTestCase):
    def test_kill_owner_in_the_middle_of_a_large_read(self):
        self.start_workers()
        rel = "big/large.bin"
        src = self.put(rel, BIG_MIB * MiB, seed=3)
        expect = harness.sha256_file(src)
        m = self.start_mount(self.cluster_config())
        owner = self.ring().pick(self.key(rel), 3)[0]
        h = hashlib.sha256()
        done = 0
        killed = False
        with open(m.path(rel), "rb") as f:
            while True:
                b = f.read(MiB)
                if not b:
                    break
                h.update(b)
                done += len(b)
                if not killed and done >= BIG_MIB * MiB // 3:
                    self.workers[owner].kill()
                    killed = True
        self.assertTrue(killed)
        self.assertEqual(done, BIG_MIB * MiB)
        self.assertEqual(h.hexdigest(), expect)
        self.assertIsNone(m.proc.poll())

    def test_slow_owner_fails_over_within_the_deadline(self):
        self.start_workers()
        rel = "slow.bin"
        src = self.put(rel, 2 * MiB + 3, seed=5)
        m = self.start_mount(self.cluster_config(
            routing={"data_timeout": "3s", "metadata_timeout": "3s"}))
        picks = self.ring().pick(self.key(rel), 3)
        self.workers[picks[0]].faults({"latency_ms": 8000})
        for w in self.workers.values():
            w.reset_counters()
        start = time.monotonic()
        self.assertEqual(read_all(m.path(rel)), harness.sha256_file(src))
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 8.0)  # never waited out the slow worker's 8 s
        self.assertGreater(page_requests(self.workers[picks[1]], self.key(rel))
                           + page_requests(self.workers[picks[2]], self.key(rel)), 0)

    def test_all_workers_down_reads_come_from_the_ufs(self):
        self.start_workers()
        rel = "d/fallback.bin"
        src = self.put(rel, 3 * MiB + 1, seed=9)
        m = self.start_mount(self.cluster_config(fallback={"enabled": True}))
        for w in self.workers.values():
            w.stop()
        start = time.monotonic()
        self.assertEqual(read_all(m.path(rel)), harness.sha256_file(src))
        self.assertEqual(sorted(os.listdir(m.path("d"))), ["fallback.bin"])
        self.assertLess(time.monotonic() - start, 30)

    def test_fallback_disabled_read_fails_with_eio_within_the_deadline(self):
        self.start_workers()
        rel = "nofallback.bin"
        self.put(rel, 2 * MiB, seed=11)
        m = self.start_mount(self.cluster_config(
            fallback={"enabled": False},
            routing={"data_timeout": "2s", "metadata_timeout": "2s", "retries": 1},
            # direct_io: one FUSE read per read(2). Through the kernel page cache, a failed
            # readahead page is retried once synchronously, which would double the wait.
            page_cache={"enabled": False}, mount={"direct_io": True}))
        with open(m.path(rel), "rb") as f:  # metadata while the workers answer
            for w in self.workers.values():
                w.faults({"hang": True})
            start = time.monotonic()
            with self.assertRaises(OSError) as ctx:
                f.read(MiB)
            elapsed = time.monotonic() - start
        self.assertEqual(ctx.exception.errno, errno.EIO)
        self.assertLess(elapsed, 2.0 + 1.5)
        for w in self.workers.values():
            w.faults({})
        self.assertIsNone(m.proc.poll())


class HostileTest(ClusterTestCase):
    def test_hostile_replies_give_clean_errors_and_the_daemon_stays_up(self):
        self.start_workers()
        for i in range(3):
            self.put("dir/ok%d.txt" % i, 10 + i, seed=i)
        self.put("t/trunc.bin", 2 * MiB, seed=21)
        m = self.start_mount(self.cluster_config(
            routing={"metadata_timeout": "3s", "data_timeout": "3s"},
            page_cache={"enabled": False}, metadata={"ttl": "0s", "negative_ttl": "0s"}))

        # Malformed JSON everywhere: EIO (bad_response never falls back), then recovery.
        self.put("mal.txt", 5)
        for w in self.workers.values():
            w.faults({"malformed_json_rate": 1.0})
        with self.assertRaises(OSError) as ctx:
            os.stat(m.path("mal.txt"))
        self.assertEqual(ctx.exception.errno, errno.EIO)
        for w in self.workers.values():
            w.faults({})
        self.assertEqual(os.stat(m.path("mal.txt")).st_size, 5)

        # Hostile names: only the real entries are listed; the rejects are logged.
        for w in self.workers.values():
            w.faults({"hostile_names": True})
        self.assertEqual(sorted(os.listdir(m.path("dir"))), ["ok0.txt", "ok1.txt", "ok2.txt"])
        for w in self.workers.values():
            w.faults({})
        harness.wait_until(lambda: "invalid entries" in m.log() + m.stderr(), 10,
                           "a log line about rejected listing entries")

        # A truncated page body: the right bytes from another candidate, or a clean EIO.
        key = self.key("t/trunc.bin")
        owner = self.ring().pick(key, 3)[0]
        self.workers[owner].faults(
            {"fail_next": {"endpoint": "get_page", "count": 1, "action": "truncate"}})
        src_sum = harness.sha256_file(os.path.join(self.ufs, "t/trunc.bin"))
        try:
            self.assertEqual(read_all(m.path("t/trunc.bin")), src_sum)
        except OSError as e:
            self.assertEqual(e.errno, errno.EIO)
        self.assertEqual(read_all(m.path("t/trunc.bin")), src_sum)
        self.assertIsNone(m.proc.poll())

    def test_ten_megabyte_json_is_refused_cleanly(self):
        self.put("huge.txt", 3)
        self.put("fine.txt", 4)
        server = HostileWorker(self.ufs, self.root)
        self.addCleanup(server.stop)
        m = self.start_mount({"ufs_root": self.root, "worker_hosts": server.address,
                              "options": {VN_KEY: VNODES},
                              "routing": {"metadata_timeout": "3s", "retries": 0}})
        with self.assertRaises(OSError) as ctx:
            os.stat(m.path("huge.txt"))
        self.assertEqual(ctx.exception.errno, errno.EIO)
        self.assertEqual(os.stat(m.path("fine.txt")).st_size, 4)
        self.assertIsNone(m.proc.poll())


class HostileWorker:
    """A minimal enterprise worker: /v1/info from the local UFS, except that a name starting
    with "huge" answers 10 MB of valid JSON (over the 1 MiB limit of worker-rest.md §1)."""

    def __init__(self, ufs, root):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                from urllib.parse import urlparse, parse_qs
                u = urlparse(self.path)
                q = parse_qs(u.query)
                key = (q.get("path") or q.get("ufsFullPath") or [""])[0]
                rel = key[len(root):].lstrip("/")
                local = os.path.join(ufs, rel)
                name = os.path.basename(rel)
                if u.path == "/v1/info" and name.startswith("huge"):
                    pad = "x" * (10 * MiB)
                    body = json.dumps([{"mType": "file", "mName": name, "mLength": 3,
                                        "mOwner": pad}]).encode()
                    return self.reply(200, body)
                if u.path in ("/v1/info", "/v1/files") and os.path.exists(local):
                    def entry(p, n):
                        st = os.stat(p)
                        return {"mType": "directory" if os.path.isdir(p) else "file",
                                "mName": n, "mLength": 0 if os.path.isdir(p) else st.st_size,
                                "mLastModificationTimeMs": int(st.st_mtime * 1000)}
                    if u.path == "/v1/info":
                        return self.reply(200, json.dumps([entry(local, name)]).encode())
                    return self.reply(200, json.dumps(
                        [entry(os.path.join(local, n), n) for n in os.listdir(local)]).encode())
                return self.reply(404, b'{"message":"File does not exist"}')

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.5", 0), Handler)
        self.httpd.daemon_threads = True
        self.address = "127.0.0.5:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        del outer

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- etcd membership ----

@unittest.skipUnless(os.path.exists(ETCD), "etcd not installed")
class EtcdMembershipTest(ClusterTestCase):
    def register(self, etcd, host, ident):
        return etcd.register(host, self.port, ident)

    def check_routing(self, m, members, prefix, count=12):
        """Creates files until each member owns at least one, reads them all, and checks that
        every page request went to the owner under `members` ({identity: host})."""
        ring = Ring(members)
        for w in self.workers.values():
            w.reset_counters()
        owned = {h: 0 for h in members.values()}
        rels = []
        i = 0
        while (i < count or min(owned.values()) == 0) and i < 200:
            rel = "%s/f%03d.bin" % (prefix, i)
            self.put(rel, MiB + 17, seed=i)
            owned[ring.pick(self.key(rel), 1)[0]] += 1
            rels.append(rel)
            i += 1
        for rel in rels:
            self.assertEqual(read_all(m.path(rel)),
                             harness.sha256_file(os.path.join(self.ufs, rel)))
        for rel in rels:
            owner = ring.pick(self.key(rel), 1)[0]
            for host, w in self.workers.items():
                n = page_requests(w, self.key(rel))
                if host == owner:
                    self.assertGreater(n, 0, "%s: owner %s got nothing" % (rel, host))
                else:
                    self.assertEqual(n, 0, "%s went to %s, owner %s" % (rel, host, owner))

    def test_membership_changes_are_picked_up_without_remounting(self):
        self.start_workers()
        etcd = Etcd(self.tmp)
        self.addCleanup(etcd.stop)
        ids = {h: uuid.uuid4().bytes for h in self.HOSTS}
        keys = {}
        for h in self.HOSTS[:2]:
            keys[h] = self.register(etcd, h, ids[h])
        m = self.start_mount({"ufs_root": self.root, "options": {VN_KEY: VNODES},
                              "etcd": {"hosts": "127.0.0.1:%d" % etcd.client_port,
                                       "refresh_interval": "1s"},
                              "routing": {"backoff_initial": "50ms"}})
        self.check_routing(m, {ids[h]: h for h in self.HOSTS[:2]}, "a")

        keys[self.HOSTS[2]] = self.register(etcd, self.HOSTS[2], ids[self.HOSTS[2]])
        time.sleep(2.5)  # two refresh intervals
        self.check_routing(m, {ids[h]: h for h in self.HOSTS}, "b")

        etcd.delete(keys[self.HOSTS[0]])
        time.sleep(2.5)
        self.check_routing(m, {ids[h]: h for h in self.HOSTS[1:]}, "c")
        self.assertIsNone(m.proc.poll())


if __name__ == "__main__":
    unittest.main()
