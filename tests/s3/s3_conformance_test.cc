// The store conformance body of tests/unit/store_conformance_test.cc, run against the S3 store
// on a real s3rver process, plus what only a real server shows: paged listings, multipart
// uploads, directory renames, encoded names, refusal of over-long names before the request,
// and the metric label of every call. Each test gets its own root prefix in one shared bucket.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/ufs/s3_store.h"
#include "s3rver_process.h"
#include "temp_dir.h"

namespace alluxio_fuse {
namespace {

using common::Code;

constexpr const char* kBucket = "conformance";

class MethodCounter final : public http::CallObserver {
 public:
  void observe(std::string_view method, http::State, double) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[std::string(method)];
  }
  std::map<std::string, int> counts() {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

class S3Conformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::S3rverProcess(kBucket); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(server_->ok()) << server_->error();
    static std::atomic<int> next{0};
    root_ = std::string("s3://") + kBucket + "/t" + std::to_string(next++);
    client_ = http::make_curl_client({}, &counter_);
    store_ = make_store(ufs::kS3MultipartThreshold);
  }

  // s3rver knows one access key id, S3RVER; it checks the id but not V4 signatures.
  std::unique_ptr<ufs::S3Store> make_store(uint64_t multipart_threshold,
                                           std::string key_id = "S3RVER",
                                           std::string secret = "S3RVER") {
    ufs::S3Options o;
    o.root = root_;
    o.endpoint = server_->endpoint();
    o.path_style = true;
    o.credentials = ufs::SigV4Credentials{std::move(key_id), std::move(secret), ""};
    o.retries = 1;
    o.backoff_initial = std::chrono::milliseconds(10);
    o.multipart_threshold = multipart_threshold;
    o.min_part_size = min_part_size_;
    // s3rver stores a component as "<name>._S3rver_metadata.json" on the local file system.
    o.max_component_bytes = 200;
    return std::make_unique<ufs::S3Store>(o, *ufs::parse_s3_root(root_), *client_);
  }

  std::string k(const std::string& rel) { return root_ + "/" + rel; }

  common::Status write(const std::string& key, const std::string& data, store::Store* s = nullptr) {
    std::string path = dir_ / ("staged-" + std::to_string(staged_++));
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    common::Status st = (s != nullptr ? s : store_.get())->write_file(key, fd, data.size());
    ::close(fd);
    ::unlink(path.c_str());
    return st;
  }
  std::string read_all(const std::string& key, size_t size) {
    std::string out(size + 16, '\0');
    store::ReadRequest req{key, 0, size + 16, std::nullopt};
    auto r = store_->read(req, out.data());
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    out.resize(r.ok() ? r->bytes : 0);
    return out;
  }
  std::vector<std::string> names(const std::string& key) {
    auto listing = store_->list(key);
    EXPECT_TRUE(listing.ok()) << listing.status().to_string();
    std::vector<std::string> out;
    if (!listing.ok()) return out;
    for (const auto& e : *listing) out.push_back(e.name + (e.is_dir() ? "/" : ""));
    std::sort(out.begin(), out.end());
    return out;
  }

  static testing::S3rverProcess* server_;
  uint64_t min_part_size_ = ufs::kS3MinPartSize;
  testing::TempDir dir_;
  std::atomic<int> staged_{0};
  std::string root_;
  MethodCounter counter_;
  std::unique_ptr<http::Client> client_;
  std::unique_ptr<ufs::S3Store> store_;
};

testing::S3rverProcess* S3Conformance::server_ = nullptr;

// ---- The conformance body (kept identical to tests/unit/store_conformance_test.cc) ----

TEST_F(S3Conformance, RootIsADirectory) {
  auto info = store_->stat(root_);
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_TRUE(info->is_dir());
}

TEST_F(S3Conformance, WriteStatReadRoundTrip) {
  std::string data(3 * 4096 + 5, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  ASSERT_TRUE(write(k("a.bin"), data).ok());
  auto info = store_->stat(k("a.bin"));
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->is_dir());
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(info->name, "a.bin");
  EXPECT_EQ(read_all(k("a.bin"), data.size()), data);
  std::string buf(100, '\0');
  auto r = store_->read({k("a.bin"), 4000, 100, data.size()}, buf.data());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, 100u);
  EXPECT_EQ(buf, data.substr(4000, 100));
  auto eof = store_->read({k("a.bin"), data.size() + 10, 100, std::nullopt}, buf.data());
  ASSERT_TRUE(eof.ok()) << eof.status().to_string();
  EXPECT_EQ(eof->bytes, 0u);
}

TEST_F(S3Conformance, EmptyFile) {
  ASSERT_TRUE(write(k("empty"), "").ok());
  auto info = store_->stat(k("empty"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 0u);
  EXPECT_EQ(read_all(k("empty"), 0), "");
}

TEST_F(S3Conformance, OverwriteReplacesWholeFile) {
  ASSERT_TRUE(write(k("f"), "long original content").ok());
  ASSERT_TRUE(write(k("f"), "short").ok());
  EXPECT_EQ(read_all(k("f"), 5), "short");
}

TEST_F(S3Conformance, MissingThings) {
  EXPECT_EQ(store_->stat(k("nope")).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->list(k("nope")).status().code(), Code::kNotFound);
  std::string buf(10, '\0');
  EXPECT_EQ(store_->read({k("nope"), 0, 10, std::nullopt}, buf.data()).status().code(),
            Code::kNotFound);
  EXPECT_EQ(store_->remove(k("nope"), false).code(), Code::kNotFound);
  EXPECT_EQ(store_->mkdir(k("no/parent")).code(), Code::kNotFound);
}

TEST_F(S3Conformance, DirectoriesListAndRemove) {
  ASSERT_TRUE(store_->mkdir(k("d")).ok());
  EXPECT_EQ(store_->mkdir(k("d")).code(), Code::kExists);
  ASSERT_TRUE(write(k("d/one"), "1").ok());
  ASSERT_TRUE(store_->mkdir(k("d/sub")).ok());
  EXPECT_EQ(names(k("d")), (std::vector<std::string>{"one", "sub/"}));
  EXPECT_EQ(store_->remove(k("d"), true).code(), Code::kNotEmpty);
  EXPECT_EQ(store_->list(k("d/one")).status().code(), Code::kNotDir);
  ASSERT_TRUE(store_->remove(k("d/one"), false).ok());
  ASSERT_TRUE(store_->remove(k("d/sub"), true).ok());
  ASSERT_TRUE(store_->remove(k("d"), true).ok());
  EXPECT_EQ(store_->stat(k("d")).status().code(), Code::kNotFound);
}

TEST_F(S3Conformance, RenameFileAndDirectory) {
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

TEST_F(S3Conformance, ReadOfDirectoryIsIsDir) {
  ASSERT_TRUE(store_->mkdir(k("dir")).ok());
  std::string buf(10, '\0');
  EXPECT_EQ(store_->read({k("dir"), 0, 10, std::nullopt}, buf.data()).status().code(),
            Code::kIsDir);
}

// ---- What only a real server shows ----

TEST_F(S3Conformance, ListingPagesThroughContinuationTokens) {
  ASSERT_TRUE(store_->mkdir(k("many")).ok());
  constexpr int kFiles = 1234;  // two ListObjectsV2 pages of 1000
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kFiles; i += 4) {
        if (!write(k("many/f" + std::to_string(i)), std::to_string(i)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_TRUE(store_->mkdir(k("many/zdir")).ok());
  auto listing = store_->list(k("many"));
  ASSERT_TRUE(listing.ok()) << listing.status().to_string();
  std::set<std::string> seen;
  for (const auto& e : *listing) seen.insert(e.name);
  EXPECT_EQ(listing->size(), static_cast<size_t>(kFiles + 1));  // no repeats
  EXPECT_EQ(seen.size(), static_cast<size_t>(kFiles + 1));
  EXPECT_TRUE(seen.count("f0") && seen.count("f1233") && seen.count("zdir"));
  EXPECT_GE(counter_.counts()["ufs_list"], 2);
}

TEST_F(S3Conformance, MultipartUploadAboveTheThreshold) {
  // Small threshold and parts so the test stays quick; parts stay above S3's 5 MiB minimum.
  min_part_size_ = 5u << 20;
  auto store = make_store(6u << 20);
  std::string data((11u << 20) + 12345, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131) >> 7);
  ASSERT_TRUE(write(k("big.bin"), data, store.get()).ok());
  auto info = store_->stat(k("big.bin"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, data.size());
  std::string back(data.size(), '\0');
  auto r = store_->read({k("big.bin"), 0, back.size(), data.size()}, back.data());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, data.size());
  EXPECT_TRUE(back == data);
  // initiate + 3 parts (5 + 5 + 1 MiB) + complete
  EXPECT_EQ(counter_.counts()["ufs_multipart"], 5);
}

TEST_F(S3Conformance, EncodedNamesRoundTrip) {
  const std::vector<std::string> files = {"a b+c&d?.txt", "\xE6\x95\xB0\xE6\x8D\xAE",
                                          "semi;colon=eq%41", "tilde~-_."};
  for (const auto& f : files) ASSERT_TRUE(write(k(f), f).ok()) << f;
  std::vector<std::string> expect = files;
  std::sort(expect.begin(), expect.end());
  EXPECT_EQ(names(root_), expect);
  for (const auto& f : files) EXPECT_EQ(read_all(k(f), f.size()), f) << f;
}

TEST_F(S3Conformance, OverLongNamesAreRefusedBeforeTheRequest) {
  const int before = counter_.counts()["ufs_put"];
  EXPECT_EQ(write(k(std::string(300, 'n')), "x").code(), Code::kNameTooLong);
  EXPECT_EQ(store_->mkdir(k(std::string(256, 'd'))).code(), Code::kNameTooLong);
  EXPECT_EQ(counter_.counts()["ufs_put"], before);
  EXPECT_TRUE(server_->alive());
  EXPECT_TRUE(store_->stat(root_).ok());
}

TEST_F(S3Conformance, UnknownAccessKeyIsPermissionWithoutTheSecret) {
  const std::string secret = "wJalrXUtnFEMI-very-secret-value";
  auto store = make_store(ufs::kS3MultipartThreshold, "AKIAUNKNOWNKEY", secret);
  auto root = store->stat(root_);
  EXPECT_EQ(root.status().code(), Code::kPermission);
  EXPECT_NE(root.status().message().find("InvalidAccessKeyId"), std::string::npos);
  EXPECT_EQ(root.status().message().find(secret), std::string::npos);
  EXPECT_EQ(write(k("denied"), "x", store.get()).code(), Code::kPermission);
  // Not retried: a permission error is final.
  EXPECT_EQ(counter_.counts()["ufs_put"], 1);
}

TEST_F(S3Conformance, MetricLabelsAreTheS3Set) {
  ASSERT_TRUE(store_->mkdir(k("m")).ok());
  ASSERT_TRUE(write(k("m/x"), "x").ok());
  ASSERT_TRUE(store_->rename(k("m/x"), k("m/y")).ok());
  ASSERT_TRUE(store_->stat(k("m/y")).ok());
  EXPECT_EQ(read_all(k("m/y"), 1), "x");
  ASSERT_TRUE(store_->remove(k("m/y"), false).ok());
  const std::set<std::string> allowed = {"ufs_head",   "ufs_get",  "ufs_put",      "ufs_list",
                                         "ufs_delete", "ufs_copy", "ufs_multipart"};
  auto counts = counter_.counts();
  for (const auto& [method, n] : counts) EXPECT_TRUE(allowed.count(method)) << method;
  for (const char* m : {"ufs_head", "ufs_get", "ufs_put", "ufs_list", "ufs_delete", "ufs_copy"}) {
    EXPECT_GT(counts[m], 0) << m;
  }
}

}  // namespace
}  // namespace alluxio_fuse
