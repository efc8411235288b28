// test-deps: af_ufs af_test_support
// One test body over the store contract, run against every store that can run in-process.
// (The worker store through the fake worker and the S3 store through s3rver run the same
// checks as integration tests.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>

#include "alluxio_fuse/ufs/local_store.h"
#include "memory_store.h"
#include "temp_dir.h"

namespace alluxio_fuse {
namespace {

using common::Code;

struct Backend {
  std::string name;
  std::function<std::unique_ptr<store::Store>(const testing::TempDir&, std::string* root)> make;
};

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { store_ = GetParam().make(dir_, &root_); }
  std::string k(const std::string& rel) { return root_ + "/" + rel; }

  // Writes `data` through write_file from a staged temp file.
  common::Status write(const std::string& key, const std::string& data) {
    std::string path = dir_ / "staged";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    common::Status s = store_->write_file(key, fd, data.size());
    ::close(fd);
    return s;
  }
  std::string read_all(const std::string& key, size_t size) {
    std::string out(size + 16, '\0');
    store::ReadRequest req{key, 0, size + 16, std::nullopt};
    auto r = store_->read(req, out.data());
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    out.resize(r.ok() ? r->bytes : 0);
    return out;
  }

  testing::TempDir dir_;
  std::string root_;
  std::unique_ptr<store::Store> store_;
};

TEST_P(StoreConformance, RootIsADirectory) {
  auto info = store_->stat(root_);
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_TRUE(info->is_dir());
}

TEST_P(StoreConformance, WriteStatReadRoundTrip) {
  std::string data(3 * 4096 + 5, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  ASSERT_TRUE(write(k("a.bin"), data).ok());
  auto info = store_->stat(k("a.bin"));
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->is_dir());
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(info->name, "a.bin");
  EXPECT_EQ(read_all(k("a.bin"), data.size()), data);
  // A ranged read in the middle, and one past EOF.
  std::string buf(100, '\0');
  auto r = store_->read({k("a.bin"), 4000, 100, data.size()}, buf.data());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, 100u);
  EXPECT_EQ(buf, data.substr(4000, 100));
  auto eof = store_->read({k("a.bin"), data.size() + 10, 100, std::nullopt}, buf.data());
  ASSERT_TRUE(eof.ok());
  EXPECT_EQ(eof->bytes, 0u);
}

TEST_P(StoreConformance, EmptyFile) {
  ASSERT_TRUE(write(k("empty"), "").ok());
  auto info = store_->stat(k("empty"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 0u);
  EXPECT_EQ(read_all(k("empty"), 0), "");
}

TEST_P(StoreConformance, OverwriteReplacesWholeFile) {
  ASSERT_TRUE(write(k("f"), "long original content").ok());
  ASSERT_TRUE(write(k("f"), "short").ok());
  EXPECT_EQ(read_all(k("f"), 5), "short");
}

TEST_P(StoreConformance, MissingThings) {
  EXPECT_EQ(store_->stat(k("nope")).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->list(k("nope")).status().code(), Code::kNotFound);
  std::string buf(10, '\0');
  EXPECT_EQ(store_->read({k("nope"), 0, 10, std::nullopt}, buf.data()).status().code(),
            Code::kNotFound);
  EXPECT_EQ(store_->remove(k("nope"), false).code(), Code::kNotFound);
  EXPECT_EQ(store_->mkdir(k("no/parent")).code(), Code::kNotFound);
}

TEST_P(StoreConformance, DirectoriesListAndRemove) {
  ASSERT_TRUE(store_->mkdir(k("d")).ok());
  EXPECT_EQ(store_->mkdir(k("d")).code(), Code::kExists);
  ASSERT_TRUE(write(k("d/one"), "1").ok());
  ASSERT_TRUE(store_->mkdir(k("d/sub")).ok());
  auto listing = store_->list(k("d"));
  ASSERT_TRUE(listing.ok());
  std::vector<std::string> names;
  for (const auto& e : *listing) names.push_back(e.name + (e.is_dir() ? "/" : ""));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"one", "sub/"}));
  EXPECT_EQ(store_->remove(k("d"), true).code(), Code::kNotEmpty);
  EXPECT_EQ(store_->list(k("d/one")).status().code(), Code::kNotDir);
  ASSERT_TRUE(store_->remove(k("d/one"), false).ok());
  ASSERT_TRUE(store_->remove(k("d/sub"), true).ok());
  ASSERT_TRUE(store_->remove(k("d"), true).ok());
  EXPECT_EQ(store_->stat(k("d")).status().code(), Code::kNotFound);
}

TEST_P(StoreConformance, RenameFileAndDirectory) {
  ASSERT_TRUE(store_->mkdir(k("src")).ok());
  ASSERT_TRUE(write(k("src/f"), "payload").ok());
  ASSERT_TRUE(store_->rename(k("src/f"), k("g")).ok());
  EXPECT_EQ(store_->stat(k("src/f")).status().code(), Code::kNotFound);
  EXPECT_EQ(read_all(k("g"), 7), "payload");
  ASSERT_TRUE(write(k("src/h"), "h").ok());
  ASSERT_TRUE(store_->rename(k("src"), k("dst")).ok());
  EXPECT_EQ(read_all(k("dst/h"), 1), "h");
  EXPECT_EQ(store_->rename(k("g"), k("dst/h")).code(), Code::kExists);
}

TEST_P(StoreConformance, ReadOfDirectoryIsIsDir) {
  ASSERT_TRUE(store_->mkdir(k("dir")).ok());
  std::string buf(10, '\0');
  EXPECT_EQ(store_->read({k("dir"), 0, 10, std::nullopt}, buf.data()).status().code(),
            Code::kIsDir);
}

INSTANTIATE_TEST_SUITE_P(
    Stores, StoreConformance,
    ::testing::Values(Backend{"memory",
                              [](const testing::TempDir&, std::string* root) {
                                *root = "s3://bucket/prefix";
                                return std::unique_ptr<store::Store>(
                                    new testing::MemoryStore(*root));
                              }},
                      Backend{"local",
                              [](const testing::TempDir& dir, std::string* root) {
                                *root = "file://" + dir.path() + "/ufs";
                                ::mkdir((dir.path() + "/ufs").c_str(), 0755);
                                return std::unique_ptr<store::Store>(new ufs::LocalStore(*root));
                              }}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

TEST(LocalStore, RefusesDotDotKeys) {
  testing::TempDir dir;
  ufs::LocalStore store("file://" + dir.path());
  EXPECT_EQ(store.stat("file://" + dir.path() + "/../etc").status().code(), Code::kInvalid);
  EXPECT_EQ(store.stat("file:///etc/passwd").status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace alluxio_fuse
