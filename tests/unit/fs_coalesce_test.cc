// test-deps: af_test_support
// Coalescing of metadata misses in the core: concurrent stat or listing misses of one key make
// one store request and share its result (or error); an invalidation during a flight makes later
// misses start a new request, and the old flight's result is not cached. Threads are ordered by
// a gated store and the core's join counter, never by sleeps.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "alluxio_fuse/common/singleflight.h"
#include "alluxio_fuse/fs/file_system.h"
#include "memory_store.h"

namespace alluxio_fuse::fs {
namespace {

using common::Code;
using common::Result;
using common::Status;

constexpr auto kWait = std::chrono::seconds(30);

// Delegates to an inner store, counts stat/list calls per key, and holds the next `n` of them
// (after they read the inner store) until release(): a flight frozen mid-request.
class GatedStore final : public store::Store {
 public:
  explicit GatedStore(store::Store& inner) : inner_(inner) {}

  void hold_next(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    to_hold_ = n;
  }
  bool wait_held(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return held_ >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void fail_stats_with(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    stat_error_ = std::move(status);
  }
  int stats_of(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return stat_calls_[key];
  }
  int lists_of(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return list_calls_[key];
  }

  Result<store::FileInfo> stat(const std::string& key) override {
    Result<store::FileInfo> got = inner_.stat(key);
    std::optional<Status> error;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stat_calls_[key];
      error = stat_error_;
    }
    gate();
    if (error) return *error;
    return got;
  }
  Result<std::vector<store::FileInfo>> list(const std::string& key) override {
    auto got = inner_.list(key);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++list_calls_[key];
    }
    gate();
    return got;
  }
  Result<store::ReadReply> read(const store::ReadRequest& request, char* buf) override {
    return inner_.read(request, buf);
  }
  Status write_file(const std::string& key, int fd, uint64_t size) override {
    return inner_.write_file(key, fd, size);
  }
  Status mkdir(const std::string& key) override { return inner_.mkdir(key); }
  Status remove(const std::string& key, bool directory) override {
    return inner_.remove(key, directory);
  }
  Status rename(const std::string& src, const std::string& dst) override {
    return inner_.rename(src, dst);
  }

 private:
  void gate() {
    std::unique_lock<std::mutex> lock(mu_);
    if (to_hold_ == 0) return;
    --to_hold_;
    ++held_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }

  store::Store& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  int to_hold_ = 0;                        // GUARDED_BY(mu_)
  int held_ = 0;                           // GUARDED_BY(mu_)
  bool open_ = false;                      // GUARDED_BY(mu_)
  std::optional<Status> stat_error_;       // GUARDED_BY(mu_)
  std::map<std::string, int> stat_calls_;  // GUARDED_BY(mu_)
  std::map<std::string, int> list_calls_;  // GUARDED_BY(mu_)
};

// Opens the gate when a test leaves early, so a failed assertion does not leave threads held
// (declared after the futures, so it runs before their destructors wait).
struct ReleaseOnExit {
  GatedStore& store;
  ~ReleaseOnExit() { store.release(); }
};

class FsCoalesceTest : public ::testing::Test {
 protected:
  static constexpr int kThreads = 16;

  FsCoalesceTest() : memory_("s3://b/root"), store_(memory_) {
    Options o;
    o.root = "s3://b/root";
    o.page_size = 4096;
    o.metadata.ttl = std::chrono::seconds(60);
    o.metadata.negative_ttl = std::chrono::seconds(5);
    fs_ = std::make_unique<FileSystem>(o, store_, clock_);
  }

  // Spins (yielding) until `n` callers joined a flight; bounded so a broken core fails, not hangs.
  bool wait_joined(uint64_t n) {
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (fs_->stats().meta_coalesced.load() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

  Result<std::vector<std::string>> list_names(uint64_t dir) {
    auto fh = fs_->opendir(dir);
    if (!fh.ok()) return fh.status();
    std::vector<std::string> names;
    Status st = fs_->readdir(dir, *fh, 0, false, [&](const DirEntry& de, const Entry*) {
      if (de.name != "." && de.name != "..") names.push_back(de.name);
      return true;
    });
    fs_->releasedir(*fh);
    if (!st.ok()) return st;
    return names;
  }

  common::FakeClock clock_;
  testing::MemoryStore memory_;
  GatedStore store_;
  std::unique_ptr<FileSystem> fs_;
};

TEST_F(FsCoalesceTest, ConcurrentStatMissesMakeOneRequest) {
  const std::string key = "s3://b/root/f";
  memory_.put_file(key, "hello");
  store_.hold_next(1);
  std::vector<std::future<Result<Entry>>> lookups;
  ReleaseOnExit guard{store_};
  for (int i = 0; i < kThreads; ++i) {
    lookups.push_back(std::async(std::launch::async, [&] { return fs_->lookup(kRootIno, "f"); }));
  }
  ASSERT_TRUE(store_.wait_held(1));
  ASSERT_TRUE(wait_joined(kThreads - 1));  // every other caller waits on the one flight
  store_.release();
  for (auto& f : lookups) {
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
    auto e = f.get();
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    EXPECT_EQ(e->stat.size, 5u);
  }
  EXPECT_EQ(store_.stats_of(key), 1);
  ASSERT_TRUE(fs_->lookup(kRootIno, "f").ok());
  EXPECT_EQ(store_.stats_of(key), 1);  // the flight's result was cached
}

TEST_F(FsCoalesceTest, WaitersShareTheError) {
  const std::string key = "s3://b/root/f";
  memory_.put_file(key, "hello");
  store_.fail_stats_with(Status(Code::kIo, "injected"));
  store_.hold_next(1);
  std::vector<std::future<Result<Entry>>> lookups;
  ReleaseOnExit guard{store_};
  for (int i = 0; i < kThreads; ++i) {
    lookups.push_back(std::async(std::launch::async, [&] { return fs_->lookup(kRootIno, "f"); }));
  }
  ASSERT_TRUE(store_.wait_held(1));
  ASSERT_TRUE(wait_joined(kThreads - 1));
  store_.release();
  for (auto& f : lookups) {
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
    EXPECT_EQ(f.get().status().code(), Code::kIo);
  }
  EXPECT_EQ(store_.stats_of(key), 1);
  // An error is not cached and the flight is over: the next miss asks again.
  EXPECT_EQ(fs_->lookup(kRootIno, "f").status().code(), Code::kIo);
  EXPECT_EQ(store_.stats_of(key), 2);
}

TEST_F(FsCoalesceTest, ConcurrentListingMissesMakeOneRequest) {
  for (int i = 0; i < 100; ++i) memory_.put_file("s3://b/root/d/f" + std::to_string(i), "x");
  auto d = fs_->lookup(kRootIno, "d");
  ASSERT_TRUE(d.ok());
  const uint64_t dir = d->stat.ino;
  store_.hold_next(1);
  std::vector<std::future<Result<std::vector<std::string>>>> listings;
  ReleaseOnExit guard{store_};
  for (int i = 0; i < kThreads; ++i) {
    listings.push_back(std::async(std::launch::async, [&] { return list_names(dir); }));
  }
  ASSERT_TRUE(store_.wait_held(1));
  ASSERT_TRUE(wait_joined(kThreads - 1));
  store_.release();
  for (auto& f : listings) {
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
    auto names = f.get();
    ASSERT_TRUE(names.ok()) << names.status().to_string();
    EXPECT_EQ(names->size(), 100u);
  }
  EXPECT_EQ(store_.lists_of("s3://b/root/d"), 1);
  ASSERT_TRUE(list_names(dir).ok());
  EXPECT_EQ(store_.lists_of("s3://b/root/d"), 1);  // cached
}

TEST_F(FsCoalesceTest, InvalidationDuringStatFlightStartsANewOne) {
  const std::string key = "s3://b/root/f";
  memory_.put_file(key, "hello");
  store_.hold_next(1);
  auto before = std::async(std::launch::async, [&] { return fs_->lookup(kRootIno, "f"); });
  ReleaseOnExit guard{store_};
  ASSERT_TRUE(store_.wait_held(1));  // the flight has read size 5 and is frozen
  memory_.put_file(key, "hello world!");
  fs_->metadata_cache().invalidate(key, "s3://b/root");  // what our own mutations do
  // A miss after the invalidation must not join the old flight (it would wait on the gate).
  auto after = std::async(std::launch::async, [&] { return fs_->lookup(kRootIno, "f"); });
  ReleaseOnExit guard_after{store_};  // a wrongly joined `after` is freed before it is awaited
  ASSERT_EQ(after.wait_for(kWait), std::future_status::ready);
  auto fresh = after.get();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->stat.size, 12u);
  EXPECT_EQ(store_.stats_of(key), 2);
  store_.release();
  ASSERT_EQ(before.wait_for(kWait), std::future_status::ready);
  auto old = before.get();
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->stat.size, 5u);  // began before the mutation: may see the old state
  // The old flight finished last, but its pre-mutation result was not cached over the new one.
  auto cached = fs_->lookup(kRootIno, "f");
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->stat.size, 12u);
  EXPECT_EQ(store_.stats_of(key), 2);
}

TEST_F(FsCoalesceTest, InvalidationDuringListingFlightStartsANewOne) {
  const std::string dir_key = "s3://b/root/d";
  memory_.put_file(dir_key + "/a", "x");
  memory_.put_file(dir_key + "/b", "x");
  auto d = fs_->lookup(kRootIno, "d");
  ASSERT_TRUE(d.ok());
  const uint64_t dir = d->stat.ino;
  store_.hold_next(1);
  auto before = std::async(std::launch::async, [&] { return list_names(dir); });
  ReleaseOnExit guard{store_};
  ASSERT_TRUE(store_.wait_held(1));
  memory_.put_file(dir_key + "/c", "x");
  fs_->metadata_cache().invalidate(dir_key + "/c", dir_key);
  auto after = std::async(std::launch::async, [&] { return list_names(dir); });
  ReleaseOnExit guard_after{store_};  // a wrongly joined `after` is freed before it is awaited
  ASSERT_EQ(after.wait_for(kWait), std::future_status::ready);
  auto fresh = after.get();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(store_.lists_of(dir_key), 2);
  store_.release();
  ASSERT_EQ(before.wait_for(kWait), std::future_status::ready);
  auto old = before.get();
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(*old, (std::vector<std::string>{"a", "b"}));
  auto cached = list_names(dir);
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(*cached, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(store_.lists_of(dir_key), 2);
}

TEST(SingleFlightTest, ExceptionsReachEveryWaiter) {
  common::SingleFlight<int> flights;
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, go = false;
  auto leader = std::async(std::launch::async, [&] {
    return flights.run("k", [&]() -> int {
      std::unique_lock<std::mutex> lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return go; });
      throw std::runtime_error("boom");
    });
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return entered; }));
  }
  std::atomic<uint64_t> joined{0};
  auto waiter = std::async(std::launch::async, [&] {
    return flights.run(
        "k", [] { return 1; }, &joined);
  });
  auto deadline = std::chrono::steady_clock::now() + kWait;
  while (flights.joined() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(flights.joined(), 1u);
  {
    std::lock_guard<std::mutex> lock(mu);
    go = true;
    cv.notify_all();
  }
  EXPECT_THROW(leader.get(), std::runtime_error);
  EXPECT_THROW(waiter.get(), std::runtime_error);
  EXPECT_EQ(joined.load(), 1u);
  EXPECT_EQ(flights.in_flight(), 0u);
  EXPECT_EQ(flights.run("k", [] { return 7; }), 7);  // a new flight after the failed one
}

}  // namespace
}  // namespace alluxio_fuse::fs
