"""Issue 9: the graceful stop and recovery from a daemon killed under a reader.

- SIGTERM with a file open: /healthz says "shutting down", new opens fail with EIO, the open
  file keeps working; once it is closed (its bytes committed) the daemon unmounts and exits 0.
- mount.shutdown_timeout bounds that wait; a second signal forces the stop at once (exit 1)
  and still commits the dirty file.
- kill -9 while another process holds a file open and reads: its next read fails (ENOTCONN)
  within seconds, `alluxio-fuse mount` clears the dead mount and mounts again while that
  descriptor is still open, and the new daemon serves the file from its warm page cache with
  zero page requests to the workers.
"""
import errno
import os
import signal
import subprocess
import sys
import time

import harness
import obs_common as oc
from harness import BINARY

MiB = 1 << 20


def close_quietly(f):
    """Closes a file of a mount that may be gone by now (ENOTCONN is expected then)."""
    try:
        harness.bounded(f.close, 10, "close")
    except OSError:
        pass


class GracefulStopTest(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.tmp, "src")
        os.makedirs(self.src)
        with open(os.path.join(self.src, "a.txt"), "w") as f:
            f.write("alpha\n")

    def mount(self, **mount_keys):
        return self.start_mount({"ufs_root": "file://" + self.src,
                                 "metrics": {"enabled": True, "listen": "127.0.0.1:0"},
                                 "mount": mount_keys})

    def wait_exit(self, m, timeout):
        return m.proc.wait(timeout=timeout)

    def test_sigterm_waits_for_open_file_then_commits_and_exits_zero(self):
        m = self.mount(shutdown_timeout="60s")
        addr = oc.metrics_address(m)
        self.assertEqual(oc.http_get("http://%s/healthz" % addr)[0], 200)
        f = open(m.path("new.bin"), "wb")
        try:
            f.write(b"x" * (3 * MiB + 7))
            m.proc.send_signal(signal.SIGTERM)
            harness.wait_until(lambda: "stopping (new opens refused" in m.log(), 10,
                               "the stop to begin")
            status, body = oc.http_get("http://%s/healthz" % addr)
            self.assertEqual(status, 503)
            self.assertIn(b"shutting down", body)
            # New opens are refused; the open file still works.
            with self.assertRaises(OSError) as cm:
                harness.bounded(lambda: open(m.path("a.txt")).read(), 10, "open")
            self.assertEqual(cm.exception.errno, errno.EIO)
            f.write(b"tail")
            time.sleep(0.5)
            self.assertIsNone(m.proc.poll(), "the daemon left while a file was open")
            self.assertTrue(harness.is_mountpoint(m.mountpoint))
        finally:
            f.close()
        self.assertEqual(self.wait_exit(m, 20), 0, m.log())
        self.assertFalse(harness.is_mountpoint(m.mountpoint))
        with open(os.path.join(self.src, "new.bin"), "rb") as g:
            self.assertEqual(g.read(), b"x" * (3 * MiB + 7) + b"tail")

    def test_shutdown_timeout_bounds_the_wait(self):
        m = self.mount(shutdown_timeout="1s")
        f = open(m.path("a.txt"), "rb")
        self.addCleanup(close_quietly, f)
        start = time.monotonic()
        m.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(m, 30), 0, m.log())
        self.assertLess(time.monotonic() - start, 15 * harness.TIME_SCALE)
        self.assertIn("mount.shutdown_timeout passed with 1 files open", m.log())

    def test_second_signal_forces_and_commits(self):
        m = self.mount(shutdown_timeout="60s")
        f = open(m.path("forced.bin"), "wb")
        self.addCleanup(close_quietly, f)
        f.write(b"y" * (MiB + 3))
        f.flush()  # the bytes reach the daemon's staged copy; the file stays open
        m.proc.send_signal(signal.SIGTERM)
        harness.wait_until(lambda: "stopping (new opens refused" in m.log(), 10,
                           "the stop to begin")
        start = time.monotonic()
        m.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(m, 20), 1, m.log())
        self.assertLess(time.monotonic() - start, 10 * harness.TIME_SCALE)
        self.assertIn("received again: forcing the stop", m.log())
        with open(os.path.join(self.src, "forced.bin"), "rb") as g:
            self.assertEqual(g.read(), b"y" * (MiB + 3))


READER = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 1 << 20)
print("opened", flush=True)
sys.stdin.readline()
try:
    os.pread(fd, 1 << 20, 4 << 20)
    print("ok", flush=True)
except OSError as e:
    print("errno", e.errno, flush=True)
sys.stdin.readline()  # keeps the descriptor open until told
"""


class StaleMountTest(harness.TempDirTestCase):
    def test_kill_9_under_a_reader_then_mount_again_serves_warm_pages(self):
        ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(ufs)
        cluster = oc.Cluster(ufs)
        self.addCleanup(cluster.stop)
        size = 8 * MiB + 123
        oc.write_random(os.path.join(ufs, "data.bin"), size, seed=9)
        want = harness.sha256_file(os.path.join(ufs, "data.bin"))
        cfg = cluster.config(mount={"direct_io": True})
        m = self.start_mount(cfg)
        self.assertEqual(oc.sha256_read(m.path("data.bin"))[0], want)  # warms the page cache
        oc.wait_quiet(cluster)

        reader = subprocess.Popen([sys.executable, "-c", READER, m.path("data.bin")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: reader.poll() is None and (reader.kill(), reader.wait()))
        self.assertEqual(harness.bounded(reader.stdout.readline, 20, "reader open"), "opened\n")
        m.proc.kill()
        m.proc.wait(timeout=10)
        start = time.monotonic()
        reader.stdin.write("go\n")
        reader.stdin.flush()
        line = harness.bounded(reader.stdout.readline, 20, "the reader's read on a dead mount")
        self.assertLess(time.monotonic() - start, 10 * harness.TIME_SCALE)
        self.assertTrue(line.startswith("errno"), line)
        self.assertIn(int(line.split()[1]), (errno.ENOTCONN, errno.ECONNABORTED, errno.EIO))

        # Mount again (daemon mode) on the same config and cache dir while the reader still
        # holds its descriptor on the dead mount.
        cluster.reset()
        r = harness.run_cli(["mount", m.mountpoint, "--config", m.config_path], timeout=60)
        self.addCleanup(harness.force_unmount, m.mountpoint)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("clearing stale mount", r.stderr)
        digest = harness.bounded(lambda: oc.sha256_read(m.path("data.bin"))[0], 60, "read")
        self.assertEqual(digest, want)
        oc.wait_quiet(cluster)
        self.assertEqual(cluster.endpoint_total("get_page"), 0,
                         "the restarted daemon asked the workers for cached pages")
        reader.stdin.write("done\n")
        reader.stdin.flush()
        reader.wait(timeout=10)
        self.assertEqual(harness.run_cli(["unmount", m.mountpoint]).returncode, 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
