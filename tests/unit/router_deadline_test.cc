// test-deps: af_test_support cpp-httplib
// ClusterStore through the real curl client against in-process cpp-httplib workers on
// 127.0.0.1-3, one of which hangs: the operation fails over within its deadline, and when
// every worker hangs it ends (EIO or the UFS) within the deadline plus a small margin.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "alluxio_fuse/cluster/membership.h"
#include "alluxio_fuse/cluster/router.h"
#include "alluxio_fuse/http/client.h"
#include "alluxio_fuse/router/attempt_tap.h"
#include "alluxio_fuse/router/cluster_store.h"
#include "alluxio_fuse/worker/worker_client.h"
#include "memory_store.h"

namespace alluxio_fuse::router {
namespace {

using namespace std::chrono_literals;
using common::Code;

constexpr const char* kKey = "s3://bkt/data/f.bin";
constexpr size_t kPage = 16;

// A fake worker answering every page GET with kPage bytes of its own letter, or hanging until
// released (the test's end) when told to.
class HangableWorker {
 public:
  HangableWorker(const std::string& host, char letter) : host_(host) {
    server_.Get(R"(/v1/file/.*)", [this, letter](const httplib::Request&, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      ++requests_;
      if (hang_) cv_.wait_for(lock, 10s, [&] { return released_; });
      res.set_content(std::string(kPage, letter), "application/octet-stream");
    });
    port_ = server_.bind_to_any_port(host_);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HangableWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
    server_.stop();
    thread_.join();
  }
  void set_hang(bool hang) {
    std::lock_guard<std::mutex> lock(mu_);
    hang_ = hang;
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  cluster::WorkerAddress address() const { return {host_, port_}; }

 private:
  std::string host_;
  int port_ = 0;
  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool hang_ = false;
  bool released_ = false;
  int requests_ = 0;
};

class DeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      workers_.push_back(std::make_unique<HangableWorker>("127.0.0." + std::to_string(i + 1),
                                                          static_cast<char>('a' + i)));
    }
    std::vector<cluster::WorkerAddress> addrs;
    for (auto& w : workers_) addrs.push_back(w->address());
    auto m = cluster::StaticMembership::create(addrs, 5);
    ASSERT_TRUE(m.ok());
    membership_ = std::move(m).value();
    router_ = std::make_unique<cluster::Router>(*membership_, cluster::RouterOptions{},
                                                common::SystemClock::instance());
    http_ = http::make_curl_client(http::ClientOptions{}, nullptr);
    tap_ = std::make_unique<AttemptTap>(*http_, common::SystemClock::instance());
    worker::WorkerClientOptions wo;
    wo.page_size = kPage;
    wo.api = worker::WorkerApi::kEnterprise;
    client_ = std::make_unique<worker::WorkerClient>(*tap_, wo);
    for (const cluster::Worker& w : router_->candidates(kKey)) {
      for (auto& hw : workers_) {
        if (hw->address() == w.address) order_.push_back(hw.get());
      }
    }
    ASSERT_EQ(order_.size(), 3u);
    ufs_.put_file(kKey, std::string(kPage, 'u'));
  }
  void TearDown() override {
    store_.reset();
    client_.reset();
    tap_.reset();
    http_.reset();
    workers_.clear();
  }

  ClusterStore& make_store(bool fallback) {
    ClusterStoreOptions o;
    o.page_size = kPage;
    o.data_timeout = 900ms;
    o.retries = 2;
    o.backoff_initial = 20ms;
    o.backoff_max = 50ms;
    o.fallback_enabled = fallback;
    store_ = std::make_unique<ClusterStore>(*router_, *client_, &ufs_, o);
    return *store_;
  }

  std::vector<std::unique_ptr<HangableWorker>> workers_;
  std::vector<HangableWorker*> order_;
  std::unique_ptr<cluster::Membership> membership_;
  std::unique_ptr<cluster::Router> router_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<AttemptTap> tap_;
  std::unique_ptr<worker::WorkerClient> client_;
  std::unique_ptr<ClusterStore> store_;
  testing::MemoryStore ufs_{"s3://bkt"};
};

TEST_F(DeadlineTest, HangingOwnerFailsOverWithinTheDeadline) {
  order_[0]->set_hang(true);
  ClusterStore& store = make_store(/*fallback=*/false);
  std::string buf(kPage, '\0');
  const auto start = std::chrono::steady_clock::now();
  auto r = store.read({kKey, 0, kPage, kPage}, buf.data());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->source, store::Source::kWorker);
  const char second = static_cast<char>('a' + (order_[1]->address().host.back() - '1'));
  EXPECT_EQ(buf, std::string(kPage, second));
  EXPECT_LT(elapsed, 900ms);
  EXPECT_GE(elapsed, 250ms);  // the owner had its share (a third) of the deadline
  EXPECT_TRUE(router_->is_suspect(order_[0]->address()));
  EXPECT_EQ(store.stats().failovers.load(), 1u);
}

TEST_F(DeadlineTest, AllHangingEndsWithEioWithinTheDeadline) {
  for (auto& w : workers_) w->set_hang(true);
  ClusterStore& store = make_store(/*fallback=*/false);
  std::string buf(kPage, '\0');
  const auto start = std::chrono::steady_clock::now();
  auto r = store.read({kKey, 0, kPage, kPage}, buf.data());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), Code::kIo);
  EXPECT_LT(elapsed, 900ms + 250ms);
  EXPECT_GE(elapsed, 850ms);
}

TEST_F(DeadlineTest, AllHangingFallsBackToUfsWithinTheDeadline) {
  for (auto& w : workers_) w->set_hang(true);
  ClusterStore& store = make_store(/*fallback=*/true);
  std::string buf(kPage, '\0');
  const auto start = std::chrono::steady_clock::now();
  auto r = store.read({kKey, 0, kPage, kPage}, buf.data());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->source, store::Source::kUfs);
  EXPECT_EQ(buf, std::string(kPage, 'u'));
  EXPECT_LT(elapsed, 900ms + 250ms);
  EXPECT_EQ(store.stats().fallback_timeout.load(), 1u);
}

}  // namespace
}  // namespace alluxio_fuse::router
