// test-deps: af_test_support
// The core under concurrent callers, for the ThreadSanitizer stage (ctest label `concurrency`):
// the metadata cache hammered by readers, writers and invalidations with eviction, and whole
// reads through FileSystem over the page cache and fetch pool (single flight, readahead) from
// many threads. Each test also asserts the observable result: bytes read back equal the
// source, and the cache never holds an entry under the wrong key or beyond its bound.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "alluxio_fuse/cache/fetch_pool.h"
#include "alluxio_fuse/cache/page_cache.h"
#include "alluxio_fuse/cache/page_file.h"
#include "alluxio_fuse/fs/file_system.h"
#include "alluxio_fuse/fs/metadata_cache.h"
#include "memory_store.h"
#include "temp_dir.h"

namespace alluxio_fuse::fs {
namespace {

constexpr uint64_t kPage = 4096;

store::FileInfo file_info(const std::string& name, uint64_t size) {
  store::FileInfo f;
  f.name = name;
  f.size = size;
  return f;
}

TEST(MetadataCacheConcurrency, ReadersWritersAndInvalidationsStayConsistent) {
  common::FakeClock clock;
  MetadataCache::Options o;
  o.ttl = std::chrono::seconds(60);
  o.negative_ttl = std::chrono::seconds(5);
  o.max_entries = 64;  // small: eviction runs all the time
  MetadataCache cache(o, clock);
  constexpr int kThreads = 8;
  constexpr int kKeys = 100;
  std::latch start(kThreads);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < 2000; ++i) {
        const int k = (i * 7 + t * 13) % kKeys;
        const std::string name = "f" + std::to_string(k);
        const std::string key = "s3://b/d/" + name;
        switch ((i + t) % 6) {
          case 0:
            cache.put_attr(key, file_info(name, static_cast<uint64_t>(k)));
            break;
          case 1:
            cache.put_negative(key);
            break;
          case 2: {
            auto listing = std::make_shared<std::vector<store::FileInfo>>();
            listing->push_back(file_info(name, static_cast<uint64_t>(k)));
            cache.put_listing("s3://b/d", listing);
            break;
          }
          case 3: {
            std::chrono::nanoseconds remaining{0};
            if (auto l = cache.get_listing("s3://b/d", &remaining)) {
              for (const auto& e : **l) {
                if (e.size != std::stoull(e.name.substr(1))) wrong.fetch_add(1);
              }
            }
            break;
          }
          case 4:
            if (t == 0 && i % 50 == 4) {
              cache.invalidate_prefix("s3://b/d");
            } else {
              cache.invalidate(key, "s3://b/d");
            }
            break;
          default:
            clock.advance(std::chrono::milliseconds(1));
            break;
        }
        if (auto hit = cache.get_attr(key); hit && hit->info) {
          // A positive entry under this key must describe this key.
          if (hit->info->name != name || hit->info->size != static_cast<uint64_t>(k)) {
            wrong.fetch_add(1);
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), o.max_entries);
}

std::string data(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) % 251);
  return s;
}

// A page cache of kPage pages in a fresh temp dir, opened and its (empty) restore done.
struct TempPageCache {
  explicit TempPageCache(uint64_t capacity = 0) : cache(options(dir.path(), capacity)) {
    EXPECT_TRUE(cache.open().ok());
    cache.wait_for_background();
  }
  static cache::PageCacheOptions options(const std::string& path, uint64_t capacity) {
    cache::PageCacheOptions co;
    co.dir = path;
    co.page_size = kPage;
    if (capacity != 0) co.capacity = capacity;
    return co;
  }
  testing::TempDir dir;
  cache::PageCache cache;
};

TEST(FileSystemConcurrency, ParallelReadersThroughPageCacheGetTheSourceBytes) {
  TempPageCache tc(64 * (kPage + 4096));  // room for some pages, so eviction runs too
  cache::PageCache& page_cache = tc.cache;
  cache::FetchPool pool(4);

  testing::MemoryStore store("s3://b/root");
  constexpr int kFiles = 3;
  std::vector<std::string> contents;
  for (int f = 0; f < kFiles; ++f) {
    contents.push_back(data(kPage * 20 + 123 * f, f + 1));
    store.put_file("s3://b/root/f" + std::to_string(f), contents.back());
  }
  common::FakeClock clock;
  Options o;
  o.root = "s3://b/root";
  o.page_size = kPage;
  o.readahead_initial = 2 * kPage;
  o.readahead_max = 8 * kPage;
  o.max_read = 4 * kPage;
  FileSystem fs(o, store, clock, &page_cache, &pool);

  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> mismatches{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int round = 0; round < 6; ++round) {
        const int f = (t + round) % kFiles;
        auto e = fs.lookup(kRootIno, "f" + std::to_string(f));
        if (!e.ok()) {
          errors.fetch_add(1);
          continue;
        }
        auto h = fs.open(e->stat.ino, O_RDONLY);
        if (!h.ok()) {
          errors.fetch_add(1);
          fs.forget(e->stat.ino, 1);
          continue;
        }
        const std::string& want = contents[static_cast<size_t>(f)];
        // Sequential reads (readahead) for even threads, strided for odd ones.
        const size_t chunk = t % 2 == 0 ? kPage : kPage / 3 + 17;
        for (size_t off = 0; off < want.size(); off += chunk) {
          std::string buf(chunk, '\0');
          auto n = fs.read(h->fh, off, chunk, buf.data());
          if (!n.ok()) {
            errors.fetch_add(1);
            break;
          }
          if (buf.compare(0, *n, want, off, *n) != 0 || *n != std::min(chunk, want.size() - off)) {
            mismatches.fetch_add(1);
          }
        }
        fs.release(h->fh);
        fs.forget(e->stat.ino, 1);
      }
    });
  }
  for (auto& th : threads) th.join();
  pool.stop();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GT(page_cache.stats().hits.load(), 0u);
}

// Polls `done` until it holds or 10 s pass (readahead runs on the fetch pool's threads).
template <class F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Flips one data byte of a stored page file.
void corrupt_page_file(const std::string& dir, const std::string& file_id, uint64_t index) {
  const std::string path = cache::page_path(dir, kPage, file_id, index);
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  char c = 0;
  const off_t at = static_cast<off_t>(cache::data_offset(kPage)) + 10;
  ASSERT_EQ(::pread(fd, &c, 1, at), 1);
  c = static_cast<char>(c ^ 0x5a);
  ASSERT_EQ(::pwrite(fd, &c, 1, at), 1);
  ::close(fd);
}

class KeptPagesTest : public ::testing::TestWithParam<uint64_t> {};

// A page the readahead fetched for a handle is served to that handle from memory, once: its
// page file is not read back (a byte flipped on disk after the fetch is neither served nor
// noticed). Another handle reads the page file, verified (the flip is caught, the page
// refetched, the right bytes served). With memory_budget 0 nothing is kept and the first
// handle reads from disk too. Every kept byte is released with its handle.
TEST_P(KeptPagesTest, ReadaheadPagesAreServedFromMemoryWithinTheBudget) {
  const uint64_t budget = GetParam();
  TempPageCache tc;
  cache::PageCache& page_cache = tc.cache;
  cache::FetchPool pool(4);

  testing::MemoryStore store("s3://b/root");
  const std::string want = data(kPage * 16, 7);
  store.put_file("s3://b/root/f", want);
  common::FakeClock clock;
  Options o;
  o.root = "s3://b/root";
  o.page_size = kPage;
  o.readahead_initial = 4 * kPage;
  o.readahead_max = 4 * kPage;
  o.max_read = kPage;
  o.memory_budget = budget;
  FileSystem fs(o, store, clock, &page_cache, &pool);
  auto info = store.stat("s3://b/root/f");
  ASSERT_TRUE(info.ok());
  const std::string file_id =
      cache::PageCache::make_file_id("s3://b/root/f", store::version_tag(*info));

  auto e = fs.lookup(kRootIno, "f");
  ASSERT_TRUE(e.ok());
  auto h1 = fs.open(e->stat.ino, O_RDONLY);
  ASSERT_TRUE(h1.ok());
  std::string buf(kPage, '\0');
  ASSERT_EQ(*fs.read(h1->fh, 0, kPage, buf.data()), kPage);  // readahead: pages 1-4
  ASSERT_TRUE(eventually([&] {
    return page_cache.contains(file_id, 4) && pool.inflight() == 0 &&
           pool.queued(cache::FetchPool::Kind::kReadahead) == 0;
  }));
  EXPECT_EQ(fs.kept_bytes(), budget == 0 ? 0 : 4 * kPage);
  corrupt_page_file(tc.dir.path(), file_id, 2);

  // Page 2 in two halves: the first leaves the kept page for the second.
  for (uint64_t off : {2 * kPage, 2 * kPage + kPage / 2}) {
    auto n = fs.read(h1->fh, off, kPage / 2, buf.data());
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, kPage / 2);
    EXPECT_EQ(buf.compare(0, kPage / 2, want, off, kPage / 2), 0) << off;
  }
  EXPECT_EQ(page_cache.stats().corrupt.load(), budget == 0 ? 1u : 0u);

  // A read of exactly one kept page is answered from the page's own buffer (no copy).
  {
    auto whole = fs.read_data(h1->fh, 3 * kPage, kPage, buf.data());
    ASSERT_TRUE(whole.ok());
    ASSERT_EQ(whole->len, kPage);
    EXPECT_EQ(whole->data == buf.data(), budget == 0);
    EXPECT_EQ(std::string(whole->data, kPage), want.substr(3 * kPage, kPage));
  }

  auto h2 = fs.open(e->stat.ino, O_RDONLY);
  ASSERT_TRUE(h2.ok());
  ASSERT_EQ(*fs.read(h2->fh, 2 * kPage, kPage, buf.data()), kPage);
  EXPECT_EQ(buf.compare(0, kPage, want, 2 * kPage, kPage), 0);
  // Kept by h1 only: h2 read the page file, caught the flip (or, without a budget, found the
  // page h1 had already refetched).
  EXPECT_EQ(page_cache.stats().corrupt.load(), 1u);

  fs.release(h1->fh);
  fs.release(h2->fh);
  pool.stop();
  EXPECT_EQ(fs.kept_bytes(), 0u);
  fs.forget(e->stat.ino, 1);
}

INSTANTIATE_TEST_SUITE_P(Budget, KeptPagesTest, ::testing::Values(uint64_t{0}, uint64_t{1} << 20));

// A read that catches up with a readahead fetch of its page waits for that fetch and replies
// from the page it kept: one store read of the page, and the reply is the kept buffer itself
// (read_data's data is not the caller's buffer). Deterministic: the store holds the readahead
// reads at a gate until the reader is seen waiting (the core's "readahead-wait" seam).
TEST(FileSystemConcurrency, AReadWaitsForTheRunningReadaheadOfItsPageAndTakesItsBuffer) {
  TempPageCache tc;
  cache::PageCache& page_cache = tc.cache;
  cache::FetchPool pool(4);

  testing::MemoryStore inner("s3://b/root");
  const std::string want = data(kPage * 3, 9);  // pages 0-2: no page 3 to fetch later
  inner.put_file("s3://b/root/f", want);
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool gate_open = false;
  int reads = 0;    // GUARDED_BY(gate_mu)
  int at_gate = 0;  // GUARDED_BY(gate_mu)
  testing::FaultStore store(inner, [&](const char* op, const std::string&) {
    if (std::string_view(op) != "read") return Status::Ok();
    std::unique_lock<std::mutex> lock(gate_mu);
    if (++reads == 1) return Status::Ok();  // the demand read of page 0 passes
    ++at_gate;
    gate_cv.notify_all();
    gate_cv.wait(lock, [&] { return gate_open; });
    return Status::Ok();
  });
  auto open_gate = [&] {
    std::lock_guard<std::mutex> lock(gate_mu);
    gate_open = true;
    gate_cv.notify_all();
  };

  std::atomic<int> waits{0};
  common::FakeClock clock;
  Options o;
  o.root = "s3://b/root";
  o.page_size = kPage;
  o.readahead_initial = 2 * kPage;  // page 0's read starts fetches of pages 1 and 2
  o.readahead_max = 2 * kPage;
  o.max_read = kPage;
  o.memory_budget = 1 << 20;
  o.test_event = [&](std::string_view what) {
    if (what == "readahead-wait") waits.fetch_add(1);
  };
  FileSystem fs(o, store, clock, &page_cache, &pool);
  // Whatever assertion ends the test early, the gated readahead tasks are let go and joined
  // while the gate and the file system still exist (else the pool's destructor would hang).
  struct Release {
    std::function<void()> open_gate;
    cache::FetchPool& pool;
    ~Release() {
      open_gate();
      pool.stop();
    }
  } release{open_gate, pool};

  auto e = fs.lookup(kRootIno, "f");
  ASSERT_TRUE(e.ok());
  auto h = fs.open(e->stat.ino, O_RDONLY);
  ASSERT_TRUE(h.ok());
  std::string buf(kPage, '\0');
  ASSERT_EQ(*fs.read(h->fh, 0, kPage, buf.data()), kPage);
  {
    std::unique_lock<std::mutex> lock(gate_mu);
    ASSERT_TRUE(gate_cv.wait_for(lock, std::chrono::seconds(10), [&] { return at_gate == 2; }))
        << "the readahead of pages 1 and 2 never reached the store";
  }

  std::string page1(kPage, '\0');
  std::optional<Result<FileSystem::ReadData>> got;
  std::thread reader([&] { got.emplace(fs.read_data(h->fh, kPage, kPage, page1.data())); });
  const bool waited = eventually([&] { return waits.load() > 0; });
  open_gate();
  reader.join();
  EXPECT_TRUE(waited) << "the read did not wait for the running readahead of its page";
  ASSERT_TRUE(got.has_value() && got->ok());
  const FileSystem::ReadData& r = **got;
  ASSERT_EQ(r.len, kPage);
  EXPECT_EQ(std::string(r.data, r.len), want.substr(kPage, kPage));
  EXPECT_NE(r.data, page1.data()) << "served by a copy, not from the kept page";

  fs.release(h->fh);
  pool.stop();
  fs.forget(e->stat.ino, 1);
  std::lock_guard<std::mutex> lock(gate_mu);
  EXPECT_EQ(reads, 3) << "a page was read from the store twice";
}

}  // namespace
}  // namespace alluxio_fuse::fs
