// PageCache on a real temporary directory: hits, single flight, verification, eviction,
// version drops, the directory lock and insert failures. Threads are ordered with latches and
// the cache's test hooks, never with sleeps.
// test-deps: af_test_support
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <latch>
#include <thread>
#include <vector>

#include "alluxio_fuse/cache/page_cache.h"
#include "file_bytes.h"
#include "open_files.h"

namespace alluxio_fuse::cache {
namespace {

namespace fs = std::filesystem;
using common::Code;

constexpr uint32_t kP = 4096;
constexpr uint64_t kPageBytes = page_file_size(kP, kP);

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "af-cache-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<char> page_data(uint64_t index, size_t len, char salt = 0) {
  std::vector<char> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<char>((i * 31 + index * 7 + salt) & 0xFF);
  return v;
}

// A loader that counts calls and serves page_data(index).
struct CountingLoader {
  std::atomic<int> calls{0};
  PageCache::Loader make(uint64_t index, size_t len = kP, char salt = 0) {
    return [this, index, len, salt](char* buf, size_t cap) -> common::Result<size_t> {
      calls++;
      auto d = page_data(index, len, salt);
      if (d.size() > cap) return common::make_status(Code::kRange, "cap");
      std::memcpy(buf, d.data(), d.size());
      return d.size();
    };
  }
};

struct DirUsage {
  size_t files = 0;
  uint64_t bytes = 0;
};

// Page files under <dir>/<P>/ outside tmp/.
DirUsage usage(const std::string& dir) {
  DirUsage u;
  const fs::path root = fs::path(dir) / std::to_string(kP);
  for (auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && e.path().parent_path().filename() != "tmp") {
      ++u.files;
      u.bytes += e.file_size();
    }
  }
  return u;
}

PageCacheOptions options(const std::string& dir, uint64_t capacity_pages = 16) {
  PageCacheOptions o;
  o.dir = dir;
  o.page_size = kP;
  o.capacity = capacity_pages * kPageBytes;
  return o;
}

// Pages of 16 blocks, for the tests of partial (block-wise) reads; room for 4 of them.
constexpr uint32_t kBig = 16 * 4096;
PageCacheOptions big_page_options(const std::string& dir) {
  PageCacheOptions o;
  o.dir = dir;
  o.page_size = kBig;
  o.capacity = 4 * page_file_size(kBig, kBig);
  return o;
}

class PageCacheTest : public ::testing::Test {
 protected:
  void open_cache(PageCacheOptions o) {
    cache_ = std::make_unique<PageCache>(std::move(o));
    ASSERT_TRUE(cache_->open().ok());
    cache_->wait_for_background();
  }
  // Demand read of `index` expecting page_data(index).
  void read_page(uint64_t index, bool expect_hit, size_t len = kP) {
    std::vector<char> buf(kP);
    bool hit = false;
    auto r = cache_->get_or_load(id_, index, buf.data(), kP, loader_.make(index, len), &hit);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ(*r, len);
    EXPECT_EQ(hit, expect_hit) << "page " << index;
    buf.resize(len);
    EXPECT_EQ(buf, page_data(index, len));
  }
  std::string path(uint64_t index) const { return page_path(dir_.path(), kP, id_, index); }

  TempDir dir_;
  std::string id_ = PageCache::make_file_id("s3://bucket/data/a.parquet", "h:v1");
  CountingLoader loader_;
  std::unique_ptr<PageCache> cache_;
};

TEST_F(PageCacheTest, IndexCostIsAbout100BytesPerPage) {
  std::printf("index bytes per cached page: %zu\n", PageCache::index_bytes_per_page());
  EXPECT_LE(PageCache::index_bytes_per_page(), 112u);
}

TEST_F(PageCacheTest, HitAfterLoadCallsLoaderOnce) {
  open_cache(options(dir_.path()));
  read_page(0, false);
  read_page(0, true);
  read_page(0, true);
  EXPECT_EQ(loader_.calls, 1);
  EXPECT_EQ(cache_->stats().hits, 2u);
  EXPECT_EQ(cache_->stats().misses, 1u);
  EXPECT_EQ(cache_->stats().pages, 1u);
  EXPECT_EQ(cache_->stats().bytes, kPageBytes);
  EXPECT_TRUE(cache_->contains(id_, 0));

  struct stat st {};
  ASSERT_EQ(::stat(path(0).c_str(), &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(kPageBytes));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(file_dir(dir_.path(), kP, id_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(PageCacheTest, ShortLastPageIsStoredWithItsLength) {
  open_cache(options(dir_.path()));
  read_page(3, false, 100);
  read_page(3, true, 100);
  EXPECT_EQ(cache_->stats().bytes, page_file_size(kP, 100));
}

TEST_F(PageCacheTest, EvictsLeastRecentlyUsedByBytes) {
  open_cache(options(dir_.path(), 3));
  read_page(0, false);
  read_page(1, false);
  read_page(2, false);
  read_page(0, true);   // 1 is now the least recent
  read_page(3, false);  // evicts 1
  EXPECT_TRUE(cache_->contains(id_, 0));
  EXPECT_FALSE(cache_->contains(id_, 1));
  EXPECT_TRUE(cache_->contains(id_, 2));
  EXPECT_TRUE(cache_->contains(id_, 3));
  EXPECT_FALSE(fs::exists(path(1)));
  EXPECT_EQ(cache_->stats().evictions, 1u);
  DirUsage u = usage(dir_.path());
  EXPECT_EQ(u.files, 3u);
  EXPECT_EQ(u.bytes, 3 * kPageBytes);
  EXPECT_EQ(cache_->stats().bytes, u.bytes);

  // Many more pages: the directory never holds more than the capacity.
  for (uint64_t i = 4; i < 20; ++i) {
    read_page(i, false);
    EXPECT_LE(usage(dir_.path()).bytes, cache_->capacity());
  }
  EXPECT_EQ(cache_->stats().pages, 3u);
  read_page(1, false);  // evicted long ago
}

TEST_F(PageCacheTest, SmallPagesPackByBytes) {
  // Capacity of three full pages holds one full page and three small ones (a page file is
  // its 4 KiB-aligned prefix plus its data, so small pages cost a little over 4 KiB here).
  open_cache(options(dir_.path(), 3));
  read_page(0, false);
  for (uint64_t i = 1; i <= 3; ++i) read_page(i, false, 100);
  EXPECT_EQ(cache_->stats().pages, 4u);
  EXPECT_EQ(cache_->stats().evictions, 0u);
  read_page(5, false);  // needs a full page: evicts 0 (oldest, and enough bytes)
  EXPECT_EQ(cache_->stats().evictions, 1u);
  EXPECT_FALSE(cache_->contains(id_, 0));
  EXPECT_LE(usage(dir_.path()).bytes, cache_->capacity());
}

TEST_F(PageCacheTest, PinnedPageIsNotEvicted) {
  PageCacheOptions o = options(dir_.path(), 2);
  std::latch pinned(1);
  std::latch release(1);
  std::atomic<int> pins{0};
  o.hooks.on_event = [&](std::string_view ev) {
    if (ev == "pinned" && pins.fetch_add(1) == 0) {
      pinned.count_down();
      release.wait();
    }
  };
  open_cache(std::move(o));
  read_page(0, false);
  read_page(1, false);
  std::thread reader([&] { read_page(0, true); });
  pinned.wait();
  read_page(1, true);   // 0 (pinned) is now the least recent
  read_page(2, false);  // must evict 1, not the pinned 0
  EXPECT_TRUE(cache_->contains(id_, 0));
  EXPECT_FALSE(cache_->contains(id_, 1));
  EXPECT_TRUE(cache_->contains(id_, 2));
  release.count_down();
  reader.join();
  EXPECT_EQ(loader_.calls, 3);
}

TEST_F(PageCacheTest, FlippedByteIsDetectedAndRefetched) {
  open_cache(options(dir_.path()));
  read_page(0, false);
  { ASSERT_TRUE(alluxio_fuse::testing::flip_byte(path(0), data_offset(kP) + 1000)); }
  read_page(0, false);
  EXPECT_EQ(loader_.calls, 2);
  EXPECT_EQ(cache_->stats().corrupt, 1u);
  read_page(0, true);  // the refetched page was stored again
  EXPECT_EQ(cache_->stats().bytes, kPageBytes);
}

// Format 2: a partial read verifies and serves only the 4 KiB blocks it covers, so a flipped
// byte is caught by the read that would serve it, and never by-passed.
TEST_F(PageCacheTest, PartialReadsVerifyOnlyTheirBlocks) {
  open_cache(big_page_options(dir_.path()));
  std::vector<char> buf(kBig);
  auto r = cache_->get_or_load(id_, 0, buf.data(), kBig, loader_.make(0, kBig), nullptr);
  ASSERT_TRUE(r.ok());
  const auto want = page_data(0, kBig);
  std::vector<char> part(kBig, 0);
  auto got = cache_->read_cached(id_, 0, 5000, 9000, part.data(), kBig);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, kBig);
  EXPECT_TRUE(std::equal(part.begin() + 5000, part.begin() + 9000, want.begin() + 5000));
  EXPECT_FALSE(cache_->read_cached(id_, 1, 0, 10, part.data(), kBig).has_value());  // a miss

  const std::string file = page_path(dir_.path(), kBig, id_, 0);
  ASSERT_TRUE(alluxio_fuse::testing::flip_byte(file, data_offset(kBig) + 10 * 4096 + 3, 0x40));
  // Other blocks still verify and are served; the damaged one is not.
  EXPECT_TRUE(cache_->read_cached(id_, 0, 0, 4096, part.data(), kBig).has_value());
  EXPECT_TRUE(std::equal(part.begin(), part.begin() + 4096, want.begin()));
  EXPECT_FALSE(cache_->read_cached(id_, 0, 10 * 4096 + 1, 10 * 4096 + 9, part.data(), kBig));
  EXPECT_EQ(cache_->stats().corrupt, 1u);
  EXPECT_FALSE(cache_->contains(id_, 0));
  EXPECT_FALSE(fs::exists(file));
  EXPECT_EQ(loader_.calls, 1);  // read_cached never loads
  // The next demand read refetches it whole.
  r = cache_->get_or_load(id_, 0, buf.data(), kBig, loader_.make(0, kBig), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(buf, want);
  EXPECT_EQ(loader_.calls, 2);
}

// 4 KiB random reads: a block-aligned range is read and verified straight into a buffer of
// exactly its size (ASan checks nothing lands past it), down to a short last page.
TEST_F(PageCacheTest, AlignedPartialReadsLandPackedInTheirBuffer) {
  constexpr size_t kShort = 3 * 4096 + 100;  // a file's last page
  open_cache(big_page_options(dir_.path()));
  std::vector<char> page(kBig);
  ASSERT_TRUE(cache_->get_or_load(id_, 0, page.data(), kBig, loader_.make(0, kBig), nullptr).ok());
  ASSERT_TRUE(
      cache_->get_or_load(id_, 1, page.data(), kShort, loader_.make(1, kShort), nullptr).ok());
  const auto want0 = page_data(0, kBig);
  const auto want1 = page_data(1, kShort);

  std::vector<char> block(4096);
  auto got = cache_->read_cached_aligned(id_, 0, 5 * 4096, 6 * 4096, block.data(), kBig);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, kBig);
  EXPECT_TRUE(std::equal(block.begin(), block.end(), want0.begin() + 5 * 4096));
  std::vector<char> two(2 * 4096);
  ASSERT_TRUE(cache_->read_cached_aligned(id_, 0, 0, 2 * 4096, two.data(), kBig).has_value());
  EXPECT_TRUE(std::equal(two.begin(), two.end(), want0.begin()));
  // The tail of a short page: its end is the page's end, not a block boundary.
  std::vector<char> tail(kShort - 3 * 4096);
  got = cache_->read_cached_aligned(id_, 1, 3 * 4096, kShort, tail.data(), kShort);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, kShort);
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), want1.begin() + 3 * 4096));

  // Unaligned ranges are refused without reading: not a hit, not corrupt, still cached.
  const uint64_t hits = cache_->stats().hits;
  EXPECT_FALSE(cache_->read_cached_aligned(id_, 0, 100, 4096, block.data(), kBig));
  EXPECT_FALSE(cache_->read_cached_aligned(id_, 0, 4096, 4096 + 100, block.data(), kBig));
  EXPECT_EQ(cache_->stats().hits, hits);
  EXPECT_EQ(cache_->stats().corrupt, 0u);
  EXPECT_TRUE(cache_->contains(id_, 0));

  // A damaged block is caught in the packed placement too, and never served.
  ASSERT_TRUE(alluxio_fuse::testing::flip_byte(page_path(dir_.path(), kBig, id_, 0),
                                               data_offset(kBig) + 9 * 4096 + 7));
  EXPECT_FALSE(cache_->read_cached_aligned(id_, 0, 9 * 4096, 10 * 4096, block.data(), kBig));
  EXPECT_EQ(cache_->stats().corrupt, 1u);
  EXPECT_FALSE(cache_->contains(id_, 0));
  EXPECT_EQ(loader_.calls, 2);  // never loads
}

// Descriptors of this process open on page files under `dir` (not its .lock).
size_t open_files_under(const std::string& dir) {
  return alluxio_fuse::testing::open_files_under(dir + "/" + std::to_string(kP) + "/");
}

// A hit keeps its verified page file open for the next one; the next hit still checks the
// CRC of every block it serves, so a byte flipped in the open file is caught, not served.
TEST_F(PageCacheTest, KeptOpenPageFileStillVerifiesEveryHit) {
  open_cache(options(dir_.path()));
  read_page(0, false);
  EXPECT_EQ(open_files_under(dir_.path()), 0u);  // a load does not keep the file open
  read_page(0, true);
  EXPECT_EQ(open_files_under(dir_.path()), 1u);
  read_page(0, true);
  EXPECT_EQ(open_files_under(dir_.path()), 1u);  // the same open file
  ASSERT_TRUE(alluxio_fuse::testing::flip_byte(path(0), data_offset(kP) + 77, 0x10));
  read_page(0, false);
  EXPECT_EQ(loader_.calls, 2);
  EXPECT_EQ(cache_->stats().corrupt, 1u);
  read_page(0, true);                            // the refetched page
  EXPECT_EQ(open_files_under(dir_.path()), 1u);  // the damaged file's descriptor is gone
}

// At most max_open_files stay open (per shard: max / 64), and a page's open file closes when
// the page leaves the index (eviction, a version drop).
TEST_F(PageCacheTest, KeptOpenPageFilesAreBoundedAndCloseWithTheirPages) {
  auto o = options(dir_.path(), 200);
  o.max_open_files = 64;
  open_cache(std::move(o));
  for (uint64_t i = 0; i < 200; ++i) read_page(i, false);
  for (uint64_t i = 0; i < 200; ++i) read_page(i, true);
  const size_t open = open_files_under(dir_.path());
  EXPECT_GT(open, 0u);
  EXPECT_LE(open, 64u);
  cache_->drop_file(id_);
  cache_->wait_for_background();
  EXPECT_EQ(open_files_under(dir_.path()), 0u);

  // Eviction: 16 pages fit; hit all 16, then load 16 others over them.
  TempDir other;
  open_cache(options(other.path(), 16));
  for (uint64_t i = 0; i < 16; ++i) read_page(i, false);
  for (uint64_t i = 0; i < 16; ++i) read_page(i, true);
  EXPECT_EQ(open_files_under(other.path()), 16u);
  for (uint64_t i = 100; i < 116; ++i) read_page(i, false);
  EXPECT_EQ(open_files_under(other.path()), 0u);
  EXPECT_EQ(usage(other.path()).bytes, 16 * kPageBytes);
}

TEST_F(PageCacheTest, TruncatedPageIsDetectedAndRefetched) {
  open_cache(options(dir_.path()));
  read_page(0, false);
  ASSERT_EQ(::truncate(path(0).c_str(), data_offset(kP) + 100), 0);
  read_page(0, false);
  EXPECT_EQ(loader_.calls, 2);
  EXPECT_EQ(cache_->stats().corrupt, 1u);
  read_page(0, true);
  ASSERT_EQ(::truncate(path(0).c_str(), 10), 0);  // not even a header
  read_page(0, false);
  EXPECT_EQ(cache_->stats().corrupt, 2u);
}

TEST_F(PageCacheTest, HeaderPathMismatchIsCorrupt) {
  open_cache(options(dir_.path()));
  read_page(0, false);
  read_page(1, false);
  // A valid page file, but for index 0, under the name of page 1.
  fs::copy_file(path(0), path(1), fs::copy_options::overwrite_existing);
  read_page(1, false);
  EXPECT_EQ(cache_->stats().corrupt, 1u);
  EXPECT_EQ(loader_.calls, 3);
  read_page(0, true);
  read_page(1, true);
}

TEST_F(PageCacheTest, PageLongerThanBufferIsNotServed) {
  open_cache(options(dir_.path()));
  read_page(0, false);
  std::vector<char> buf(kP);
  auto r = cache_->get_or_load(id_, 0, buf.data(), 100, loader_.make(0, 100), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 100u);  // the cached 4096-byte page did not fit 100: refetched
  EXPECT_EQ(cache_->stats().corrupt, 1u);
}

TEST_F(PageCacheTest, VersionChangeUsesNewIdAndDropsOldPages) {
  open_cache(options(dir_.path()));
  read_page(0, false);
  read_page(1, false);
  const std::string old_id = id_;
  id_ = PageCache::make_file_id("s3://bucket/data/a.parquet", "h:v2");
  EXPECT_NE(id_, old_id);
  read_page(0, false);  // the new version misses even though the old one is cached
  EXPECT_EQ(loader_.calls, 3);

  cache_->drop_file(old_id);
  EXPECT_FALSE(cache_->contains(old_id, 0));
  EXPECT_FALSE(cache_->contains(old_id, 1));
  EXPECT_TRUE(cache_->contains(id_, 0));
  EXPECT_EQ(cache_->stats().pages, 1u);
  cache_->wait_for_background();
  EXPECT_FALSE(fs::exists(file_dir(dir_.path(), kP, old_id)));
  EXPECT_EQ(cache_->stats().bytes, kPageBytes);
  EXPECT_EQ(usage(dir_.path()).files, 1u);
}

TEST_F(PageCacheTest, ConcurrentMissesShareOneLoad) {
  constexpr int kCallers = 8;
  std::latch joined(kCallers - 1);
  PageCacheOptions o = options(dir_.path());
  o.hooks.on_event = [&](std::string_view ev) {
    if (ev == "wait") joined.count_down();
  };
  open_cache(std::move(o));
  std::atomic<int> calls{0};
  PageCache::Loader loader = [&](char* buf, size_t) -> common::Result<size_t> {
    calls++;
    joined.wait();  // every other caller is waiting on this load
    auto d = page_data(5, kP);
    std::memcpy(buf, d.data(), d.size());
    return d.size();
  };
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kCallers; ++t) {
    threads.emplace_back([&] {
      std::vector<char> buf(kP);
      auto r = cache_->get_or_load(id_, 5, buf.data(), kP, loader, nullptr);
      if (r.ok() && *r == kP && buf == page_data(5, kP)) ok++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ok, kCallers);
  EXPECT_EQ(cache_->stats().misses, static_cast<uint64_t>(kCallers));
  read_page(5, true);
}

TEST_F(PageCacheTest, LoaderErrorIsSharedAndNotCached) {
  constexpr int kCallers = 4;
  std::latch joined(kCallers - 1);
  PageCacheOptions o = options(dir_.path());
  o.hooks.on_event = [&](std::string_view ev) {
    if (ev == "wait") joined.count_down();
  };
  open_cache(std::move(o));
  std::atomic<int> calls{0};
  PageCache::Loader failing = [&](char*, size_t) -> common::Result<size_t> {
    calls++;
    joined.wait();
    return common::make_status(Code::kTimeout, "worker timed out");
  };
  std::vector<std::thread> threads;
  std::atomic<int> timeouts{0};
  for (int t = 0; t < kCallers; ++t) {
    threads.emplace_back([&] {
      std::vector<char> buf(kP);
      auto r = cache_->get_or_load(id_, 0, buf.data(), kP, failing, nullptr);
      if (!r.ok() && r.status().code() == Code::kTimeout) timeouts++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(timeouts, kCallers);
  EXPECT_FALSE(cache_->contains(id_, 0));
  read_page(0, false);  // the error was not cached: a new load runs
  EXPECT_EQ(loader_.calls, 1);
}

TEST_F(PageCacheTest, LockHeldByAnotherInstanceFailsOpen) {
  open_cache(options(dir_.path()));
  PageCache second(options(dir_.path()));
  common::Status s = second.open();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("page_cache.dir"), std::string::npos);
  cache_.reset();  // releases the lock
  PageCache third(options(dir_.path()));
  EXPECT_TRUE(third.open().ok());
}

TEST_F(PageCacheTest, BlockedInsertStillServesReads) {
  open_cache(options(dir_.path()));
  // A file where the bucket directory should be: every insert of this file id fails.
  const fs::path bucket = fs::path(dir_.path()) / std::to_string(kP) / id_.substr(0, 2);
  std::ofstream(bucket) << "not a directory";
  read_page(0, false);
  read_page(0, false);  // not cached, loaded again
  EXPECT_EQ(loader_.calls, 2);
  EXPECT_FALSE(cache_->contains(id_, 0));
  EXPECT_EQ(cache_->stats().bytes, 0u);
  EXPECT_EQ(cache_->stats().pages, 0u);
  EXPECT_TRUE(cache_->enabled());  // 4 failures < 10
  // No temporary file is left behind.
  EXPECT_TRUE(fs::is_empty(fs::path(dir_.path()) / std::to_string(kP) / "tmp"));
}

TEST_F(PageCacheTest, NoSpaceEvictsTenPercentAndRetriesOnce) {
  PageCacheOptions o = options(dir_.path(), 10);
  std::atomic<int> faults{0};
  o.hooks.insert_fault = [&] { return faults.fetch_sub(1) > 0 ? ENOSPC : 0; };
  open_cache(std::move(o));
  for (uint64_t i = 0; i < 10; ++i) read_page(i, false);
  EXPECT_EQ(cache_->stats().evictions, 0u);
  faults = 1;
  read_page(10, false);
  // One eviction to reserve room, the write fails, 10 % (one page) evicted, retry succeeds.
  EXPECT_TRUE(cache_->contains(id_, 10));
  EXPECT_EQ(cache_->stats().evictions, 2u);
  EXPECT_FALSE(cache_->contains(id_, 0));
  EXPECT_FALSE(cache_->contains(id_, 1));
  EXPECT_EQ(usage(dir_.path()).files, 9u);
  EXPECT_TRUE(cache_->enabled());
}

TEST_F(PageCacheTest, TenConsecutiveIoErrorsDisableTheCache) {
  PageCacheOptions o = options(dir_.path());
  o.hooks.insert_fault = [] { return EIO; };
  open_cache(std::move(o));
  for (uint64_t i = 0; i < 5; ++i) read_page(i, false);  // two failed attempts each
  EXPECT_FALSE(cache_->enabled());
  EXPECT_FALSE(cache_->stats().enabled);
  read_page(0, false);  // reads keep working from the loader
  EXPECT_EQ(loader_.calls, 6);
}

TEST_F(PageCacheTest, DisabledCacheOnlyLoads) {
  PageCacheOptions o = options(dir_.path());
  o.enabled = false;
  open_cache(std::move(o));
  read_page(0, false);
  read_page(0, false);
  EXPECT_EQ(loader_.calls, 2);
  EXPECT_FALSE(fs::exists(fs::path(dir_.path()) / ".lock"));
}

TEST_F(PageCacheTest, PrefetchMarksPagesUntilRead) {
  open_cache(options(dir_.path(), 2));
  std::vector<char> scratch(kP);
  ASSERT_TRUE(cache_->prefetch(id_, 0, scratch.data(), kP, loader_.make(0)).ok());
  ASSERT_TRUE(cache_->prefetch(id_, 1, scratch.data(), kP, loader_.make(1)).ok());
  ASSERT_TRUE(cache_->prefetch(id_, 1, scratch.data(), kP, loader_.make(1)).ok());  // cached
  EXPECT_EQ(loader_.calls, 2);
  EXPECT_EQ(cache_->stats().readahead_bytes, 2u * kP);
  read_page(1, true);   // used: no longer "prefetched, not yet read"
  read_page(2, false);  // evicts 0, never read
  EXPECT_EQ(cache_->stats().readahead_unused_bytes, kP);
  read_page(3, false);  // evicts 1, which was read
  EXPECT_EQ(cache_->stats().readahead_unused_bytes, kP);
}

TEST_F(PageCacheTest, InvalidFileIdIsRejected) {
  open_cache(options(dir_.path()));
  std::vector<char> buf(kP);
  auto r = cache_->get_or_load("../../etc", 0, buf.data(), kP, loader_.make(0), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(loader_.calls, 0);
}

}  // namespace
}  // namespace alluxio_fuse::cache
