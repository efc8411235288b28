"""Issue 2: a real mount of the binary over a local-directory UFS (standalone mode).

Generates a tree with the awkward cases (empty files, 1-byte files, sizes at page boundaries,
a 200 MiB file, nested dirs, 2,000 small files, spaces and UTF-8 in names) and checks bytes,
names, types, sizes, mtimes and errnos through the mount against the source.
"""
import errno
import os
import random
import shutil
import stat
import tempfile
import unittest

import harness

MiB = 1 << 20


def make_tree(root, big_size):
    rng = random.Random(42)
    files = {}

    def put(rel, size):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            left = size
            while left > 0:
                n = min(left, 4 * MiB)
                f.write(rng.randbytes(n))
                left -= n
        files[rel] = size

    put("empty.bin", 0)
    put("one.bin", 1)
    for size in (MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 7):
        put("pages/size-%d.bin" % size, size)
    put("big/large.bin", big_size)
    put("with space/file name.txt", 1234)
    put("数据/训练 集.txt", 4321)
    put("emoji/😀.bin", 77)
    put("a/b/c/d/e/deep.txt", 10)
    for i in range(2000):
        put("small/%02d/f%04d.dat" % (i % 20, i), rng.randrange(0, 3000))
    os.makedirs(os.path.join(root, "empty dir"))
    return files


class FoundationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="af-it-foundation-", dir=harness.TMP_ROOT)
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.src = os.path.join(cls.tmp, "src")
        os.makedirs(cls.src)
        cls.files = make_tree(cls.src, int(os.environ.get("AF_BIG_FILE_MB", "200")) * MiB)
        cls.mount = harness.Mount(cls.tmp, {"ufs_root": "file://" + cls.src})
        cls.addClassCleanup(cls.mount.stop)

    def test_every_file_byte_equal(self):
        for rel in self.files:
            with self.subTest(rel=rel):
                self.assertEqual(harness.sha256_file(self.mount.path(rel)),
                                 harness.sha256_file(os.path.join(self.src, rel)))

    def test_walk_names_types_sizes_mtimes(self):
        def walk(root):
            out = {}
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames + filenames:
                    p = os.path.join(dirpath, name)
                    st = os.stat(p)
                    out[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode),
                                                     0 if stat.S_ISDIR(st.st_mode) else st.st_size,
                                                     st.st_mtime_ns // 1000000)
            return out
        expected = walk(self.src)
        got = walk(self.mount.path())
        self.assertEqual(len(got), len(expected))
        self.assertEqual(got, expected)

    def test_readdir_matches_listdir(self):
        for rel in ("", "small/07", "数据", "with space", "empty dir"):
            self.assertEqual(sorted(os.listdir(self.mount.path(rel))),
                             sorted(os.listdir(os.path.join(self.src, rel))))

    def test_random_preads_equal_source(self):
        rel = "big/large.bin"
        size = self.files[rel]
        rng = random.Random(7)
        with open(os.path.join(self.src, rel), "rb") as ref, \
                open(self.mount.path(rel), "rb", buffering=0) as f:
            for _ in range(10000):
                off = rng.randrange(0, size + 10)
                length = rng.choice([1, 7, 4096, 65536, MiB - 1, MiB + 3, rng.randrange(1, 300000)])
                got = os.pread(f.fileno(), length, off)
                want = os.pread(ref.fileno(), length, off)
                self.assertEqual(got, want, "pread(%d, %d)" % (length, off))

    def test_errnos(self):
        def err(fn):
            with self.assertRaises(OSError) as cm:
                fn()
            return cm.exception.errno
        m = self.mount.path
        self.assertEqual(err(lambda: os.stat(m("nope"))), errno.ENOENT)
        self.assertEqual(err(lambda: os.stat(m("one.bin/x"))), errno.ENOTDIR)
        self.assertEqual(err(lambda: os.listdir(m("one.bin"))), errno.ENOTDIR)
        self.assertEqual(err(lambda: open(m("small"), "rb").read()), errno.EISDIR)
        # Mutations that fail without changing the tree the other tests compare against
        # (the write path itself is covered by test_writes).
        self.assertEqual(err(lambda: open(m("small"), "wb")), errno.EISDIR)
        self.assertEqual(err(lambda: os.mkdir(m("small"))), errno.EEXIST)
        self.assertEqual(err(lambda: os.rmdir(m("small"))), errno.ENOTEMPTY)
        self.assertEqual(err(lambda: os.unlink(m("nope"))), errno.ENOENT)
        self.assertEqual(err(lambda: os.rename(m("nope"), m("two.bin"))), errno.ENOENT)
        self.assertEqual(err(lambda: os.stat(m("x" * 256))), errno.ENAMETOOLONG)

    def test_statfs(self):
        st = os.statvfs(self.mount.path())
        self.assertEqual(st.f_namemax, 255)
        self.assertEqual(st.f_frsize, 4096)
        self.assertEqual(st.f_blocks, (1 << 50) // 4096)

    def test_xattr_names_ufs_uri(self):
        value = os.getxattr(self.mount.path("one.bin"), "user.alluxio.ufs_uri")
        self.assertEqual(value.decode(), "file://" + self.src + "/one.bin")
        with self.assertRaises(OSError) as cm:
            os.getxattr(self.mount.path("one.bin"), "user.nope")
        self.assertEqual(cm.exception.errno, errno.ENODATA)

    def test_mount_is_listed_with_fsname(self):
        with open("/proc/self/mounts") as f:
            lines = [l for l in f if l.split()[1] == self.mount.mountpoint]
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].split()[2].startswith("fuse.alluxio-fuse"), lines[0])


if __name__ == "__main__":
    unittest.main()
