"""Standalone mounts of an s3rver bucket through the S3 store: bytes read back equal, a prefix
of 5,000 keys lists completely (several ListObjectsV2 pages), and an unknown access key makes
the daemon refuse to start with a clear "access denied" error that never shows the secret.
(s3rver checks access key ids but not signatures; wrong-secret behaviour is covered by the
unit tests of the signer and the error mapping.)"""
import hashlib
import os
import random
import unittest

import harness
import s3_server

BUCKET = "itest"


def config(server, key=s3_server.ACCESS_KEY, secret=s3_server.SECRET_KEY, root="s3://" + BUCKET):
    return {"ufs_root": root,
            "target_options": {"endpoint_url": server.endpoint, "key": key, "secret": secret}}


@unittest.skipUnless(s3_server.installed(), "s3rver not installed: run scripts/install-deps.sh")
class S3MountTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s3_server.S3rver([BUCKET], harness.TMP_ROOT)
        rng = random.Random(7)
        cls.files = {
            "data/small.txt": b"hello from s3rver\n",
            "data/big.bin": bytes(rng.getrandbits(8) for _ in range(3 * 1024 * 1024 + 17)),
            "data/sub/x": b"x",
            "data/empty": b"",
        }
        try:
            cls.server.put_many(BUCKET, list(cls.files.items()))
            cls.many = ["k%05d" % i for i in range(5000)]
            cls.server.put_many(BUCKET, [("many/" + k, k.encode()) for k in cls.many])
        except Exception:
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.case = harness.TempDirTestCase()
        self.case.setUp()
        self.addCleanup(self.case.doCleanups)

    def mount(self, cfg):
        try:
            return self.case.start_mount(cfg)
        except RuntimeError as e:
            if "no UFS client for scheme" in str(e):
                self.skipTest("the app does not serve s3:// roots yet (make_s3_store not wired)")
            raise

    def test_reads_are_byte_equal(self):
        m = self.mount(config(self.server))
        for rel, data in self.files.items():
            with open(m.path(rel), "rb") as f:
                got = f.read()
            self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest(), rel)
            self.assertEqual(os.stat(m.path(rel)).st_size, len(data), rel)
        with open(m.path("data/big.bin"), "rb") as f:  # a ranged read in the middle
            f.seek(1234567)
            self.assertEqual(f.read(4096), self.files["data/big.bin"][1234567:1234567 + 4096])

    def test_directories(self):
        m = self.mount(config(self.server))
        self.assertEqual(sorted(os.listdir(m.path())), ["data", "many"])
        self.assertEqual(sorted(os.listdir(m.path("data"))), ["big.bin", "empty", "small.txt", "sub"])
        self.assertTrue(os.path.isdir(m.path("data/sub")))
        with self.assertRaises(FileNotFoundError):
            os.stat(m.path("data/nope"))

    def test_lists_5000_keys(self):
        m = self.mount(config(self.server))
        self.assertEqual(sorted(os.listdir(m.path("many"))), self.many)
        with open(m.path("many/k04999"), "rb") as f:
            self.assertEqual(f.read(), b"k04999")

    def test_unknown_access_key_is_denied_without_the_secret(self):
        secret = "NotTheRealSecret-9f8e7d6c5b4a"
        with self.assertRaises(RuntimeError) as ctx:
            self.mount(config(self.server, key="AKIAUNKNOWN0000", secret=secret))
        # The failed Mount has been stopped; read what it said.
        logs_dir = os.path.join(self.case.tmp, "mnt-logs")
        text = str(ctx.exception)
        for name in os.listdir(logs_dir):
            with open(os.path.join(logs_dir, name), "rb") as f:
                text += f.read().decode(errors="replace")
        self.assertIn("InvalidAccessKeyId", text)
        self.assertIn("access denied", text)
        self.assertNotIn(secret, text)


if __name__ == "__main__":
    unittest.main()
