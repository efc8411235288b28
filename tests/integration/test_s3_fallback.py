"""Issue 7's remaining done-when items, against s3rver (tests/s3) and real fake-worker processes:

- Cluster mode over an s3:// root: three fake workers serve a local mirror of the bucket
  (`--ufs-map s3://<bucket>/<prefix>=<dir>`); the daemon's UFS fallback is the S3 store. Reads
  are byte-equal through the workers; with every worker stopped, reads of files not read before
  still succeed from the bucket (alluxio_fuse_ufs_fallback_total grows), and with
  `fallback.writes` a new file written through the mount lands in the bucket with the same bytes.
- A large file (AF_IT_S3_BIG_MIB, default 300) written through a standalone S3 mount is uploaded
  with multipart (alluxio_http_server_result_total{method="ufs_multipart"} > 0, and the object
  is whole in s3rver) and reads back equal after a remount with an empty cache.
- An unknown access key: a standalone mount refuses to start (exit 1 or 2) with a clear
  message; in cluster mode the mount starts (the workers answer) and, once the workers are gone,
  fallback reads fail with EACCES. Neither the log nor stderr ever contains the secret.

s3rver checks the access key id of signed requests but not the signature (s3_server.py), so
"bad credentials" here means an unknown key id.
"""
import errno
import hashlib
import os
import random
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import harness
import obs_common as oc
import s3_server

MiB = 1 << 20
BUCKET = "fbkt"
PREFIX = "data/set"
ROOT = "s3://%s/%s" % (BUCKET, PREFIX)
BIG_MIB = int(os.environ.get("AF_IT_S3_BIG_MIB", "300"))
BAD_KEY = "AKIAUNKNOWN0000"
BAD_SECRET = "BadSecret-3c2b1a0f9e8d7c6b5a"


def target_options(server, key=s3_server.ACCESS_KEY, secret=s3_server.SECRET_KEY):
    return {"endpoint_url": server.endpoint, "key": key, "secret": secret}


def object_url(server, key):
    return "%s/%s/%s" % (server.endpoint, BUCKET, urllib.parse.quote(key, safe="/~"))


def get_object(server, key):
    """The object's bytes through an unsigned GET (s3rver accepts those), or None if absent."""
    try:
        with urllib.request.urlopen(object_url(server, key), timeout=60) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def head_object(server, key):
    """(status, Content-Length) of an unsigned HEAD."""
    req = urllib.request.Request(object_url(server, key), method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, int(r.headers.get("Content-Length", "-1"))
    except urllib.error.HTTPError as e:
        return e.code, -1


def all_text(log_dir, stderr=""):
    """`stderr` plus every file in a mount's log directory."""
    text = stderr
    for name in sorted(os.listdir(log_dir)) if os.path.isdir(log_dir) else ():
        with open(os.path.join(log_dir, name), "rb") as f:
            text += f.read().decode(errors="replace")
    return text


def sha(data):
    return hashlib.sha256(data).hexdigest()


def random_bytes(size, seed):
    return random.Random(seed).randbytes(size)


@unittest.skipUnless(s3_server.installed(), "s3rver not installed: run scripts/install-deps.sh")
class S3FallbackTestCase(harness.TempDirTestCase):
    """A fresh s3rver (with BUCKET) per test, stopped by the cleanup stack."""

    HOSTS = oc.HOSTS

    def setUp(self):
        super().setUp()
        self.server = s3_server.S3rver([BUCKET], harness.TMP_ROOT)
        self.addCleanup(self.server.stop)

    def mirror(self, files):
        """Writes `files` ({rel: bytes}) under PREFIX in the bucket and into a local directory
        the fake workers serve for ROOT; returns the directory."""
        ufs = os.path.join(self.tmp, "mirror")
        for rel, data in files.items():
            path = os.path.join(ufs, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        self.server.put_many(BUCKET, [(PREFIX + "/" + rel, data) for rel, data in files.items()])
        return ufs

    def start_workers(self, ufs):
        port = harness.free_port()
        peers = ",".join("%s:%d" % (h, port) for h in self.HOSTS)
        workers = [self.start_worker({ROOT: ufs}, bind=h, port=port,
                                     extra=["--peers", peers, "--vnodes", str(oc.VNODES),
                                            "--seed", "7"])
                   for h in self.HOSTS]
        return workers, ",".join(w.address for w in workers)

    def cluster_config(self, hosts, **sections):
        cfg = {"ufs_root": ROOT,
               "worker_hosts": hosts,
               "options": {oc.VN_KEY: oc.VNODES},
               "target_options": target_options(self.server),
               "routing": {"backoff_initial": "50ms", "backoff_max": "200ms",
                           "metadata_timeout": "5s", "data_timeout": "10s"},
               "metrics": {"enabled": True, "listen": "127.0.0.1:0"}}
        cfg.update(sections)
        return cfg


class ClusterFallbackTest(S3FallbackTestCase):
    def test_reads_and_writes_reach_the_bucket_when_every_worker_is_down(self):
        files = {"a.txt": b"through the workers\n",
                 "sub/b.bin": random_bytes(3 * MiB + 5, 1),
                 "sub/c.bin": random_bytes(2 * MiB + 1, 2),
                 "d/e.txt": b"only read after the workers are gone\n",
                 "empty": b""}
        ufs = self.mirror(files)
        workers, hosts = self.start_workers(ufs)
        m = self.start_mount(self.cluster_config(hosts, fallback={"writes": True}))
        addr = oc.metrics_address(m)

        for rel in ("a.txt", "sub/b.bin", "empty"):
            self.assertEqual(harness.sha256_file(m.path(rel)), sha(files[rel]), rel)
        before = oc.Samples(oc.scrape(addr)).get("alluxio_fuse_ufs_fallback_total")
        self.assertEqual(before, 0)

        for w in workers:
            w.stop()
        start = time.monotonic()
        # Never read (nor stat'ed) through the workers: metadata and pages come from the bucket.
        for rel in ("sub/c.bin", "d/e.txt"):
            self.assertEqual(harness.sha256_file(m.path(rel)), sha(files[rel]), rel)
        self.assertEqual(sorted(os.listdir(m.path("d"))), ["e.txt"])
        self.assertLess(time.monotonic() - start, 60)
        oc.wait_metric(addr, lambda s: s.get("alluxio_fuse_ufs_fallback_total") > 0, 10,
                       "alluxio_fuse_ufs_fallback_total > 0")

        new = random_bytes(5 * MiB + 3, 3)
        with open(m.path("sub/new.bin"), "wb") as f:
            for off in range(0, len(new), MiB):
                f.write(new[off:off + MiB])
        self.assertEqual(get_object(self.server, PREFIX + "/sub/new.bin"), new)
        self.assertFalse(os.path.exists(os.path.join(ufs, "sub/new.bin")))  # no worker got it
        self.assertEqual(harness.sha256_file(m.path("sub/new.bin")), sha(new))
        self.assertIsNone(m.proc.poll())
        self.assertEqual(m.stop(), 0)

    def test_unknown_access_key_gives_eacces_on_fallback_and_never_logs_the_secret(self):
        files = {"x.bin": random_bytes(MiB + 7, 4), "y.txt": b"y\n"}
        ufs = self.mirror(files)
        workers, hosts = self.start_workers(ufs)
        cfg = self.cluster_config(hosts)
        cfg["target_options"] = target_options(self.server, key=BAD_KEY, secret=BAD_SECRET)
        m = self.start_mount(cfg)  # the root answers through the workers
        self.assertEqual(harness.sha256_file(m.path("y.txt")), sha(files["y.txt"]))
        for w in workers:
            w.stop()
        with self.assertRaises(OSError) as ctx:
            harness.sha256_file(m.path("x.bin"))
        self.assertEqual(ctx.exception.errno, errno.EACCES, ctx.exception)
        self.assertIsNone(m.proc.poll())
        m.stop()
        text = all_text(m.log_dir, m.stderr())
        self.assertNotIn(BAD_SECRET, text)
        self.assertIn("access denied", text.lower())


class StandaloneS3Test(S3FallbackTestCase):
    def standalone_config(self, **sections):
        cfg = {"ufs_root": ROOT, "target_options": target_options(self.server),
               "metrics": {"enabled": True, "listen": "127.0.0.1:0"}}
        cfg.update(sections)
        return cfg

    def test_large_file_goes_multipart_and_reads_back_after_a_remount(self):
        self.server.put(BUCKET, PREFIX + "/", b"")  # the root directory's marker
        size = BIG_MIB * MiB + 123
        m = self.start_mount(self.standalone_config(), name="w")
        addr = oc.metrics_address(m)
        rng = random.Random(5)
        h = hashlib.sha256()
        start = time.monotonic()
        with open(m.path("big.bin"), "wb") as f:
            left = size
            while left > 0:
                chunk = rng.randbytes(min(left, MiB))
                h.update(chunk)
                f.write(chunk)
                left -= len(chunk)
        write_s = time.monotonic() - start
        want = h.hexdigest()
        samples = oc.Samples(oc.scrape(addr))
        self.assertGreater(samples.get("alluxio_http_server_result_total", method="ufs_multipart"),
                           0, "no multipart step recorded")
        self.assertEqual(samples.get("alluxio_http_server_result_total", method="ufs_put"), 0,
                         "a single PUT was used for %d MiB" % BIG_MIB)
        self.assertEqual(head_object(self.server, PREFIX + "/big.bin"), (200, size))
        self.assertEqual(m.stop(), 0)

        start = time.monotonic()
        r = self.start_mount(self.standalone_config(), name="r")  # fresh cache and staging dirs
        self.assertEqual(os.stat(r.path("big.bin")).st_size, size)
        self.assertEqual(harness.sha256_file(r.path("big.bin")), want)
        read_s = time.monotonic() - start
        print("\n%d MiB: write+upload %.1fs, remount+read %.1fs" % (BIG_MIB, write_s, read_s))

    def test_unknown_access_key_refuses_to_start_without_the_secret(self):
        self.server.put(BUCKET, PREFIX + "/a", b"a")
        cfg = self.standalone_config(
            target_options=target_options(self.server, key=BAD_KEY, secret=BAD_SECRET))
        mount = None
        try:
            mount = harness.Mount(self.tmp, cfg, name="bad")
            self.addCleanup(mount.stop)
        except RuntimeError as e:
            message = str(e)
        if mount is not None:  # started: reads must be refused
            with self.assertRaises(OSError) as ctx:
                os.listdir(mount.path())
            self.assertEqual(ctx.exception.errno, errno.EACCES)
            mount.stop()
            message = all_text(mount.log_dir, mount.stderr())
        else:
            self.assertRegex(message, r"exited with [12]:")
            message += all_text(os.path.join(self.tmp, "bad-logs"))
            self.assertIn("access denied", message.lower())
        self.assertNotIn(BAD_SECRET, message)


if __name__ == "__main__":
    unittest.main()
