"""Model-based check of the write path: one seeded random sequence of file-system operations is
applied to the mount and to a local reference directory; every step must give the same result
(value or errno) on both, and the trees must agree after every step (types and sizes; contents
every CONTENT_EVERY steps and at the end). A failure names the seed and step for replay:

    AF_MODEL_SEED=<seed> AF_MODEL_STEPS=<n> python3 -m unittest test_writes.StandaloneWritesTest.test_model
"""
import errno
import hashlib
import os
import random

NAMES = ["a", "b", "c", "d.txt"]
MAX_DEPTH = 3
MAX_SIZE = 96 * 1024
CONTENT_EVERY = 50


def _result(fn):
    try:
        return ("ok", fn())
    except OSError as e:
        return ("err", errno.errorcode.get(e.errno, str(e.errno)))


def snapshot(root, contents):
    """{relpath: (type, size, sha256 or None)} of everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, root)] = ("dir", 0, None)
        for name in filenames:
            p = os.path.join(dirpath, name)
            st = os.stat(p)
            digest = None
            if contents:
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            out[os.path.relpath(p, root)] = ("file", st.st_size, digest)
    return out


class Model:
    def __init__(self, mount_root, ref_root, seed):
        self.roots = (mount_root, ref_root)
        self.rng = random.Random(seed)
        self.seed = seed
        self.log = []

    # ---- path choice, from the reference tree (so most operations hit existing names) ----

    def _existing(self, want_dir=None):
        ref = self.roots[1]
        found = [""] if want_dir in (None, True) else []
        for dirpath, dirnames, filenames in os.walk(ref):
            rel = os.path.relpath(dirpath, ref)
            rel = "" if rel == "." else rel
            if want_dir in (None, True):
                found += [os.path.join(rel, d) for d in dirnames]
            if want_dir in (None, False):
                found += [os.path.join(rel, f) for f in filenames]
        return found

    def _path(self, kind=None):
        """A path that usually exists (of `kind`), sometimes a fresh name."""
        r = self.rng.random()
        if r < 0.7:
            pool = [p for p in self._existing(kind) if p]
            if pool:
                return self.rng.choice(pool)
        parents = [p for p in self._existing(True) if p.count(os.sep) < MAX_DEPTH - 1]
        parent = self.rng.choice(parents)
        return os.path.join(parent, self.rng.choice(NAMES))

    def _data(self):
        n = self.rng.choice([0, 1, 7, 100, 4096, 5000, self.rng.randrange(0, MAX_SIZE)])
        return self.rng.randbytes(n)

    # ---- operations: each returns a function of a root giving a comparable value ----

    def op(self):
        kind = self.rng.choices(
            ["create", "overwrite", "pwrite", "append", "truncate", "rename", "unlink", "mkdir",
             "rmdir", "read", "stat", "listdir"],
            weights=[14, 6, 12, 6, 8, 10, 8, 8, 6, 10, 6, 6])[0]
        if kind == "create":
            path, data = self._path(False), self._data()
            flags = os.O_WRONLY | os.O_CREAT | self.rng.choice([0, os.O_EXCL, os.O_TRUNC])

            def fn(root):
                fd = os.open(os.path.join(root, path), flags, 0o644)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
                return len(data)
        elif kind in ("overwrite", "pwrite", "append"):
            path, data = self._path(False), self._data()[:20000]
            off = self.rng.randrange(0, MAX_SIZE)
            flags = {"overwrite": os.O_WRONLY | os.O_TRUNC, "pwrite": os.O_RDWR,
                     "append": os.O_WRONLY | os.O_APPEND}[kind]

            def fn(root):
                fd = os.open(os.path.join(root, path), flags)
                try:
                    if kind == "pwrite":
                        os.pwrite(fd, data, off)
                        return os.pread(fd, 64, max(0, off - 10))
                    os.write(fd, data)
                finally:
                    os.close(fd)
                return len(data)
        elif kind == "truncate":
            path = self._path(False)
            size = self.rng.choice([0, 1, 4095, 4096, self.rng.randrange(0, MAX_SIZE)])

            def fn(root):
                os.truncate(os.path.join(root, path), size)
                return os.stat(os.path.join(root, path)).st_size
        elif kind == "rename":
            src, dst = self._path(), self._path()

            def fn(root):
                os.rename(os.path.join(root, src), os.path.join(root, dst))
        elif kind == "unlink":
            path = self._path(False)

            def fn(root):
                os.unlink(os.path.join(root, path))
        elif kind == "mkdir":
            path = self._path(True)

            def fn(root):
                os.mkdir(os.path.join(root, path))
        elif kind == "rmdir":
            path = self._path(True) or "x"

            def fn(root):
                os.rmdir(os.path.join(root, path))
        elif kind == "read":
            path = self._path(False)

            def fn(root):
                with open(os.path.join(root, path), "rb") as f:
                    return hashlib.sha256(f.read()).hexdigest()
        elif kind == "stat":
            path = self._path()

            def fn(root):
                st = os.stat(os.path.join(root, path))
                return (st.st_mode & 0o170000, 0 if os.path.isdir(os.path.join(root, path))
                        else st.st_size)
        else:
            path = self._path(True)

            def fn(root):
                return sorted(os.listdir(os.path.join(root, path)))
        desc = "%s %s" % (kind, {k: v for k, v in locals().items()
                                  if k in ("path", "src", "dst", "off", "size", "flags")})
        return desc, fn

    def step(self, i):
        desc, fn = self.op()
        self.log.append(desc)
        got = [_result(lambda r=r: fn(r)) for r in self.roots]
        if got[0] != got[1]:
            raise AssertionError(self.failure(i, "%s: mount %r, reference %r" %
                                              (desc, got[0], got[1])))
        contents = i % CONTENT_EVERY == CONTENT_EVERY - 1
        trees = [snapshot(r, contents) for r in self.roots]
        if trees[0] != trees[1]:
            diff = sorted(set(trees[0].items()) ^ set(trees[1].items()))
            raise AssertionError(self.failure(i, "trees differ after %s: %r" % (desc, diff[:10])))

    def failure(self, i, what):
        # Everything since the last content comparison (a wrong byte can come from any of them).
        tail = "\n  ".join(self.log[-max(8, min(60, i % CONTENT_EVERY + 1)):])
        return ("model seed %d failed at step %d: %s\n last operations:\n  %s\n replay: "
                "AF_MODEL_SEED=%d AF_MODEL_STEPS=%d" % (self.seed, i, what, tail, self.seed, i + 1))

    def run(self, steps):
        for i in range(steps):
            self.step(i)
        final = [snapshot(r, True) for r in self.roots]
        if final[0] != final[1]:
            raise AssertionError(self.failure(steps, "final trees differ"))
