"""FUSE over io_uring (`mount.io_uring`, issue 4): requests served by per-CPU ring queues.

The kernel only offers io_uring when the fuse module's enable_uring parameter is Y; the test
turns it on for its mounts and puts the old value back in cleanup (it is a global switch, but a
daemon that does not ask for io_uring never gets it, so other mounts are unaffected).

- Through the rings: bytes read equal the source (small and multi-page files), writes, renames,
  directory listings and deletes behave as on /dev/fuse, and each CPU's queue thread
  (af-ring-N) serves the requests of a process running on that CPU.
- Kernel switch off: the daemon says so once and serves everything through /dev/fuse.
- The daemon stops cleanly (exit 0) after an unmount with its rings live.
- A queue whose io_uring_enter fails for good (an LD_PRELOAD shim breaks it on demand) stops
  the daemon with exit 1 and a log line saying why, and the request stranded on that queue
  fails (ECONNABORTED) instead of waiting in D state for as long as the daemon lives.
"""
import collections
import errno
import hashlib
import os
import re
import select
import subprocess
import sys
import time

import unittest

import harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import uring_switch  # noqa: E402

PARAM = uring_switch.PARAM
XATTR = "user.alluxio.ufs_uri"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ring_threads(pid):
    """{name: voluntary context switches} of the daemon's af-ring-N threads."""
    out = {}
    task_dir = "/proc/%d/task" % pid
    for tid in os.listdir(task_dir):
        try:
            with open(os.path.join(task_dir, tid, "comm")) as f:
                name = f.read().strip()
            if not re.fullmatch(r"af-ring-\d+", name):  # not the pool's af-ring-io
                continue
            with open(os.path.join(task_dir, tid, "status")) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        out[name] = int(line.split()[1])
        except OSError:
            pass
    return out


def thread_names(pid):
    names = []
    task_dir = "/proc/%d/task" % pid
    for tid in os.listdir(task_dir):
        try:
            with open(os.path.join(task_dir, tid, "comm")) as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return names


def on_cpu(cpu, code):
    """Runs python `code` in a child pinned to `cpu`; returns its stdout."""
    return subprocess.run(
        [sys.executable, "-c", "import os; os.sched_setaffinity(0, {%d}); %s" % (cpu, code)],
        check=True, capture_output=True, timeout=60).stdout.decode()


class UringTest(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        if not os.path.exists(PARAM):
            self.skipTest("this kernel has no FUSE over io_uring (%s)" % PARAM)
        self.addCleanup(uring_switch.turn_on())  # each test sets it as it needs; restored after
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(os.path.join(self.ufs, "dir"))
        with open(os.path.join(self.ufs, "a.txt"), "w") as f:
            f.write("hello\n")
        self.big = os.path.join(self.ufs, "dir", "big.bin")
        with open(self.big, "wb") as f:
            f.write(os.urandom(9 * (1 << 20) + 12345))

    def config(self):
        return {"ufs_root": "file://" + self.ufs, "mount": {"io_uring": True}}

    def shim_env(self, **extra):
        """The daemon's environment with tests/support's io_uring_enter shim preloaded."""
        shim = os.environ.get("AF_FAIL_ENTER_SHIM", "")
        self.assertTrue(os.path.exists(shim),
                        "AF_FAIL_ENTER_SHIM must name tests/support's libaf_fail_uring_enter.so "
                        "(ctest and scripts/sanitizer-integration.sh set it): %r" % shim)
        env = dict(os.environ, LD_PRELOAD=shim, **extra)
        if "ASAN_OPTIONS" in env:  # the shim is preloaded ahead of the ASan runtime
            env["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
        return env

    def test_requests_go_through_the_ring_of_the_callers_cpu(self):
        uring_switch.set_to("Y")
        m = self.start_mount(self.config())
        with open(m.path("a.txt")) as f:
            self.assertEqual(f.read(), "hello\n")
        queues = len(ring_threads(m.proc.pid))
        self.assertGreaterEqual(queues, 1)
        self.assertEqual(sha256_file(m.path("dir/big.bin")), sha256_file(self.big))
        # 1 MiB reads went to the pool, whose threads keep their name after serving (8 entries
        # per queue, one pool thread per entry, at most mount.max_threads).
        self.assertEqual(thread_names(m.proc.pid).count("af-ring-io"), min(64, 8 * queues),
                         sorted(thread_names(m.proc.pid)))
        # Random reads of whole and partial pages, compared with the source.
        with open(m.path("dir/big.bin"), "rb") as f, open(self.big, "rb") as src:
            for off in (0, 4096, (1 << 20) - 100, 5 * (1 << 20) + 7, 9 * (1 << 20) + 12000):
                f.seek(off)
                src.seek(off)
                self.assertEqual(f.read(70000), src.read(70000), "offset %d" % off)

        # Mutations through the rings: create, write in pieces, fsync, rename, list, delete.
        data = os.urandom(3 * (1 << 20) + 17)
        fd = os.open(m.path("dir/new.bin"), os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            for i in range(0, len(data), 200000):
                os.write(fd, data[i:i + 200000])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(m.path("dir/new.bin"), m.path("dir/moved.bin"))
        self.assertEqual(sorted(os.listdir(m.path("dir"))), ["big.bin", "moved.bin"])
        with open(os.path.join(self.ufs, "dir", "moved.bin"), "rb") as f:
            self.assertEqual(f.read(), data)
        os.unlink(m.path("dir/moved.bin"))
        self.assertFalse(os.path.exists(os.path.join(self.ufs, "dir", "moved.bin")))

        # Each CPU's requests wake that CPU's queue thread: getxattr is never cached by the
        # kernel, so every call is one request.
        cpus = sorted(os.sched_getaffinity(0))
        uri = os.getxattr(m.path("a.txt"), XATTR).decode()
        self.assertTrue(uri.endswith("/a.txt"), uri)
        code = ("p = %r\nfor _ in range(300): assert os.getxattr(p, %r).decode() == %r\n"
                % (m.path("a.txt"), XATTR, uri))
        for cpu in cpus:
            name = "af-ring-%d" % cpu
            before = ring_threads(m.proc.pid)
            self.assertIn(name, before)
            on_cpu(cpu, code)
            after = ring_threads(m.proc.pid)
            self.assertGreaterEqual(after[name] - before[name], 250,
                                    "%s served the requests of CPU %d: %s -> %s"
                                    % (name, cpu, before, after))
        self.assertEqual(m.stop(), 0, m.log())
        log = m.log()
        self.assertIn("FUSE over io_uring: %d queues" % queues, log)
        self.assertNotIn("io_uring queue", log)  # no ring errors were logged

    def test_pool_threads_commit_only_to_their_own_rings(self):
        # The kernel gives the task work of an entry's next request to the thread that submitted
        # the entry's COMMIT_AND_FETCH, on the ring it was submitted to. A pool thread that
        # submitted to its queue's ring would have to wake just to pass the next request on
        # (~30 % off 1 MiB sequential reads), so small requests' commits go to the queue ring,
        # submitted by the queue thread, and a pool thread commits a large request on a ring of
        # its own and serves that entry's next requests itself. The shim (AF_ENTER_LOG) names
        # every thread that submits, and the ring it submits to.
        uring_switch.set_to("Y")
        log_path = os.path.join(self.tmp, "submitters")
        env = self.shim_env(AF_ENTER_LOG=log_path)
        m = self.start_mount(self.config(), env=env)
        for _ in range(2):  # cold (pages fetched), then from the daemon's page cache
            self.assertEqual(sha256_file(m.path("dir/big.bin")), sha256_file(self.big))
            fd = os.open(m.path("dir/big.bin"), os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # the kernel's copy goes
            os.close(fd)
        self.assertEqual(m.stop(), 0, m.log())
        with open(log_path) as f:
            lines = [line.split() for line in f.read().splitlines()]
        queue_rings = {fd for name, fd in lines if re.fullmatch(r"af-ring-\d+", name)}
        pool_rings = {fd for name, fd in lines if name == "af-ring-io"}
        others = {name for name, _ in lines} - {"af-ring-io"}
        self.assertTrue(queue_rings, "no queue thread submitted: %s" % lines[:20])
        self.assertTrue(all(re.fullmatch(r"af-ring-\d+", n) for n in others),
                        "threads other than ring threads submitted: %s" % others)
        self.assertTrue(pool_rings, "no pool thread committed a large request on its own ring")
        self.assertFalse(queue_rings & pool_rings,
                         "pool threads submitted to a queue thread's ring: %s"
                         % (queue_rings & pool_rings))

    def test_a_slow_request_does_not_hold_up_the_other_requests_of_its_cpu(self):
        # A queue thread serves small requests itself. One that waits on a slow worker must not
        # make the requests that arrive after it on the same CPU wait too (as they would not
        # through /dev/fuse, where other threads take them): the rescuer hands them to the pool.
        uring_switch.set_to("Y")
        worker = self.start_worker({"file://" + self.ufs: self.ufs})
        with open(os.path.join(self.ufs, "small.txt"), "w") as f:
            f.write("slow\n")
        cfg = dict(self.config(), worker_hosts=worker.address, fallback={"enabled": False},
                   routing={"data_timeout": "20s", "metadata_timeout": "20s"},
                   metadata={"ttl": "10m"})
        m = self.start_mount(cfg)
        self.assertEqual(sha256_file(m.path("dir/big.bin")), sha256_file(self.big))
        fd = os.open(m.path("dir/big.bin"), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # next reads reach the daemon
        os.close(fd)
        worker.faults({"latency_ms": 4000})
        cpu = min(os.sched_getaffinity(0))
        timed = ("import os, sys, time\nos.sched_setaffinity(0, {%d})\nt = time.monotonic()\n"
                 "%s\nprint(round(time.monotonic() - t, 3))\n")
        slow = subprocess.Popen(
            [sys.executable, "-c", timed % (cpu, "open(%r).read()" % m.path("small.txt"))],
            stdout=subprocess.PIPE)
        try:
            time.sleep(0.7 * harness.TIME_SCALE)  # its lookup now waits on the worker
            self.assertIsNone(slow.poll(), "the slow request ended early")
            fast = on_cpu(cpu, "import time\nt = time.monotonic()\n"
                          "f = open(%r, 'rb')\nf.read(1 << 20)\nf.seek(5 << 20)\nf.read(4096)\n"
                          "print(round(time.monotonic() - t, 3))" % m.path("dir/big.bin"))
            slow_out, _ = slow.communicate(timeout=60)
        finally:
            if slow.poll() is None:
                slow.kill()
                slow.wait(timeout=30)
        self.assertGreaterEqual(float(slow_out), 3.0)  # it really was slow
        self.assertLess(float(fast), 1.0 * harness.TIME_SCALE,
                        "cached reads on CPU %d waited for the slow request (%.1f s)"
                        % (cpu, float(slow_out)))
        worker.faults({})
        self.assertEqual(m.stop(), 0, m.log())

    def test_doctor_reports_the_kernel_switch(self):
        conf = os.path.join(self.tmp, "doctor.yaml")
        harness.write_yaml(conf, dict(self.config(), metrics={"enabled": False}))
        for value, verdict, text in (("Y", "OK", "is Y: per-CPU ring queues"),
                                     ("N", "WARN", "is N: requests go through /dev/fuse")):
            uring_switch.set_to(value)
            r = subprocess.run([harness.BINARY, "doctor", "--config", conf],
                               capture_output=True, text=True, timeout=60)
            rows = [line for line in r.stdout.splitlines() if line.startswith("mount.io_uring")]
            self.assertEqual(len(rows), 1, r.stdout)
            self.assertEqual(rows[0].split()[1], verdict, rows[0])
            self.assertIn(text, rows[0])

    def test_kernel_switch_off_serves_through_dev_fuse(self):
        uring_switch.set_to("N")
        m = self.start_mount(self.config())
        self.assertEqual(sha256_file(m.path("dir/big.bin")), sha256_file(self.big))
        self.assertEqual(ring_threads(m.proc.pid), {})  # the queue threads ended unused
        self.assertEqual(m.stop(), 0, m.log())
        log = m.log()
        self.assertIn("the kernel did not offer FUSE over io_uring", log)
        self.assertEqual(log.count("did not offer"), 1)
        self.assertNotIn("FUSE over io_uring:", log)

    def test_a_ring_that_fails_stops_the_daemon_and_ends_its_requests(self):
        uring_switch.set_to("Y")
        trigger = os.path.join(self.tmp, "break-io_uring_enter")
        cpu = min(os.sched_getaffinity(0))
        env = self.shim_env(AF_FAIL_ENTER_FILE=trigger, AF_FAIL_ENTER_THREAD="af-ring-%d" % cpu)
        m = self.start_mount(self.config(), env=env)
        with open(m.path("a.txt")) as f:
            self.assertEqual(f.read(), "hello\n")
        self.assertTrue(ring_threads(m.proc.pid), "no af-ring-N threads")

        # The reader runs on one CPU and holds a file open (so the unmount cannot finish
        # before the daemon exits); only that CPU's queue thread breaks, so its getxattr,
        # which always reaches the daemon, is the request stranded on the broken queue: the
        # queue thread serves it and fails in the io_uring_enter that would submit the reply.
        code = ("import errno, os, sys\nos.sched_setaffinity(0, {%d})\nf = open(%r)\n"
                "print('ready', flush=True)\nsys.stdin.readline()\ntry:\n"
                "    os.getxattr(%r, %r)\n    print('answered')\nexcept OSError as e:\n"
                "    print(errno.errorcode.get(e.errno, e.errno))\n"
                % (cpu, m.path("a.txt"), m.path("a.txt"), XATTR))
        reader = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            ready, _, _ = select.select([reader.stdout], [], [], 30 * harness.TIME_SCALE)
            self.assertTrue(ready, "the reader did not open its file within 30 s")
            self.assertEqual(reader.stdout.readline().strip(), b"ready")
            open(trigger, "w").close()
            out, _ = reader.communicate(b"go\n", timeout=30 * harness.TIME_SCALE)
        except subprocess.TimeoutExpired:
            # The daemon never gave up: only its death ends the stranded request.
            m.proc.kill()
            reader.communicate(timeout=30)
            self.fail("the request stranded on the broken queue was still waiting after 30 s:\n"
                      + m.log()[-3000:])
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait(timeout=30)
        self.assertEqual(out.decode().strip(), errno.errorcode[errno.ECONNABORTED], m.log()[-3000:])
        self.assertEqual(m.proc.wait(timeout=30), 1, m.log()[-3000:])
        log = m.log()
        self.assertIn("FUSE over io_uring:", log)  # the rings were in use before the break
        self.assertIn("io_uring_enter failed: Cannot allocate memory", log)
        self.assertIn("the mount can no longer answer requests: stopping now", log)


if __name__ == "__main__":
    unittest.main()
