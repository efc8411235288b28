"""Issue 9 (part): systemd notify readiness, the unit file, fstab / mount(8), stale-only unmount."""
import os
import shutil
import socket
import subprocess

import harness
from harness import BINARY

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "systemd",
                    "alluxio-fuse@.service.in")


class OpsTest(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.tmp, "src")
        os.makedirs(self.src)
        with open(os.path.join(self.src, "a.txt"), "w") as f:
            f.write("alpha\n")
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
        self.addCleanup(harness.force_unmount, self.mp)

    def test_sd_notify_ready_only_when_mount_answers(self):
        sock_path = os.path.join(self.tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(20)
        self.addCleanup(sock.close)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        proc = subprocess.Popen([BINARY, "mount", self.mp, "--config", self.cfg, "-f"],
                                env=env, stderr=subprocess.DEVNULL)
        try:
            msg = sock.recv(4096).decode()
            self.assertIn("READY=1", msg)
            # READY was sent after the mount answered: it serves files right now.
            self.assertTrue(harness.is_mountpoint(self.mp))
            with open(os.path.join(self.mp, "a.txt")) as f:
                self.assertEqual(f.read(), "alpha\n")
            proc.terminate()
            self.assertIn("STOPPING=1", sock.recv(4096).decode())
            self.assertEqual(proc.wait(timeout=20), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_threads_are_named_for_operators(self):
        # `top -H` / `ps -L` / perf tell the daemon's parts apart by these names (OPERATIONS.md).
        m = harness.Mount(self.tmp, {"ufs_root": "file://" + self.src,
                                     "metrics": {"enabled": True, "listen": "127.0.0.1:0"},
                                     "page_cache": {"dir": os.path.join(self.tmp, "cache")}},
                          name="named")
        try:
            with open(m.path("a.txt")) as f:
                self.assertEqual(f.read(), "alpha\n")
            task_dir = "/proc/%d/task" % m.proc.pid
            names = set()
            for tid in os.listdir(task_dir):
                try:
                    with open(os.path.join(task_dir, tid, "comm")) as f:
                        names.add(f.read().strip())
                except FileNotFoundError:
                    pass  # a thread that ended meanwhile
            # Over io_uring (AF_IT_IO_URING=1) the queue threads serve instead of libfuse's.
            serving = "af-ring-0" if harness.IO_URING else "af-fuse"
            for want in (serving, "af-fetch", "af-notify", "af-commit", "af-cache-bg",
                         "af-metrics", "af-signal"):
                self.assertIn(want, names)
        finally:
            m.stop()

    def test_kernel_readahead_follows_max_read(self):
        for max_read, want_kb in (("1MiB", 1024), ("256KiB", 256)):
            m = harness.Mount(self.tmp, {"ufs_root": "file://" + self.src,
                                         "mount": {"max_read": max_read}}, name="ra")
            try:
                st = os.stat(m.mountpoint)
                bdi = "/sys/class/bdi/%d:%d/read_ahead_kb" % (os.major(st.st_dev),
                                                               os.minor(st.st_dev))
                # Set by the daemon just after the mount answers.
                def current_kb(path=bdi):
                    with open(path) as f:
                        return f.read().strip()
                harness.wait_until(lambda: current_kb() == str(want_kb), 10,
                                   "%s to be %d" % (bdi, want_kb))
            finally:
                m.stop()

    def test_unit_file_verifies(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze not installed")
        # Point ExecStart at the built binary; verify the instance for this mount point.
        unit_dir = os.path.join(self.tmp, "units")
        os.makedirs(unit_dir)
        with open(UNIT) as f:
            text = f.read().replace("@CMAKE_INSTALL_FULL_BINDIR@/alluxio-fuse",
                                    os.path.abspath(BINARY))
        name = "alluxio-fuse@.service"
        with open(os.path.join(unit_dir, name), "w") as f:
            f.write(text)
        inst = subprocess.run(["systemd-escape", "-p", self.mp], capture_output=True,
                              text=True, check=True).stdout.strip()
        os.symlink(name, os.path.join(unit_dir, "alluxio-fuse@%s.service" % inst))
        r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                            os.path.join(unit_dir, "alluxio-fuse@%s.service" % inst)],
                           capture_output=True, text=True, timeout=60)
        # Only complaints about this unit count (the host may have unrelated broken units).
        problems = [l for l in (r.stdout + r.stderr).splitlines() if "alluxio-fuse@" in l]
        self.assertEqual(problems, [])
        self.assertIn("Type=notify", text)
        self.assertIn("--stale-only", text)

    def test_mount_t_fuse_type_with_fstab_options(self):
        link = "/usr/bin/alluxio-fuse"
        if os.path.lexists(link):
            self.skipTest("an alluxio-fuse is installed in /usr/bin; not replacing it")
        os.symlink(os.path.abspath(BINARY), link)
        self.addCleanup(os.unlink, link)
        # mount(8) runs the helper form, which daemonizes: no pipes (see harness.run_cmd).
        r = harness.run_cmd(["mount", "-t", "fuse.alluxio-fuse", self.cfg, self.mp, "-o",
                             "_netdev,nofail,allow_other,attr_timeout=5s,noatime"], timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open("/proc/mounts") as f:
            line = [l for l in f if l.split()[1] == self.mp][0]
        self.assertIn("fuse.alluxio-fuse", line)
        self.assertIn("allow_other", line)
        self.assertEqual(os.listdir(self.mp), ["a.txt"])
        subprocess.run(["umount", self.mp], check=True, timeout=30)

    def test_unmount_stale_only(self):
        # No mount: nothing to do, success.
        self.assertEqual(subprocess.run([BINARY, "unmount", "--stale-only", self.mp]).returncode, 0)
        proc = subprocess.Popen([BINARY, "mount", self.mp, "--config", self.cfg, "-f"],
                                stderr=subprocess.DEVNULL)
        harness.wait_until(lambda: harness.is_mountpoint(self.mp), 20, "mount")
        # A live mount is left alone.
        self.assertEqual(subprocess.run([BINARY, "unmount", "--stale-only", self.mp]).returncode, 0)
        self.assertTrue(harness.is_mountpoint(self.mp))
        proc.kill()
        proc.wait()
        # A dead one is cleared.
        self.assertEqual(subprocess.run([BINARY, "unmount", "--stale-only", self.mp]).returncode, 0)
        self.assertFalse(harness.is_mountpoint(self.mp))


if __name__ == "__main__":
    import unittest
    unittest.main()
