"""Secure defaults (issue 11): what the daemon says at start about risky settings, and what it
gives the kernel.

- allow_other keeps default_permissions on (the kernel checks mode bits); turning it off with
  allow_other on logs a WARN that says why that is dangerous.
- A configuration file holding a secret (S3 keys) that group or others can access logs a WARN
  naming the file and its mode; the same file at 0600 does not. The secret itself never
  appears in the log.
Each mount runs in the foreground with its log in a private directory; cleanup always unmounts.
"""
import os

import harness

SECRET = "SuPeRsEcReT-for-mode-test-7d3f"


def mount_options(path):
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[1] == os.path.realpath(path):
                return fields[3].split(",")
    return []


class SecureDefaultsTest(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(self.ufs)
        with open(os.path.join(self.ufs, "a.txt"), "w") as f:
            f.write("hello\n")

    def standalone(self, **mount):
        cfg = {"ufs_root": "file://" + self.ufs}
        if mount:
            cfg["mount"] = mount
        return cfg

    def test_allow_other_keeps_default_permissions_on(self):
        m = self.start_mount(self.standalone(allow_other=True), name="ao")
        opts = mount_options(m.mountpoint)
        self.assertIn("allow_other", opts)
        self.assertIn("default_permissions", opts)
        self.assertNotIn("default_permissions is off", m.log())
        with open(m.path("a.txt")) as f:
            self.assertEqual(f.read(), "hello\n")

    def test_allow_other_without_default_permissions_warns(self):
        m = self.start_mount(self.standalone(allow_other=True, default_permissions=False),
                             name="aon")
        harness.wait_until(lambda: "default_permissions is off" in m.log(), 10, "the WARN line")
        line = [l for l in m.log().splitlines() if "default_permissions is off" in l][0]
        self.assertIn("warn", line.lower())
        self.assertIn("every local user", line)
        self.assertNotIn("default_permissions", mount_options(m.mountpoint))

    def secret_config(self, worker):
        # Cluster mode over an s3:// root served by the fake worker; no S3 server is needed
        # because fallback is off. The file holds an access key and secret.
        return {
            "ufs_root": "s3://bucket/data",
            "worker_hosts": worker.address,
            "target_options": {"key": "AKIAEXAMPLEKEY0000", "secret": SECRET},
            "fallback": {"enabled": False},
        }

    def start_with_umask(self, cfg, name, umask):
        old = os.umask(umask)
        try:
            return self.start_mount(cfg, name=name)
        finally:
            os.umask(old)

    def test_secret_file_readable_by_others_warns(self):
        worker = self.start_worker({"s3://bucket/data": self.ufs})
        self.addCleanup(worker.proc.stdout.close)
        m = self.start_with_umask(self.secret_config(worker), "open", 0o022)
        self.assertEqual(os.stat(m.config_path).st_mode & 0o777, 0o644)
        harness.wait_until(lambda: "holds a secret" in m.log(), 10, "the WARN line")
        line = [l for l in m.log().splitlines() if "holds a secret" in l][0]
        self.assertIn("warn", line.lower())
        self.assertIn(m.config_path, line)
        self.assertIn("mode 0644", line)
        with open(m.path("a.txt")) as f:  # and it still works
            self.assertEqual(f.read(), "hello\n")
        self.assertNotIn(SECRET, m.log() + m.stderr())

    def test_private_secret_file_does_not_warn(self):
        worker = self.start_worker({"s3://bucket/data": self.ufs})
        self.addCleanup(worker.proc.stdout.close)
        m = self.start_with_umask(self.secret_config(worker), "private", 0o077)
        self.assertEqual(os.stat(m.config_path).st_mode & 0o777, 0o600)
        with open(m.path("a.txt")) as f:
            self.assertEqual(f.read(), "hello\n")
        self.assertEqual(m.stop(), 0)  # the log is complete once the daemon has exited
        self.assertIn("alluxio-fuse exiting", m.log())
        self.assertNotIn("holds a secret", m.log())
        self.assertNotIn(SECRET, m.log() + m.stderr())


if __name__ == "__main__":
    import unittest
    unittest.main()
