"""Fault matrix (issue 11): (slow, reset, truncated, 5xx, stalled) x (read, list, write) through a
real mount over a fake worker, with tests/support/fault_proxy.py between the daemon and the
worker for the transport faults and the fake worker's own knobs for 5xx.

Each case asserts: the operation returns correct bytes or a clean errno (EIO); it never waits
past the configured deadlines (2 s timeouts, no retry rounds); the daemon is still alive; and once
the fault is cleared the mount is usable again (a normal read and listing work). The daemon runs
in cluster mode with one worker, UFS fallback off (so worker faults surface), the page cache off,
the metadata cache at 0 s and direct_io (one FUSE read per read(2), no kernel readahead retry),
so every operation really reaches the faulted worker.

The write column needs the write path (fs staging + commit, in progress when this was written);
when the mount refuses to create a file without any fault, those cases are skipped with the
reason, so they start running by themselves once writes land. Run with -v to see each case's
outcome and time; AF_IT_SHOW_LOG=1 adds the daemon log.
"""
import errno
import http.client
import os
import random
import shutil
import sys
import tempfile
import time
import unittest
import urllib.request

import harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import fault_proxy  # noqa: E402

MiB = 1 << 20
TIMEOUT_S = 2.0
# One operation may make two bounded worker calls (lookup, then read or list); anything above
# this plus scheduling slack on a loaded machine is a hang.
BOUND_S = (2 * TIMEOUT_S + 3.0) * harness.TIME_SCALE
CLEAN_ERRNOS = (errno.EIO, errno.ETIMEDOUT)
FILE_SIZE = 3 * MiB + 17
LIST_ENTRIES = 40  # a listing reply of several KiB, so "after" bytes lands mid-body

# Transport faults on the proxy; `after` lands past the reply headers, inside the body (past the
# request headers, inside the upload, for writes). Small metadata replies pass whole.
FAULTS = {
    "slow": {"mode": "slow", "rate": 1 * MiB},
    "reset": {"mode": "reset", "after": 4096},
    "truncated": {"mode": "cut", "after": 4096},
    "stalled": {"mode": "stall", "after": 4096},
    "5xx": None,  # fake worker knob instead
}


def data(seed, size):
    return random.Random(seed).randbytes(size)


class FaultMatrixTest(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(os.path.join(self.ufs, "dir"))
        self.root = "file://" + self.ufs
        self.expect = data(1, FILE_SIZE)
        with open(os.path.join(self.ufs, "big.bin"), "wb") as f:
            f.write(self.expect)
        with open(os.path.join(self.ufs, "small.txt"), "wb") as f:
            f.write(b"hello, faults\n")
        for i in range(LIST_ENTRIES):
            with open(os.path.join(self.ufs, "dir", "entry-with-a-longish-name-%03d.txt" % i),
                      "wb") as f:
                f.write(b"x" * i)
        self.worker = self.start_worker({self.root: self.ufs})
        self.addCleanup(self.worker.proc.stdout.close)
        self.proxy = fault_proxy.FaultProxy(("127.0.0.1", self.worker.port))
        self.addCleanup(self.proxy.stop)
        self.mount = self.start_mount({
            "ufs_root": self.root,
            "worker_hosts": self.proxy.address,
            "routing": {"data_timeout": "2s", "metadata_timeout": "2s", "stall_timeout": "2s",
                        "connect_timeout": "1s", "retries": 0, "backoff_initial": "50ms",
                        "backoff_max": "100ms", "suspect_backoff_initial": "100ms",
                        "suspect_backoff_max": "200ms"},
            "fallback": {"enabled": False},
            "page_cache": {"enabled": False},
            "metadata": {"ttl": "0s", "negative_ttl": "0s"},
            "mount": {"direct_io": True, "attr_timeout": "0s", "entry_timeout": "0s",
                      "negative_timeout": "0s"},
        })

    # ---- faults ----

    def inject(self, kind, op_name):
        spec = FAULTS[kind]
        if spec is None:
            self.worker.faults({"error_rate": 1.0, "error_status": 500})
            return
        spec = dict(spec)
        if op_name == "write":
            # Uploads: fault the request body on its way to the worker (replies are tiny).
            spec["direction"] = "up"
        self.proxy.set_fault(fault_proxy.Fault(**spec))

    def clear(self):
        self.proxy.clear()
        self.worker.faults({})

    # ---- operations: each returns None on success or the errno; raises on wrong bytes ----

    def op_read(self):
        with open(self.mount.path("big.bin"), "rb", buffering=0) as f:
            got = bytearray()
            while True:
                b = f.read(MiB)
                if not b:
                    break
                got += b
        self.assertEqual(len(got), len(self.expect), "short read returned as success")
        self.assertTrue(got == self.expect, "read returned wrong bytes")

    def op_list(self):
        names = sorted(os.listdir(self.mount.path("dir")))
        expect = sorted("entry-with-a-longish-name-%03d.txt" % i for i in range(LIST_ENTRIES))
        self.assertEqual(names, expect, "listing returned wrong or partial entries")

    def op_write(self):
        payload = data(2, 2 * MiB + 5)
        path = self.mount.path("written-%d.bin" % time.monotonic_ns())
        with open(path, "wb", buffering=0) as f:
            for i in range(0, len(payload), MiB):
                f.write(payload[i:i + MiB])
        # close() succeeded: the bytes must be there.
        with open(os.path.join(self.ufs, os.path.basename(path)), "rb") as f:
            self.assertTrue(f.read() == payload, "write reported success but UFS bytes differ")

    def write_path_available(self):
        try:
            with open(self.mount.path("probe.txt"), "wb") as f:
                f.write(b"probe")
            return None
        except OSError as e:
            return "the mount cannot create files without any fault (%s): write path not " \
                   "available in this build" % errno.errorcode.get(e.errno, e.errno)

    # ---- the matrix ----

    def run_case(self, kind, op_name):
        op = getattr(self, "op_" + op_name)
        if op_name == "read":
            os.stat(self.mount.path("big.bin"))  # the file exists before the fault
        self.inject(kind, op_name)
        start = time.monotonic()
        outcome = "ok"
        try:
            op()
        except OSError as e:
            outcome = errno.errorcode.get(e.errno, str(e.errno))
            self.assertIn(e.errno, CLEAN_ERRNOS,
                          "%s/%s: unexpected error %r" % (kind, op_name, e))
        elapsed = time.monotonic() - start
        sys.stderr.write(" [%s/%s: %s in %.1fs] " % (kind, op_name, outcome, elapsed))
        if os.environ.get("AF_IT_SHOW_LOG"):  # AF_IT_SHOW_LOG=1: the daemon log of each case
            sys.stderr.write(self.mount.log()[-6000:])
        self.assertLess(elapsed, BOUND_S, "%s/%s took %.1fs (%s)" % (kind, op_name, elapsed,
                                                                     outcome))
        self.clear()
        self.assertIsNone(self.mount.proc.poll(),
                          "daemon died: %s" % self.mount.stderr()[-2000:])
        # The mount stays usable once the fault is gone.
        with open(self.mount.path("small.txt"), "rb") as f:
            self.assertEqual(f.read(), b"hello, faults\n")
        self.op_list()
        self.op_read()
        return outcome


def _make(kind, op_name):
    def test(self):
        if op_name == "write":
            reason = self.write_path_available()
            if reason:
                self.skipTest(reason)
        self.run_case(kind, op_name)
    test.__name__ = "test_%s_%s" % (kind, op_name)
    test.__doc__ = "%s fault during %s" % (kind, op_name)
    return test


for _kind in FAULTS:
    for _op in ("read", "list", "write"):
        _t = _make(_kind, _op)
        setattr(FaultMatrixTest, _t.__name__, _t)


class ProxySelfTest(unittest.TestCase):
    """The proxy does what the matrix relies on, against the fake worker itself."""

    def test_cut_and_reset_and_stall_are_seen_by_a_plain_client(self):
        tmp = tempfile.mkdtemp(prefix="af-it-", dir=harness.TMP_ROOT)
        self.addCleanup(shutil.rmtree, tmp, True)
        with open(os.path.join(tmp, "f"), "wb") as f:
            f.write(b"y" * 100000)
        w = harness.FakeWorker({"file://" + tmp: tmp})
        self.addCleanup(w.stop)
        self.addCleanup(w.proc.stdout.close)
        p = fault_proxy.FaultProxy(("127.0.0.1", w.port))
        self.addCleanup(p.stop)
        url = "http://%s/debug/requests" % p.address
        urllib.request.urlopen(url, timeout=5).read()
        p.set_fault(mode="cut", after=10)
        with self.assertRaises((OSError, http.client.HTTPException)):  # a cut status line
            urllib.request.urlopen(url, timeout=5).read()
        p.set_fault(mode="reset", after=10)
        with self.assertRaises(OSError):
            urllib.request.urlopen(url, timeout=5).read()
        p.set_fault(mode="stall", after=10)
        start = time.monotonic()
        with self.assertRaises(OSError):
            urllib.request.urlopen(url, timeout=1).read()
        self.assertLess(time.monotonic() - start, 3 * harness.TIME_SCALE)
        p.clear()
        urllib.request.urlopen(url, timeout=5).read()


if __name__ == "__main__":
    unittest.main()
