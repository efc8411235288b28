"""Issue 5: writes and namespace operations on real mounts.

StandaloneWritesTest mounts a local directory (file:// UFS, standalone mode); WorkerWritesTest
runs the same workloads through a fake worker (cluster mode, UFS fallback off, so every commit,
mkdir, rm and mv goes through the worker REST API). Workloads: cp -r in and out, tar round trip,
rsync -a, sqlite3 with 10,000 rows, git init + commit, random pwrites into a 50 MiB file,
truncate, renames, unlink of an open file, errno classes, a seeded model-based run of 5,000
operations against a local reference directory, and faults (staging full, store failing before
close, kill -9 mid-write).

Knobs: AF_MODEL_SEED, AF_MODEL_STEPS (default 5000), AF_WRITES_BIG_MIB (default 50).
"""
import ctypes
import errno
import filecmp
import os
import random
import shutil
import sqlite3
import subprocess
import time
import unittest

import harness
import writes_model

MiB = 1 << 20
BIG_MIB = int(os.environ.get("AF_WRITES_BIG_MIB", "50"))
VN_KEY = "alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker"


def make_tree(root, seed=3, files=120):
    rng = random.Random(seed)
    for i in range(files):
        rel = os.path.join("d%d" % (i % 6), "s%d" % (i % 4), "f%03d.bin" % i)
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(rng.randbytes(rng.choice([0, 1, 4096, rng.randrange(0, 300000)])))
    os.makedirs(os.path.join(root, "empty dir"), exist_ok=True)
    with open(os.path.join(root, "名前 with space.txt"), "w") as f:
        f.write("utf-8 name\n")


def assert_trees_equal(test, a, b):
    cmp = filecmp.dircmp(a, b)

    def walk(c, rel):
        test.assertEqual((c.left_only, c.right_only, c.funny_files), ([], [], []), rel)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        test.assertEqual((mismatch, errors), ([], []), rel)
        for name, sub in c.subdirs.items():
            walk(sub, os.path.join(rel, name))
    walk(cmp, ".")


def errno_of(fn):
    try:
        fn()
    except OSError as e:
        return e.errno
    return 0


def write_all(fd, data):
    """os.write until everything is written (a big write may be split by the kernel)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def renameat2(src, dst, flags):
    libc = ctypes.CDLL(None, use_errno=True)
    AT_FDCWD = -100
    rc = libc.renameat2(AT_FDCWD, src.encode(), AT_FDCWD, dst.encode(), ctypes.c_uint(flags))
    return 0 if rc == 0 else ctypes.get_errno()


class WorkloadMixin:
    """Workloads that must behave the same over any backend. `self.m` is the mount,
    `self.ufs` the directory the backend stores files in."""

    def test_cp_r_in_and_out(self):
        src = os.path.join(self.tmp, "tree")
        make_tree(src)
        subprocess.run(["cp", "-r", src, self.m.path("tree")], check=True, timeout=120)
        assert_trees_equal(self, src, self.m.path("tree"))
        assert_trees_equal(self, src, os.path.join(self.ufs, "tree"))
        out = os.path.join(self.tmp, "out")
        subprocess.run(["cp", "-r", self.m.path("tree"), out], check=True, timeout=120)
        assert_trees_equal(self, src, out)

    def test_tar_round_trip(self):
        src = os.path.join(self.tmp, "tree")
        make_tree(src, seed=5, files=60)
        tar_in = os.path.join(self.tmp, "in.tar")
        subprocess.run(["tar", "-C", src, "-cf", tar_in, "."], check=True, timeout=60)
        os.mkdir(self.m.path("x"))
        subprocess.run(["tar", "-C", self.m.path("x"), "-xf", tar_in] + self.TAR_X_FLAGS,
                       check=True, timeout=120)
        assert_trees_equal(self, src, self.m.path("x"))
        tar_out = os.path.join(self.tmp, "out.tar")
        subprocess.run(["tar", "-C", self.m.path("x"), "-cf", tar_out, "."], check=True,
                       timeout=60)
        back = os.path.join(self.tmp, "back")
        os.mkdir(back)
        subprocess.run(["tar", "-C", back, "-xf", tar_out], check=True, timeout=60)
        assert_trees_equal(self, src, back)

    @unittest.skipIf(shutil.which("rsync") is None, "rsync is not installed")
    def test_rsync_archive(self):
        src = os.path.join(self.tmp, "tree")
        make_tree(src, seed=9, files=40)
        rsync = ["rsync"] + self.RSYNC_FLAGS + [src + "/", self.m.path("r") + "/"]
        subprocess.run(rsync, check=True, timeout=120)
        assert_trees_equal(self, src, self.m.path("r"))
        # A second run (temporary files renamed over existing ones) changes nothing.
        subprocess.run(rsync, check=True, timeout=120)
        assert_trees_equal(self, src, self.m.path("r"))
        out = os.path.join(self.tmp, "rsync-out")
        subprocess.run(["rsync"] + self.RSYNC_FLAGS + [self.m.path("r") + "/", out + "/"],
                       check=True, timeout=120)
        assert_trees_equal(self, src, out)

    def test_sqlite_10000_rows(self):
        db = self.m.path("test.db")
        if shutil.which("sqlite3"):
            sql = ("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\nBEGIN;\n" +
                   "".join("INSERT INTO t(v) VALUES('row %d');\n" % i for i in range(10000)) +
                   "COMMIT;\n")
            subprocess.run(["sqlite3", db], input=sql.encode(), check=True, timeout=120)
        else:
            conn = sqlite3.connect(db)
            conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
            with conn:
                conn.executemany("INSERT INTO t(v) VALUES(?)",
                                 [("row %d" % i,) for i in range(10000)])
            conn.close()
        conn = sqlite3.connect(db)
        rows = conn.execute("SELECT id, v FROM t ORDER BY id").fetchall()
        conn.close()
        self.assertEqual(len(rows), 10000)
        self.assertEqual(rows[1234], (1235, "row 1234"))
        # The committed file is the database: readable straight from the backend.
        conn = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.ufs, "test.db"), uri=True)
        self.assertEqual(conn.execute("SELECT count(*) FROM t").fetchone()[0], 10000)
        conn.close()

    @unittest.skipIf(shutil.which("git") is None, "git is not installed")
    def test_git_init_and_commit(self):
        repo = self.m.path("repo")
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@e", HOME=self.tmp)

        def git(*args):
            return subprocess.run(["git", "-C", repo] + list(args), check=True, timeout=120,
                                  env=env, capture_output=True).stdout.decode()
        subprocess.run(["git", "init", "-q", repo], check=True, timeout=60, env=env)
        for i in range(20):
            with open(os.path.join(repo, "file%02d.txt" % i), "w") as f:
                f.write("content %d\n" % i * (i + 1))
        git("add", ".")
        git("commit", "-q", "-m", "first")
        with open(os.path.join(repo, "file03.txt"), "a") as f:
            f.write("more\n")
        git("commit", "-q", "-am", "second")
        self.assertEqual(len(git("log", "--oneline").splitlines()), 2)
        self.assertEqual(git("status", "--porcelain"), "")
        git("fsck", "--no-progress")

    def test_random_pwrites_into_a_big_file(self):
        path = self.m.path("big.bin")
        rng = random.Random(11)
        size = BIG_MIB * MiB
        ref = bytearray(rng.randbytes(size))
        with open(path, "wb") as f:
            f.write(ref)
        fd = os.open(path, os.O_RDWR)
        try:
            for _ in range(500):
                off = rng.randrange(0, size + MiB)
                data = rng.randbytes(rng.choice([1, 4096, 65536, rng.randrange(1, 300000)]))
                self.assertEqual(os.pwrite(fd, data, off), len(data))
                if off > len(ref):
                    ref.extend(bytes(off - len(ref)))
                ref[off:off + len(data)] = data
            os.fsync(fd)
        finally:
            os.close(fd)
        self.assertEqual(os.stat(path).st_size, len(ref))
        with open(path, "rb") as f:
            self.assertTrue(f.read() == ref, "mount content differs")
        with open(os.path.join(self.ufs, "big.bin"), "rb") as f:
            self.assertTrue(f.read() == ref, "backend content differs")

    def test_truncate_grow_and_shrink(self):
        path = self.m.path("t.bin")
        with open(path, "wb") as f:
            f.write(b"x" * 10000)
        os.truncate(path, 20000)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"x" * 10000 + bytes(10000))
        os.truncate(path, 3)
        self.assertEqual(os.stat(path).st_size, 3)
        with open(os.path.join(self.ufs, "t.bin"), "rb") as f:
            self.assertEqual(f.read(), b"xxx")  # truncate(path) commits before replying
        with open(path, "r+b") as f:
            f.truncate(1)
            f.write(b"yz")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"yz")
        with open(path, "wb"):
            pass  # O_TRUNC
        self.assertEqual(os.stat(path).st_size, 0)

    def test_renames(self):
        m = self.m.path
        os.makedirs(m("dir/sub/deeper"))
        for rel in ("dir/a", "dir/sub/b", "dir/sub/deeper/c"):
            with open(m(rel), "w") as f:
                f.write(rel)
        os.rename(m("dir"), m("moved"))  # a non-empty directory
        for rel in ("a", "sub/b", "sub/deeper/c"):
            with open(m("moved/" + rel)) as f:
                self.assertEqual(f.read(), "dir/" + rel)
        self.assertFalse(os.path.exists(m("dir")))
        self.assertFalse(os.path.exists(os.path.join(self.ufs, "dir")))
        os.rename(m("moved/a"), m("moved/sub/a2"))
        with open(m("f1"), "w") as f:
            f.write("one")
        with open(m("f2"), "w") as f:
            f.write("two")
        os.rename(m("f1"), m("f2"))  # over an existing file
        with open(m("f2")) as f:
            self.assertEqual(f.read(), "one")
        self.assertEqual(sorted(os.listdir(m(""))), ["f2", "moved"])
        os.mkdir(m("emptydir"))
        os.rename(m("moved"), m("emptydir"))  # over an empty directory
        self.assertEqual(sorted(os.listdir(m("emptydir/sub"))), ["a2", "b", "deeper"])
        # A file being written moves with its open handle; the next commit lands at the new name.
        f = open(m("w.txt"), "w")
        f.write("first")
        f.flush()
        os.rename(m("w.txt"), m("w2.txt"))
        f.write(" second")
        f.close()
        with open(os.path.join(self.ufs, "w2.txt")) as g:
            self.assertEqual(g.read(), "first second")
        self.assertFalse(os.path.exists(os.path.join(self.ufs, "w.txt")))

    def test_unlink_of_an_open_file(self):
        path = self.m.path("open.bin")
        data = os.urandom(3 * MiB + 5)
        with open(path, "wb") as f:
            f.write(data)
        with open(path, "rb", buffering=0) as f:
            os.unlink(path)
            self.assertFalse(os.path.exists(path))
            self.assertNotIn("open.bin", os.listdir(self.m.path()))
            self.assertEqual(os.fstat(f.fileno()).st_size, len(data))
            self.assertEqual(f.read(), data)  # reads through the open handle still work
        harness.wait_until(lambda: not os.path.exists(os.path.join(self.ufs, "open.bin")), 10,
                           "the remote remove at the last release")
        # A write handle on a file unlinked here: its data is discarded, close still returns 0.
        f = open(self.m.path("scratch"), "wb")
        f.write(b"temporary")
        f.flush()
        os.unlink(self.m.path("scratch"))
        f.write(b" more")
        f.close()
        time.sleep(0.2)
        self.assertFalse(os.path.exists(os.path.join(self.ufs, "scratch")))

    def test_errnos(self):
        m = self.m.path
        os.mkdir(m("d"))
        with open(m("d/f"), "w") as f:
            f.write("x")
        os.mkdir(m("e"))
        self.assertEqual(errno_of(lambda: os.mkdir(m("d"))), errno.EEXIST)
        self.assertEqual(errno_of(lambda: os.mkdir(m("nope/x"))), errno.ENOENT)
        self.assertEqual(errno_of(lambda: os.rmdir(m("d"))), errno.ENOTEMPTY)
        self.assertEqual(errno_of(lambda: os.rmdir(m("nope"))), errno.ENOENT)
        self.assertEqual(errno_of(lambda: os.rmdir(m("d/f"))), errno.ENOTDIR)
        self.assertEqual(errno_of(lambda: os.unlink(m("d"))), errno.EISDIR)
        self.assertEqual(errno_of(lambda: os.unlink(m("nope"))), errno.ENOENT)
        self.assertEqual(errno_of(lambda: open(m("d"), "w")), errno.EISDIR)
        self.assertEqual(errno_of(lambda: os.open(m("d/f"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)),
                         errno.EEXIST)
        self.assertEqual(errno_of(lambda: os.rename(m("e"), m("d"))), errno.ENOTEMPTY)
        self.assertEqual(errno_of(lambda: os.rename(m("d/f"), m("e"))), errno.EISDIR)
        self.assertEqual(errno_of(lambda: os.rename(m("e"), m("d/f"))), errno.ENOTDIR)
        self.assertEqual(errno_of(lambda: os.rename(m("d"), m("d/inside"))), errno.EINVAL)
        with open(m("g"), "w") as f:
            f.write("g")
        self.assertEqual(renameat2(m("g"), m("d/f"), 1), errno.EEXIST)  # RENAME_NOREPLACE
        self.assertEqual(renameat2(m("g"), m("d/f"), 2), errno.EINVAL)  # RENAME_EXCHANGE
        self.assertEqual(renameat2(m("g"), m("h"), 1), 0)
        self.assertEqual(errno_of(lambda: os.mkdir(m("x" * 256))), errno.ENAMETOOLONG)
        self.assertEqual(errno_of(lambda: os.mkdir(m(b"bad\xff".decode(errors="surrogateescape")))),
                         errno.EINVAL)
        self.assertEqual(errno_of(lambda: os.setxattr(m("h"), "user.x", b"1")), errno.ENOTSUP)
        self.assertEqual(errno_of(lambda: os.link(m("h"), m("h2"))), errno.ENOTSUP)
        self.assertEqual(errno_of(lambda: os.mkfifo(m("fifo"))), errno.ENOTSUP)
        fd = os.open(m("h"), os.O_WRONLY)
        try:
            self.assertEqual(errno_of(lambda: os.posix_fallocate(fd, 0, 100)), 0)  # glibc zeros
        finally:
            os.close(fd)

    def test_model(self):
        seed = int(os.environ.get("AF_MODEL_SEED", str(random.randrange(1 << 30))))
        steps = int(os.environ.get("AF_MODEL_STEPS", str(self.MODEL_STEPS)))
        ref = os.path.join(self.tmp, "reference")
        os.mkdir(ref)
        os.mkdir(self.m.path("model"))
        print("\nmodel seed %d, %d steps" % (seed, steps), flush=True)
        writes_model.Model(self.m.path("model"), ref, seed).run(steps)


class StandaloneWritesTest(WorkloadMixin, harness.TempDirTestCase):
    MODEL_STEPS = 5000
    TAR_X_FLAGS = []  # file:// passes explicit times through
    RSYNC_FLAGS = ["-a"]

    def setUp(self):
        super().setUp()
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(self.ufs)
        self.staging = os.path.join(self.tmp, "staging")
        self.m = self.start_mount(self.config())

    def config(self, **write):
        return {"ufs_root": "file://" + self.ufs,
                "write": dict({"staging_dir": self.staging}, **write)}

    def test_close_returns_when_the_data_is_in_the_ufs(self):
        path = self.m.path("durable.txt")
        with open(path, "w") as f:
            f.write("v1")
        with open(path, "w") as f:
            f.write("version two")
            f.flush()  # reaches the daemon's staged copy, not the UFS
            with open(os.path.join(self.ufs, "durable.txt")) as g:
                self.assertEqual(g.read(), "v1")  # others still see the previous version
        with open(os.path.join(self.ufs, "durable.txt")) as g:
            self.assertEqual(g.read(), "version two")

    def test_posix_attributes_pass_through(self):
        path = self.m.path("p")
        with open(path, "w") as f:
            f.write("x")
        os.chmod(path, 0o600)
        self.assertEqual(os.stat(path).st_mode & 0o7777, 0o600)
        self.assertEqual(os.stat(os.path.join(self.ufs, "p")).st_mode & 0o7777, 0o600)
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_234_567_890_123_456_789))
        self.assertEqual(os.stat(path).st_mtime_ns, 1_234_567_890_123_456_789)
        subprocess.run(["cp", "-p", path, self.m.path("q")], check=True, timeout=30)
        st = os.stat(self.m.path("q"))
        self.assertEqual((st.st_mode & 0o7777, st.st_mtime_ns), (0o600, 1_234_567_890_123_456_789))

    def test_staging_full_is_enospc(self):
        self.m.stop()
        m = self.start_mount(self.config(staging_capacity="4MiB", max_file_size="3MiB"),
                             name="small")
        fd = os.open(m.path("a"), os.O_WRONLY | os.O_CREAT)
        try:
            os.write(fd, b"x" * (2 * MiB))
            self.assertEqual(errno_of(lambda: os.pwrite(fd, b"y", 3 * MiB)), errno.EFBIG)
            fd2 = os.open(m.path("b"), os.O_WRONLY | os.O_CREAT)
            try:
                os.write(fd2, b"z" * MiB)
                self.assertEqual(errno_of(lambda: write_all(fd2, b"z" * (2 * MiB))), errno.ENOSPC)
            finally:
                os.close(fd2)
        finally:
            os.close(fd)
        self.assertEqual(os.stat(os.path.join(self.ufs, "a")).st_size, 2 * MiB)

    def test_a_new_file_with_the_old_ones_size_and_mtime_is_not_served_old_pages(self):
        # Page versions are (mtime in ms, size). A file that replaces another at the same key
        # with both equal (a rename over it, or unlink and re-create, within one millisecond;
        # here forced with utime) must not be served the replaced file's cached pages. Found
        # by the model test through a worker.
        m = self.m.path
        for how in ("rename", "recreate"):
            target = m("t-" + how)
            with open(target, "wb") as f:
                f.write(b"A" * 5000)
            with open(target, "rb") as f:
                self.assertEqual(f.read(), b"A" * 5000)  # its pages are cached now
            st = os.stat(target)
            if how == "rename":
                with open(m("new"), "wb") as f:
                    f.write(b"B" * 5000)
                os.utime(m("new"), ns=(st.st_atime_ns, st.st_mtime_ns))
                os.rename(m("new"), target)
            else:
                os.unlink(target)
                with open(target, "wb") as f:
                    f.write(b"B" * 5000)
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
            self.assertEqual(os.stat(target).st_mtime_ns // 1000000, st.st_mtime_ns // 1000000)
            with open(target, "rb") as f:
                self.assertEqual(f.read(), b"B" * 5000, how)
            fd = os.open(target, os.O_WRONLY)  # a partial overwrite starts from the new bytes
            os.write(fd, b"C" * 10)
            os.close(fd)
            with open(target, "rb") as f:
                self.assertEqual(f.read(), b"C" * 10 + b"B" * 4990, how)

    def test_sigterm_commits_dirty_files(self):
        # The graceful stop waits for open files up to mount.shutdown_timeout; keep it short.
        self.m.stop()
        cfg = self.config()
        cfg["mount"] = {"shutdown_timeout": "1s"}
        self.m = self.start_mount(cfg)
        f = open(self.m.path("pending.txt"), "w")
        f.write("written, not yet closed")
        f.flush()  # in the staged copy only
        self.assertFalse(os.path.exists(os.path.join(self.ufs, "pending.txt")))
        self.m.proc.terminate()
        self.assertEqual(self.m.proc.wait(timeout=30), 0)
        try:
            f.close()
        except OSError:
            pass  # the mount is gone
        with open(os.path.join(self.ufs, "pending.txt")) as g:
            self.assertEqual(g.read(), "written, not yet closed")

    def test_kill_9_mid_write_leaves_only_committed_versions(self):
        with open(self.m.path("old.txt"), "w") as f:
            f.write("committed version")
        cfg = self.config()
        f1 = open(self.m.path("old.txt"), "r+")
        f1.write("UNCOMMITTED")
        f1.flush()
        f2 = open(self.m.path("new.txt"), "w")
        f2.write("never committed")
        f2.flush()
        self.m.proc.kill()
        self.m.proc.wait(timeout=10)
        for f in (f1, f2):
            try:
                f.close()
            except OSError:
                pass  # ENOTCONN: the daemon is gone
        harness.force_unmount(self.m.mountpoint)
        m2 = self.start_mount(cfg, name="mnt2")
        with open(m2.path("old.txt")) as f:
            self.assertEqual(f.read(), "committed version")
        self.assertFalse(os.path.exists(m2.path("new.txt")))
        self.assertEqual(sorted(os.listdir(self.ufs)), ["old.txt"])
        # The staged copies were not dropped silently: they wait under failed/.
        failed = os.path.join(self.staging, "failed")
        kept = [n for n in os.listdir(failed) if n.startswith("recovered-") and
                not n.endswith(".key")]
        contents = []
        for n in kept:
            with open(os.path.join(failed, n)) as f:
                contents.append(f.read())
        contents.sort()
        self.assertEqual(contents, ["UNCOMMITTEDersion", "never committed"])


@unittest.skipIf(shutil.which(harness.FAKE_WORKER) is None and
                 not os.path.exists(harness.FAKE_WORKER), "fake_worker is not built")
class WorkerWritesTest(WorkloadMixin, harness.TempDirTestCase):
    MODEL_STEPS = 5000
    TAR_X_FLAGS = ["-m"]  # the worker API cannot set times (semantics.md §2.5)
    RSYNC_FLAGS = ["-rl"]  # -a would set times: EPERM

    def setUp(self):
        super().setUp()
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(self.ufs)
        self.staging = os.path.join(self.tmp, "staging")
        self.root = "file://" + self.ufs
        self.worker = self.start_worker({self.root: self.ufs})
        self.m = self.start_mount(self.config())

    def config(self):
        return {"ufs_root": self.root, "worker_hosts": self.worker.address,
                "options": {VN_KEY: 5}, "fallback": {"enabled": False},
                "routing": {"retries": 0, "backoff_initial": "10ms", "backoff_max": "20ms"},
                "write": {"staging_dir": self.staging}}

    def test_commits_go_through_the_worker(self):
        self.worker.reset_counters()
        with open(self.m.path("w.txt"), "w") as f:
            f.write("through the worker")
        os.mkdir(self.m.path("d"))
        os.rename(self.m.path("w.txt"), self.m.path("d/w.txt"))
        os.unlink(self.m.path("d/w.txt"))
        os.rmdir(self.m.path("d"))
        by = self.worker.counters()["by_endpoint"]
        for endpoint in ("chunk_write", "mkdir", "mv", "rm"):
            self.assertGreaterEqual(by.get(endpoint, 0), 1, (endpoint, by))

    def test_attribute_changes_are_eperm_unless_no_ops(self):
        path = self.m.path("a")
        with open(path, "w") as f:
            f.write("a")
        st = os.stat(path)
        os.chmod(path, st.st_mode & 0o7777)  # the value already reported: 0
        os.chown(path, st.st_uid, st.st_gid)
        os.utime(path)  # both UTIME_NOW (touch): 0, mtime unchanged (documented)
        self.assertEqual(errno_of(lambda: os.chmod(path, 0o600)), errno.EPERM)
        self.assertEqual(errno_of(lambda: os.utime(path, (1, 2))), errno.EPERM)
        self.assertEqual(errno_of(lambda: os.chown(path, st.st_uid + 1, -1)), errno.EPERM)

    def test_store_failure_before_close_is_eio_and_keeps_the_data(self):
        f = open(self.m.path("precious.bin"), "wb")
        data = os.urandom(100000)
        f.write(data)
        self.worker.faults({"fail_next": [{"endpoint": "chunk_write", "count": 1000,
                                           "action": "status:500"}]})
        with self.assertRaises(OSError) as cm:
            f.close()
        self.assertEqual(cm.exception.errno, errno.EIO)
        failed = os.path.join(self.staging, "failed")
        kept = [n for n in os.listdir(failed) if not n.endswith(".key")]
        self.assertEqual(len(kept), 1, kept)
        with open(os.path.join(failed, kept[0]), "rb") as g:
            self.assertEqual(g.read(), data)
        self.assertIn("precious.bin", self.m.log())
        self.worker.faults({})


if __name__ == "__main__":
    unittest.main()
