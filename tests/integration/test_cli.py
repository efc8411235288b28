"""Issue 2: the command line — exit codes that tell the truth, config errors naming the key,
daemon mode, check-config masking secrets, unmount, signals."""
import os
import signal
import subprocess
import time

import harness
from harness import BINARY


def run(args, timeout=60, env=None):
    return harness.run_cli(args, timeout=timeout, env=env)


class BadConfigTest(harness.TempDirTestCase):
    """Each bad configuration exits 2, mounts nothing, and names the key."""

    def check(self, yaml_text, key, extra=()):
        cfg = os.path.join(self.tmp, "bad.yaml")
        with open(cfg, "w") as f:
            f.write(yaml_text)
        mp = os.path.join(self.tmp, "mnt")
        os.makedirs(mp, exist_ok=True)
        r = run(["mount", mp, "--config", cfg, "--foreground"] + list(extra))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(key, r.stderr)
        self.assertFalse(harness.is_mountpoint(mp))
        r2 = run(["check-config", "--config", cfg] + list(extra))
        self.assertEqual(r2.returncode, 2, r2.stderr)
        self.assertIn(key, r2.stderr)

    def test_unknown_key_suggests(self):
        self.check("ufs_root: file:///tmp\npage_cache:\n  capcity: 1GiB\n", "page_cache.capcity")

    def test_bad_size(self):
        self.check("ufs_root: file:///tmp\npage_cache:\n  capacity: ten gigs\n",
                   "page_cache.capacity")

    def test_bad_duration(self):
        self.check("ufs_root: file:///tmp\nmetadata:\n  ttl: soon\n", "metadata.ttl")

    def test_bad_bool(self):
        self.check("ufs_root: file:///tmp\nmount:\n  ro: yes\n", "mount.ro")

    def test_missing_root(self):
        self.check("logger:\n  level: INFO\n", "ufs_root")

    def test_two_membership_keys(self):
        self.check("ufs_root: s3://b\nworker_hosts: a,b\nload_balance_domain: x\n",
                   "load_balance_domain")

    def test_bad_log_level(self):
        self.check("ufs_root: file:///tmp\nlogger:\n  level: LOUD\n", "logger.level")

    def test_bad_option_key(self):
        self.check("ufs_root: file:///tmp\noptions:\n  not.alluxio: 1\n", "not.alluxio")

    def test_bad_page_size(self):
        self.check("ufs_root: file:///tmp\noptions:\n  alluxio.worker.page.store.page.size: 1KB\n",
                   "alluxio.worker.page.store.page.size")

    def test_bad_port(self):
        self.check("ufs_root: file:///tmp\nworker_http_port: 70000\n", "worker_http_port")

    def test_unknown_dash_o(self):
        self.check("ufs_root: file:///tmp\n", "frobnicate", extra=["-o", "frobnicate"])

    def test_not_yaml(self):
        self.check("ufs_root: [unterminated\n", "bad.yaml")


class CliTest(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.tmp, "src")
        os.makedirs(self.src)
        with open(os.path.join(self.src, "hello.txt"), "w") as f:
            f.write("hello\n")
        self.mp = os.path.join(self.tmp, "mnt")
        os.makedirs(self.mp)
        self.cfg = os.path.join(self.tmp, "conf.yaml")
        harness.write_yaml(self.cfg, {
            "ufs_root": "file://" + self.src,
            "logger": {"path": os.path.join(self.tmp, "logs")},
            "metrics": {"enabled": False},
            "page_cache": {"dir": os.path.join(self.tmp, "cache")},
            "write": {"staging_dir": os.path.join(self.tmp, "staging")},
        })
        os.makedirs(os.path.join(self.tmp, "logs"))
        self.addCleanup(harness.force_unmount, self.mp)

    def test_version_and_help(self):
        r = run(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("alluxio-fuse", r.stdout)
        for cmd in ([], ["mount"], ["unmount"], ["check-config"]):
            r = run(cmd + ["--help"])
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("Usage", r.stdout)

    def test_daemon_mode_exits_zero_only_when_mounted(self):
        r = run(["mount", self.mp, "--config", self.cfg])
        self.assertEqual(r.returncode, 0, r.stderr)
        # The mount is live the moment the parent returns.
        self.assertTrue(harness.is_mountpoint(self.mp))
        with open(os.path.join(self.mp, "hello.txt")) as f:
            self.assertEqual(f.read(), "hello\n")
        # Mounting again on a live mount: busy.
        r2 = run(["mount", self.mp, "--config", self.cfg])
        self.assertEqual(r2.returncode, 1)
        self.assertIn("busy", r2.stderr)
        r3 = run(["unmount", self.mp])
        self.assertEqual(r3.returncode, 0, r3.stderr)
        harness.wait_until(lambda: not harness.is_mountpoint(self.mp), 10, "unmount")
        # The daemon flushes its log as it exits, just after the unmount returns.
        log_path = os.path.join(self.tmp, "logs", "alluxio-fuse.log")
        harness.wait_until(lambda: "alluxio-fuse exiting" in open(log_path).read(), 20,
                           "the daemon's last log line")
        self.assertIn("mounted on", open(log_path).read())

    def test_missing_mountpoint(self):
        r = run(["mount", os.path.join(self.tmp, "nope"), "--config", self.cfg])
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not exist", r.stderr)

    def test_ufs_unreachable(self):
        harness.write_yaml(self.cfg, {"ufs_root": "file://" + self.tmp + "/missing",
                                      "metrics": {"enabled": False},
                                      "page_cache": {"dir": os.path.join(self.tmp, "cache")}})
        r = run(["mount", self.mp, "--config", self.cfg])
        self.assertEqual(r.returncode, 1)
        self.assertIn("unreachable", r.stderr)
        self.assertFalse(harness.is_mountpoint(self.mp))

    def test_sigterm_unmounts_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            proc = subprocess.Popen([BINARY, "mount", self.mp, "--config", self.cfg, "-f"],
                                    stderr=subprocess.DEVNULL)
            try:
                harness.wait_until(lambda: harness.is_mountpoint(self.mp), 20, "mount")
                proc.send_signal(sig)
                self.assertEqual(proc.wait(timeout=20), 0)
                self.assertFalse(harness.is_mountpoint(self.mp))
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

    def test_external_unmount_ends_daemon(self):
        proc = subprocess.Popen([BINARY, "mount", self.mp, "--config", self.cfg, "-f"],
                                stderr=subprocess.DEVNULL)
        try:
            harness.wait_until(lambda: harness.is_mountpoint(self.mp), 20, "mount")
            subprocess.run(["fusermount3", "-u", self.mp], check=True, timeout=10)
            self.assertEqual(proc.wait(timeout=20), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_stale_mount_is_cleared(self):
        proc = subprocess.Popen([BINARY, "mount", self.mp, "--config", self.cfg, "-f"],
                                stderr=subprocess.DEVNULL)
        harness.wait_until(lambda: harness.is_mountpoint(self.mp), 20, "mount")
        proc.kill()
        proc.wait(timeout=10)
        # The dead mount answers ENOTCONN; mounting again repairs it.
        with self.assertRaises(OSError):
            harness.bounded(lambda: os.listdir(self.mp), 10, "listdir of the dead mount")
        r = run(["mount", self.mp, "--config", self.cfg])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(harness.bounded(lambda: os.listdir(self.mp), 20, "listdir"),
                         ["hello.txt"])
        run(["unmount", self.mp])

    def test_check_config_masks_secrets(self):
        cfg = os.path.join(self.tmp, "s3.yaml")
        with open(cfg, "w") as f:
            f.write("ufs_root: s3://bucket/prefix\n"
                    "target_options:\n  key: AKIAEXAMPLEKEY1234\n  secret: SuPeRsEcReTvAlUe\n")
        r = run(["check-config", "--config", cfg])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("SuPeRsEcReTvAlUe", r.stdout + r.stderr)
        self.assertNotIn("AKIAEXAMPLEKEY1234", r.stdout)
        self.assertIn("1234", r.stdout)
        self.assertIn("standalone", r.stdout)


if __name__ == "__main__":
    import unittest
    unittest.main()
