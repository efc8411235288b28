"""TLS to workers (issue 11, secure defaults): routing.tls makes every worker call https:// with
the server certificate verified against routing.tls_ca_file (or the system CAs).

A CA and a server certificate for 127.0.0.1 are made with the openssl command-line tool; a
TLS-terminating proxy (tests/support/tls_proxy.py) sits in front of a fake worker. With the
right CA the mount reads the file's bytes exactly. With another CA the daemon refuses to start
(it checks the root through the workers) and says why; when an impostor with a certificate from
another CA takes the worker's place after the mount, every handshake is refused by the daemon,
reads fail cleanly with EIO, nothing reaches the worker, and the log names the TLS verification
failure. A CA file that does not exist is a configuration error naming the key.
"""
import errno
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import tls_proxy  # noqa: E402

FILE_SIZE = 3 * (1 << 20) + 123


class TlsWorkerTest(harness.TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        # Certificates once for the class (key generation is the slow part).
        certs = tempfile.mkdtemp(prefix="af-it-certs-", dir=harness.TMP_ROOT)
        cls.addClassCleanup(shutil.rmtree, certs, True)
        cls.ca, ca_key = tls_proxy.make_ca(certs, "test-ca")
        cls.cert, cls.key = tls_proxy.make_server_cert(certs, cls.ca, ca_key)
        cls.other_ca, other_key = tls_proxy.make_ca(certs, "other-ca")
        cls.impostor_cert, cls.impostor_key = tls_proxy.make_server_cert(
            certs, cls.other_ca, other_key, name="impostor")

    def setUp(self):
        super().setUp()
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(self.ufs)
        self.root = "file://" + self.ufs
        self.expect = random.Random(11).randbytes(FILE_SIZE)
        with open(os.path.join(self.ufs, "data.bin"), "wb") as f:
            f.write(self.expect)
        self.worker = self.start_worker({self.root: self.ufs})
        self.addCleanup(self.worker.proc.stdout.close)
        self.proxy = tls_proxy.TlsProxy(("127.0.0.1", self.worker.port), self.cert, self.key)
        self.addCleanup(self.proxy.stop)

    def config(self, **routing):
        r = {"tls": True, "connect_timeout": "1s", "metadata_timeout": "3s", "data_timeout": "3s",
             "retries": 0, "backoff_initial": "50ms", "backoff_max": "100ms"}
        r.update(routing)
        return {
            "ufs_root": self.root,
            "worker_hosts": self.proxy.address,
            "routing": r,
            "fallback": {"enabled": False},  # worker failures must surface, not be hidden
            "metadata": {"ttl": "0s", "negative_ttl": "0s"},
        }

    def test_reads_through_tls_with_the_right_ca(self):
        mount = self.start_mount(self.config(tls_ca_file=self.ca))
        with open(mount.path("data.bin"), "rb") as f:
            got = f.read()
        self.assertEqual(len(got), FILE_SIZE)
        self.assertEqual(got, self.expect)
        self.assertGreater(self.proxy.handshakes_ok, 0)
        self.assertEqual(self.proxy.handshakes_failed, 0)
        # The bytes came from the worker through the proxy, not from anywhere else.
        by = self.worker.counters()["by_endpoint"]
        self.assertGreater(sum(n for ep, n in by.items() if "page" in ep or "range" in ep), 0, by)

    def test_wrong_ca_refuses_to_start_naming_the_verification_failure(self):
        # The daemon checks the root through the workers at start: with a CA that did not sign
        # the worker's certificate, it exits 1 and says why.
        with self.assertRaises(RuntimeError) as cm:
            self.start_mount(self.config(tls_ca_file=self.other_ca))
        self.assertIn("TLS certificate verification failed", str(cm.exception))
        self.assertGreater(self.proxy.handshakes_failed, 0)
        self.assertEqual(self.proxy.handshakes_ok, 0)
        self.assertEqual(self.worker.counters()["by_endpoint"], {})

    def test_impostor_worker_fails_reads_cleanly_and_logs_the_verification_failure(self):
        cfg = self.config(tls_ca_file=self.ca)
        # No page cache, readahead or kernel caching: every read below really needs the worker,
        # and no fetch from before the switch is still in flight after it.
        cfg["page_cache"] = {"enabled": False, "readahead": {"enabled": False}}
        cfg["mount"] = {"direct_io": True}
        mount = self.start_mount(cfg)
        with open(mount.path("data.bin"), "rb") as f:
            self.assertEqual(f.read(4096), self.expect[:4096])
        # Someone else now answers on the worker's address, with a certificate our CA did not
        # sign: every read fails with EIO, none is served, and the log names the reason.
        self.proxy.use_cert(self.impostor_cert, self.impostor_key)
        before = self.worker.counters()["by_endpoint"]
        for _ in range(3):
            with self.assertRaises(OSError) as cm:
                with open(mount.path("data.bin"), "rb") as f:
                    f.seek(2 << 20)
                    f.read(65536)
            self.assertEqual(cm.exception.errno, errno.EIO, cm.exception)
        self.assertGreater(self.proxy.handshakes_failed, 0)
        self.assertEqual(self.worker.counters()["by_endpoint"], before)
        harness.wait_until(lambda: "TLS certificate verification failed" in mount.log(), 10,
                           "a log line naming the TLS verification failure")
        # The daemon is still up and the mount answers (statfs reaches the daemon).
        os.statvfs(mount.path())
        self.assertIsNone(mount.proc.poll())

    def test_missing_ca_file_is_a_config_error_naming_the_key(self):
        cfg_path = os.path.join(self.tmp, "bad.yaml")
        cfg = self.config(tls_ca_file=os.path.join(self.tmp, "no-such-ca.pem"))
        harness.write_yaml(cfg_path, cfg)
        p = subprocess.run([harness.BINARY, "check-config", "--config", cfg_path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("routing.tls_ca_file", p.stderr)
        self.assertIn("no-such-ca.pem", p.stderr)

    def test_bad_tls_value_names_the_key(self):
        cfg_path = os.path.join(self.tmp, "bad.yaml")
        harness.write_yaml(cfg_path, self.config(tls="yes"))
        p = subprocess.run([harness.BINARY, "check-config", "--config", cfg_path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("routing.tls", p.stderr)


if __name__ == "__main__":
    unittest.main()
