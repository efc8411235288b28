"""The local page cache end to end (issue 4), over three fake workers.

- A second read of a dataset makes zero page requests; so does a read after a daemon restart on
  the same cache dir (once the background restore has indexed the pages).
- A file rewritten in the UFS (new size, or same size and new mtime) is served with its new
  bytes once `metadata.ttl` has passed.
- A cache smaller than the dataset stays within capacity (page files measured on disk) and every
  byte is right.
- A page file with one flipped byte is detected, deleted and refetched.

Reads use `mount.direct_io` so every read reaches the daemon instead of the kernel page cache.
Knob: AF_IT_CACHE_MIB (dataset size, default 200; the issue's figure is 500).
"""
import os
import resource
import time

import harness
import obs_common as oc

MiB = oc.MiB
DATASET_MIB = int(os.environ.get("AF_IT_CACHE_MIB", "200"))
PAGE_HEADER = 4096  # page file format 2: header + block CRC table, padded to 4 KiB (1 MiB pages)


class PageCacheTestCase(harness.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.ufs = os.path.join(self.tmp, "ufs")
        os.makedirs(self.ufs)
        self.cluster = oc.Cluster(self.ufs)
        self.addCleanup(self.cluster.stop)
        self.cache_dir = os.path.join(self.tmp, "mnt-cache")

    def mount(self, **sections):
        sections.setdefault("mount", {"direct_io": True})
        cfg = self.cluster.config(metrics={"enabled": True, "listen": "127.0.0.1:0"},
                                  page_cache=dict({"dir": self.cache_dir},
                                                  **sections.pop("page_cache", {})),
                                  **sections)
        stale = os.path.join(self.tmp, "mnt-logs", "metrics.addr")  # from a previous daemon
        if os.path.exists(stale):
            os.unlink(stale)
        m = self.start_mount(cfg)
        return m, oc.metrics_address(m)

    def put(self, rel, size, seed):
        path = os.path.join(self.ufs, rel)
        oc.write_random(path, size, seed)
        return path

    def check_read(self, m, rel):
        digest, n = oc.sha256_read(m.path(rel))
        src = os.path.join(self.ufs, rel)
        self.assertEqual(n, os.path.getsize(src), rel)
        self.assertEqual(digest, harness.sha256_file(src), rel)


class DatasetTest(PageCacheTestCase):
    def test_second_read_and_read_after_restart_make_no_page_requests(self):
        # A few large files and a tail of odd sizes (a short last page in each).
        files = []
        left = DATASET_MIB * MiB
        i = 0
        while left > 0:
            size = min(left, 48 * MiB + 12345 * i + 1)
            files.append(("ds/part-%03d.bin" % i, size))
            self.put(files[-1][0], size, seed=i)
            left -= size
            i += 1
        pages = sum((s + MiB - 1) // MiB for _, s in files)

        m, addr = self.mount()
        for rel, _ in files:
            self.check_read(m, rel)
        oc.wait_quiet(self.cluster)
        first = self.cluster.endpoint_total("get_page")
        self.assertGreaterEqual(first, pages)

        for rel, _ in files:
            self.check_read(m, rel)
        oc.wait_quiet(self.cluster)
        self.assertEqual(self.cluster.endpoint_total("get_page"), first,
                         "the second read of the dataset asked the workers for pages")
        s = oc.Samples(oc.scrape(addr))
        self.assertEqual(s.get("alluxio_fuse_page_cache_pages"), pages)
        self.assertEqual(oc.page_bytes(self.cache_dir), pages * PAGE_HEADER + DATASET_MIB * MiB)

        # Restart on the same cache dir: the restore indexes every page; reads stay local.
        self.assertEqual(m.stop(), 0)
        m, addr = self.mount()
        oc.wait_metric(addr, lambda s: s.get("alluxio_fuse_page_cache_pages") == pages, 60,
                       "the restored cache to index %d pages" % pages)
        self.cluster.reset()
        for rel, _ in files:
            self.check_read(m, rel)
        oc.wait_quiet(self.cluster)
        self.assertEqual(self.cluster.endpoint_total("get_page"), 0,
                         "a read after restart asked the workers for pages")
        s = oc.Samples(oc.scrape(addr))
        self.assertEqual(s.get("alluxio_fuse_page_cache_corrupt_pages_total"), 0)
        self.assertEqual(s.get("alluxio_fuse_page_cache_misses_total"), 0)
        self.assertEqual(s.get("alluxio_fuse_read_bytes_total", source="cache"),
                         DATASET_MIB * MiB)


class ChangeTest(PageCacheTestCase):
    def test_rewritten_files_are_served_new_once_the_ttl_has_passed(self):
        ttl = 2.0
        self.put("c/grow.bin", 3 * MiB + 10, seed=1)
        self.put("c/same.bin", 2 * MiB + 5, seed=2)
        m, _ = self.mount(metadata={"ttl": "2s", "negative_ttl": "1s"})
        for rel in ("c/grow.bin", "c/same.bin"):
            self.check_read(m, rel)
            self.check_read(m, rel)  # now from the cache

        # A different size; and the same size with new bytes and a later mtime.
        self.put("c/grow.bin", 4 * MiB + 99, seed=11)
        path = self.put("c/same.bin", 2 * MiB + 5, seed=12)
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
        time.sleep(ttl + 0.5)  # the TTL under test; nothing to wait on but the clock
        for rel in ("c/grow.bin", "c/same.bin"):
            self.check_read(m, rel)
            self.assertEqual(os.stat(m.path(rel)).st_size, os.path.getsize(
                os.path.join(self.ufs, rel)))
        self.assertIsNone(m.proc.poll())


class CapacityTest(PageCacheTestCase):
    def test_a_cache_smaller_than_the_dataset_stays_within_capacity(self):
        capacity = 24 * MiB
        files = [("cap/f%02d.bin" % i, 10 * MiB + 777 * i) for i in range(6)]  # ~60 MiB
        for i, (rel, size) in enumerate(files):
            self.put(rel, size, seed=i)
        m, addr = self.mount(page_cache={"capacity": "24MiB"})
        peak = 0
        for _ in range(2):
            for rel, _ in files:
                self.check_read(m, rel)
                peak = max(peak, oc.page_bytes(self.cache_dir))
                self.assertLessEqual(peak, capacity, "page files exceed the capacity")
        oc.wait_quiet(self.cluster)
        on_disk = oc.page_bytes(self.cache_dir)
        self.assertLessEqual(on_disk, capacity)
        s = oc.Samples(oc.scrape(addr))
        self.assertLessEqual(s.get("alluxio_fuse_page_cache_size_bytes"), capacity)
        self.assertEqual(s.get("alluxio_fuse_page_cache_capacity_bytes"), capacity)
        self.assertGreater(s.get("alluxio_fuse_page_cache_evictions_total"), 0)
        self.assertGreater(on_disk, capacity // 2, "the cache should be in use, not empty")


class CorruptionTest(PageCacheTestCase):
    def test_a_flipped_byte_is_detected_and_the_page_refetched(self):
        rel = "x/victim.bin"
        self.put(rel, 3 * MiB + 4321, seed=5)
        m, addr = self.mount(page_cache={"readahead": {"enabled": False}})
        self.check_read(m, rel)
        oc.wait_quiet(self.cluster)
        files = oc.page_files(self.cache_dir)
        self.assertEqual(len(files), 4, files)
        victim = sorted(files, key=lambda p: int(os.path.basename(p)))[1]
        with open(victim, "r+b") as f:
            f.seek(PAGE_HEADER + 1000)
            b = f.read(1)
            f.seek(PAGE_HEADER + 1000)
            f.write(bytes([b[0] ^ 0x40]))
        before = self.cluster.by_path(self.cluster.key(rel), "get_page")

        self.check_read(m, rel)
        oc.wait_quiet(self.cluster)
        s = oc.wait_metric(addr, lambda s: s.get("alluxio_fuse_page_cache_corrupt_pages_total")
                           >= 1, 10, "the corrupt page to be counted")
        self.assertEqual(s.get("alluxio_fuse_page_cache_corrupt_pages_total"), 1)
        self.assertEqual(self.cluster.by_path(self.cluster.key(rel), "get_page") - before, 1,
                         "exactly the corrupt page is refetched")
        # The refetched page replaced the bad file, and the next read is clean and local.
        self.check_read(m, rel)
        s = oc.Samples(oc.scrape(addr))
        self.assertEqual(s.get("alluxio_fuse_page_cache_corrupt_pages_total"), 1)
        self.assertEqual(self.cluster.by_path(self.cluster.key(rel), "get_page") - before, 1)


if __name__ == "__main__":
    import unittest
    unittest.main()


class DescriptorLimitTest(PageCacheTestCase):
    def test_the_daemon_raises_a_low_soft_descriptor_limit_to_the_hard_one(self):
        # systemd starts services with a soft limit of 1024, and the page cache keeps at most a
        # quarter of the soft limit of page files open; the daemon takes the hard limit.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        low = min(256, hard)
        self.assertLess(low, hard, "this test needs a hard limit above 256")
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
        try:
            m, _ = self.mount()  # the daemon inherits the low soft limit
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        with open("/proc/%d/limits" % m.proc.pid) as f:
            line = next(ln for ln in f if ln.startswith("Max open files"))
        got_soft, got_hard = line.split()[3:5]
        self.assertEqual(int(got_hard), hard, line)
        self.assertEqual(int(got_soft), hard, line)
        self.put("f.bin", 3 * MiB + 5, 41)
        self.check_read(m, "f.bin")
