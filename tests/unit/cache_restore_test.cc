// PageCache restore on restart (page-cache.md §4.3): a new instance on the same directory
// serves the old pages without loading, deletes everything that is not a valid page file,
// orders the LRU by mtime and trims to a lowered capacity.
// test-deps: af_test_support
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

#include "alluxio_fuse/cache/page_cache.h"
#include "file_bytes.h"
#include "open_files.h"

namespace alluxio_fuse::cache {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kP = 4096;
constexpr uint64_t kPageBytes = page_file_size(kP, kP);

class RestoreTest : public ::testing::Test {
 protected:
  RestoreTest() {
    std::string tmpl = (fs::temp_directory_path() / "af-restore-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  ~RestoreTest() override {
    release_walk();  // a failed assertion must not leave the held walk blocking the destructor
    held_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<PageCache> open_cache(uint64_t capacity_pages = 16) {
    PageCacheOptions o;
    o.dir = dir_;
    o.page_size = kP;
    o.capacity = capacity_pages * kPageBytes;
    auto c = std::make_unique<PageCache>(std::move(o));
    EXPECT_TRUE(c->open().ok());
    c->wait_for_background();
    return c;
  }

  // A cache on dir_ whose background restore walk waits at its start until release_walk(),
  // as on a restart where reads arrive before the walk has indexed anything.
  PageCache& open_cache_walk_held() {
    PageCacheOptions o;
    o.dir = dir_;
    o.page_size = kP;
    o.capacity = 16 * kPageBytes;
    o.hooks.on_event = [this](std::string_view event) {
      if (event != "restore") return;
      std::unique_lock<std::mutex> lock(walk_mu_);
      walk_cv_.wait(lock, [this] { return walk_released_; });
    };
    held_ = std::make_unique<PageCache>(std::move(o));
    EXPECT_TRUE(held_->open().ok());
    return *held_;
  }
  void release_walk() {
    {
      std::lock_guard<std::mutex> lock(walk_mu_);
      walk_released_ = true;
    }
    walk_cv_.notify_all();
  }

  static std::vector<char> data(uint64_t index) {
    std::vector<char> v(kP);
    for (size_t i = 0; i < kP; ++i) v[i] = static_cast<char>((i + 13 * index) & 0xFF);
    return v;
  }

  PageCache::Loader loader(uint64_t index) {
    return [this, index](char* buf, size_t) -> common::Result<size_t> {
      calls_++;
      auto d = data(index);
      std::memcpy(buf, d.data(), d.size());
      return d.size();
    };
  }

  // Reads page `index`; returns whether it was a hit, checking the bytes.
  bool read(PageCache& c, uint64_t index) {
    std::vector<char> buf(kP);
    bool hit = false;
    auto r = c.get_or_load(id_, index, buf.data(), kP, loader(index), &hit);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(buf, data(index));
    return hit;
  }

  std::string path(uint64_t index) const { return page_path(dir_, kP, id_, index); }
  std::string root() const { return dir_ + "/" + std::to_string(kP); }

  void set_mtime(uint64_t index, time_t sec) {
    struct timespec ts[2] = {{sec, 0}, {sec, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path(index).c_str(), ts, 0), 0);
  }

  std::string dir_;
  std::string id_ = PageCache::make_file_id("s3://bucket/train/shard-0001.tar", "h:etag1");
  std::atomic<int> calls_{0};
  std::mutex walk_mu_;
  std::condition_variable walk_cv_;
  bool walk_released_ = false;
  std::unique_ptr<PageCache> held_;
};

TEST_F(RestoreTest, RestartServesPagesWithoutLoading) {
  {
    auto c = open_cache();
    for (uint64_t i = 0; i < 4; ++i) EXPECT_FALSE(read(*c, i));
  }
  EXPECT_EQ(calls_, 4);
  auto c = open_cache();
  EXPECT_EQ(c->stats().pages, 4u);
  EXPECT_EQ(c->stats().bytes, 4 * kPageBytes);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(read(*c, i)) << i;
  EXPECT_EQ(calls_, 4);
}

// A restarted daemon serves warm pages at once (issue 9): while the walk has not started yet,
// a miss adopts the verified page file from disk instead of loading it, and the walk then
// leaves the adopted page alone (no double count).
TEST_F(RestoreTest, MissDuringTheWalkAdoptsThePageFile) {
  {
    auto c = open_cache();
    for (uint64_t i = 0; i < 3; ++i) EXPECT_FALSE(read(*c, i));
  }
  ASSERT_EQ(calls_, 3);
  PageCache& c = open_cache_walk_held();
  EXPECT_EQ(c.stats().pages, 0u);  // the walk is held at its start
  EXPECT_TRUE(read(c, 1));
  EXPECT_EQ(calls_, 3);
  EXPECT_EQ(c.stats().pages, 1u);
  EXPECT_EQ(c.stats().bytes, kPageBytes);
  // A corrupt page file is not adopted: loaded instead.
  ASSERT_TRUE(alluxio_fuse::testing::flip_byte(path(2), data_offset(kP) + 5, 0x7f));
  EXPECT_FALSE(read(c, 2));
  EXPECT_EQ(calls_, 4);
  release_walk();
  c.wait_for_background();
  EXPECT_EQ(c.stats().pages, 3u);
  EXPECT_EQ(c.stats().bytes, 3 * kPageBytes);
  for (uint64_t i = 0; i < 3; ++i) EXPECT_TRUE(read(c, i)) << i;
  EXPECT_EQ(calls_, 4);
}

// The same for readahead: a restarted daemon's first read triggers readahead at once, before the
// walk has indexed anything; a prefetch of a page whose verified file is on disk adopts it and
// does not ask the loader (a worker) for it. (CI caught a restarted daemon fetching two warm
// pages from the workers this way.)
TEST_F(RestoreTest, PrefetchDuringTheWalkAdoptsThePageFile) {
  {
    auto c = open_cache();
    for (uint64_t i = 0; i < 2; ++i) EXPECT_FALSE(read(*c, i));
  }
  ASSERT_EQ(calls_, 2);
  PageCache& c = open_cache_walk_held();
  std::vector<char> scratch(kP);
  size_t loaded = 7;
  ASSERT_TRUE(c.prefetch(id_, 1, scratch.data(), kP, loader(1), &loaded).ok());
  EXPECT_EQ(calls_, 2);   // adopted from disk, not loaded
  EXPECT_EQ(loaded, 0u);  // nothing was fetched
  EXPECT_TRUE(c.contains(id_, 1));
  EXPECT_EQ(c.stats().pages, 1u);
  // A page with no file is still loaded by the prefetch.
  ASSERT_TRUE(c.prefetch(id_, 5, scratch.data(), kP, loader(5), &loaded).ok());
  EXPECT_EQ(calls_, 3);
  EXPECT_EQ(loaded, kP);
  release_walk();
  c.wait_for_background();
  EXPECT_EQ(c.stats().pages, 3u);  // 0 and 1 from the walk (1 not twice), 5 prefetched
  EXPECT_EQ(c.stats().bytes, 3 * kPageBytes);
  EXPECT_TRUE(read(c, 1));
  EXPECT_EQ(calls_, 3);
}

// A restarted daemon's first hit on a page need not open its file: the walk keeps the files it
// indexes open (block CRC table checked), within the open-file bound, and every hit still
// checks the CRC of each block it serves.
TEST_F(RestoreTest, WalkKeepsPageFilesOpenForTheirFirstHit) {
  {
    auto c = open_cache();
    for (uint64_t i = 0; i < 4; ++i) EXPECT_FALSE(read(*c, i));
  }
  ASSERT_EQ(calls_, 4);
  const std::string pages = root() + "/";
  ASSERT_EQ(alluxio_fuse::testing::open_files_under(pages), 0u);
  auto c = open_cache();
  EXPECT_EQ(c->stats().pages, 4u);
  EXPECT_EQ(alluxio_fuse::testing::open_files_under(pages), 4u);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(read(*c, i)) << i;
  EXPECT_EQ(alluxio_fuse::testing::open_files_under(pages), 4u);  // no second descriptor
  EXPECT_EQ(calls_, 4);
  // A byte flipped in a file the walk opened is caught at its next hit and refetched.
  ASSERT_TRUE(alluxio_fuse::testing::flip_byte(path(2), data_offset(kP) + 5, 0x7f));
  EXPECT_FALSE(read(*c, 2));
  EXPECT_EQ(calls_, 5);
  EXPECT_EQ(c->stats().corrupt, 1u);
  c.reset();
  EXPECT_EQ(alluxio_fuse::testing::open_files_under(pages), 0u);  // closed with the cache

  // No open-file budget (max_open_files below one per shard): the walk keeps nothing open.
  PageCacheOptions o;
  o.dir = dir_;
  o.page_size = kP;
  o.capacity = 16 * kPageBytes;
  o.max_open_files = 1;
  PageCache bounded(std::move(o));
  ASSERT_TRUE(bounded.open().ok());
  bounded.wait_for_background();
  EXPECT_EQ(bounded.stats().pages, 4u);
  EXPECT_EQ(alluxio_fuse::testing::open_files_under(pages), 0u);
}

TEST_F(RestoreTest, GarbageIsDeleted) {
  {
    auto c = open_cache();
    read(*c, 0);
    read(*c, 1);
  }
  const std::string fdir = file_dir(dir_, kP, id_);
  std::vector<std::string> garbage = {
      root() + "/tmp/leftover",        // interrupted write
      root() + "/zz",                  // not a bucket (not hex)
      root() + "/ab/not-a-file-id/0",  // bad file-id directory
      fdir + "/007",                   // not a canonical index
      fdir + "/junk",                  // not an index
      dir_ + "/8192/aa/x",             // another page size
  };
  for (const auto& g : garbage) {
    fs::create_directories(fs::path(g).parent_path());
    std::ofstream(g) << "garbage";
  }
  // A page in the wrong bucket, and a valid page file under another index's name.
  const std::string other_id = PageCache::make_file_id("k", "v");
  const std::string wrong_bucket =
      root() + "/" + (other_id.substr(0, 2) == "00" ? "01" : "00") + "/" + other_id;
  fs::create_directories(wrong_bucket);
  fs::copy_file(path(0), wrong_bucket + "/0");
  fs::copy_file(path(0), path(9));
  // A torn write: the header claims more data than the file holds.
  fs::copy_file(path(0), path(5));
  ASSERT_EQ(::truncate(path(5).c_str(), kPageBytes - 1), 0);

  auto c = open_cache();
  for (const auto& g : garbage) EXPECT_FALSE(fs::exists(g)) << g;
  EXPECT_FALSE(fs::exists(dir_ + "/8192"));
  EXPECT_FALSE(fs::exists(wrong_bucket));
  EXPECT_FALSE(fs::exists(path(9)));
  EXPECT_FALSE(fs::exists(path(5)));
  EXPECT_TRUE(fs::exists(root() + "/tmp"));
  EXPECT_EQ(c->stats().pages, 2u);
  EXPECT_TRUE(read(*c, 0));
  EXPECT_TRUE(read(*c, 1));
  EXPECT_FALSE(read(*c, 9));
  EXPECT_TRUE(fs::exists(dir_ + "/.lock"));
}

TEST_F(RestoreTest, CrcIsCheckedAtFirstReadNotAtRestore) {
  {
    auto c = open_cache();
    read(*c, 0);
  }
  ASSERT_TRUE(alluxio_fuse::testing::flip_byte(path(0), data_offset(kP) + 7, 0x5a));
  auto c = open_cache();
  EXPECT_TRUE(c->contains(id_, 0));  // indexed: header and length are fine
  EXPECT_FALSE(read(*c, 0));
  EXPECT_EQ(c->stats().corrupt, 1u);
  EXPECT_EQ(calls_, 2);
}

TEST_F(RestoreTest, LruFollowsMtimeAndLoweredCapacityKeepsNewest) {
  {
    auto c = open_cache();
    for (uint64_t i = 0; i < 4; ++i) read(*c, i);
  }
  // Age order, oldest first: 2, 0, 3, 1.
  set_mtime(2, 1'000'000);
  set_mtime(0, 2'000'000);
  set_mtime(3, 3'000'000);
  set_mtime(1, 4'000'000);

  auto c = open_cache(2);  // capacity lowered to two pages: keep 1 and 3
  EXPECT_EQ(c->stats().pages, 2u);
  EXPECT_FALSE(fs::exists(path(2)));
  EXPECT_FALSE(fs::exists(path(0)));
  EXPECT_TRUE(c->contains(id_, 1));
  EXPECT_TRUE(c->contains(id_, 3));
  EXPECT_EQ(c->stats().bytes, 2 * kPageBytes);

  read(*c, 7);  // evicts the older restored page, 3
  EXPECT_TRUE(c->contains(id_, 1));
  EXPECT_FALSE(c->contains(id_, 3));
  EXPECT_TRUE(c->contains(id_, 7));
}

TEST_F(RestoreTest, DroppedVersionIsNotRestoredLater) {
  {
    auto c = open_cache();
    read(*c, 0);
    c->drop_file(id_);
    c->wait_for_background();
  }
  auto c = open_cache();
  EXPECT_EQ(c->stats().pages, 0u);
  EXPECT_FALSE(fs::exists(path(0)));
}

}  // namespace
}  // namespace alluxio_fuse::cache
