// test-deps: af_test_support
// The filesystem core over the in-memory store, with a fake clock: inode table, metadata
// cache TTLs, readdir snapshots, page slicing of reads, error codes.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "alluxio_fuse/fs/file_system.h"
#include "memory_store.h"

namespace alluxio_fuse::fs {
namespace {

using common::Code;

constexpr uint64_t kPage = 4096;

class FsCoreTest : public ::testing::Test {
 protected:
  FsCoreTest() : store_("s3://b/root") {
    Options o;
    o.root = "s3://b/root";
    o.page_size = kPage;
    o.metadata.ttl = std::chrono::seconds(60);
    o.metadata.negative_ttl = std::chrono::seconds(5);
    fs_ = std::make_unique<FileSystem>(o, store_, clock_);
  }

  std::string data(size_t n, int seed = 1) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) % 251);
    return s;
  }

  uint64_t lookup_path(const std::vector<std::string>& parts) {
    uint64_t ino = kRootIno;
    for (const auto& p : parts) {
      auto e = fs_->lookup(ino, p);
      EXPECT_TRUE(e.ok()) << p;
      ino = e->stat.ino;
    }
    return ino;
  }

  std::string read(uint64_t ino, uint64_t off, size_t len) {
    auto h = fs_->open(ino, O_RDONLY);
    EXPECT_TRUE(h.ok());
    std::string buf(len, '\0');
    auto n = fs_->read(h->fh, off, len, buf.data());
    EXPECT_TRUE(n.ok()) << n.status().to_string();
    fs_->release(h->fh);
    buf.resize(n.ok() ? *n : 0);
    return buf;
  }

  common::FakeClock clock_;
  testing::MemoryStore store_;
  std::unique_ptr<FileSystem> fs_;
};

TEST_F(FsCoreTest, LookupGetattrAndStaleInodes) {
  store_.put_file("s3://b/root/dir/a.txt", "hello");
  uint64_t dir = lookup_path({"dir"});
  auto e = fs_->lookup(dir, "a.txt");
  ASSERT_TRUE(e.ok());
  EXPECT_NE(e->stat.ino, 0u);
  EXPECT_EQ(e->stat.size, 5u);
  EXPECT_EQ(e->stat.mode & 0777, 0644u);
  EXPECT_GT(e->entry_timeout, 0);
  // Same key → same inode while referenced.
  EXPECT_EQ(fs_->lookup(dir, "a.txt")->stat.ino, e->stat.ino);
  EXPECT_EQ(fs_->getattr(987654).status().code(), Code::kStale);
  fs_->forget(e->stat.ino, 2);
  EXPECT_EQ(fs_->getattr(e->stat.ino).status().code(), Code::kStale);
}

TEST_F(FsCoreTest, NegativeEntriesAndNames) {
  auto e = fs_->lookup(kRootIno, "missing");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->stat.ino, 0u);  // negative entry
  EXPECT_EQ(fs_->lookup(kRootIno, std::string(256, 'x')).status().code(), Code::kNameTooLong);
  EXPECT_EQ(fs_->lookup(kRootIno, "\xff\xfe").status().code(), Code::kNotFound);  // bad UTF-8
}

TEST_F(FsCoreTest, MetadataTtlBoundsStaleness) {
  store_.put_file("s3://b/root/f", "v1");
  uint64_t f = lookup_path({"f"});
  int calls = store_.stat_calls;
  ASSERT_TRUE(fs_->getattr(f).ok());
  EXPECT_EQ(store_.stat_calls, calls);  // served from the cache
  store_.put_file("s3://b/root/f", "version two");
  EXPECT_EQ(fs_->getattr(f)->stat.size, 2u);
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(fs_->getattr(f)->stat.size, 11u);
  // Negative entry expires after negative_ttl.
  EXPECT_EQ(fs_->lookup(kRootIno, "later")->stat.ino, 0u);
  store_.put_file("s3://b/root/later", "x");
  EXPECT_EQ(fs_->lookup(kRootIno, "later")->stat.ino, 0u);
  clock_.advance(std::chrono::seconds(6));
  EXPECT_NE(fs_->lookup(kRootIno, "later")->stat.ino, 0u);
}

TEST_F(FsCoreTest, ReaddirSnapshotAndPlusSeedsCache) {
  for (int i = 0; i < 50; ++i) store_.put_file("s3://b/root/d/f" + std::to_string(i), "x");
  uint64_t d = lookup_path({"d"});
  auto fh = fs_->opendir(d);
  ASSERT_TRUE(fh.ok());
  std::vector<std::string> names;
  uint64_t next = 0;
  // Read in small batches to exercise offsets.
  for (;;) {
    size_t batch = 0;
    ASSERT_TRUE(fs_->readdir(d, *fh, next, true,
                             [&](const DirEntry& de, const Entry* e) {
                               if (batch == 7) return false;
                               EXPECT_NE(e, nullptr);
                               names.push_back(de.name);
                               next = de.next_offset;
                               ++batch;
                               return true;
                             })
                    .ok());
    if (batch == 0) break;
    // A change during the pass must not show up in it.
    store_.put_file("s3://b/root/d/zz-new", "x");
  }
  fs_->releasedir(*fh);
  EXPECT_EQ(names.size(), 52u);  // ".", "..", 50 files
  int stats = store_.stat_calls;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(fs_->lookup(d, "f" + std::to_string(i)).ok());
  EXPECT_EQ(store_.stat_calls, stats);  // seeded by the listing
}

TEST_F(FsCoreTest, ReadsSliceAcrossPagesAndStopAtEof) {
  std::string content = data(3 * kPage + 100);
  store_.put_file("s3://b/root/big", content);
  uint64_t f = lookup_path({"big"});
  EXPECT_EQ(read(f, 0, content.size() + 50), content);
  EXPECT_EQ(read(f, kPage - 10, 20), content.substr(kPage - 10, 20));
  EXPECT_EQ(read(f, 2 * kPage + 1, kPage), content.substr(2 * kPage + 1, kPage));
  EXPECT_EQ(read(f, content.size(), 10), "");
  EXPECT_EQ(read(f, content.size() + 5000, 10), "");
}

TEST_F(FsCoreTest, OpenDirectoryAndWritesAreRefused) {
  store_.put_file("s3://b/root/d/x", "x");
  uint64_t d = lookup_path({"d"});
  EXPECT_EQ(fs_->open(d, O_RDONLY).status().code(), Code::kIsDir);
  uint64_t x = lookup_path({"d", "x"});
  EXPECT_EQ(fs_->open(x, O_WRONLY).status().code(), Code::kReadOnly);
  EXPECT_EQ(fs_->opendir(x).status().code(), Code::kNotDir);
  EXPECT_EQ(fs_->read(12345, 0, 1, nullptr).status().code(), Code::kBadHandle);
}

TEST_F(FsCoreTest, FileChangedDuringReadIsAnError) {
  store_.put_file("s3://b/root/f", data(2 * kPage));
  uint64_t f = lookup_path({"f"});
  auto h = fs_->open(f, O_RDONLY);
  ASSERT_TRUE(h.ok());
  store_.put_file("s3://b/root/f", data(kPage + 10));  // shrinks under the open handle
  std::string buf(kPage, '\0');
  auto n = fs_->read(h->fh, kPage, kPage, buf.data());
  EXPECT_EQ(n.status().code(), Code::kIo);
  fs_->release(h->fh);
}

TEST_F(FsCoreTest, KeepCacheOnlyForTheSameVersion) {
  store_.put_file("s3://b/root/f", "abc", 1000);
  uint64_t f = lookup_path({"f"});
  auto h1 = fs_->open(f, O_RDONLY);
  EXPECT_FALSE(h1->keep_cache);
  auto h2 = fs_->open(f, O_RDONLY);
  EXPECT_TRUE(h2->keep_cache);
  store_.put_file("s3://b/root/f", "abcd", 2000);
  clock_.advance(std::chrono::seconds(61));
  auto h3 = fs_->open(f, O_RDONLY);
  EXPECT_FALSE(h3->keep_cache);
}

}  // namespace
}  // namespace alluxio_fuse::fs
