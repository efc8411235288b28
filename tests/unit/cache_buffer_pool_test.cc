// BufferPool: buffers come back for reuse, idle ones stay bounded, oversized requests are
// one-off allocations, and leases may end on any thread.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "alluxio_fuse/cache/buffer_pool.h"

namespace alluxio_fuse::cache {
namespace {

TEST(BufferPool, ReturnedBuffersAreReused) {
  BufferPool pool(4096, 2);
  char* first = nullptr;
  {
    auto a = pool.take(4096);
    first = a.data();
    std::memset(a.data(), 'x', 4096);
    EXPECT_EQ(pool.idle(), 0U);
  }
  EXPECT_EQ(pool.idle(), 1U);
  auto b = pool.take(100);  // smaller requests get a whole pooled buffer
  EXPECT_EQ(b.data(), first);
  EXPECT_EQ(pool.idle(), 0U);
}

TEST(BufferPool, IdleBuffersAreBounded) {
  BufferPool pool(1024, 2);
  {
    std::vector<BufferPool::Lease> leases;
    for (int i = 0; i < 5; ++i) leases.push_back(pool.take(1024));
    for (size_t i = 0; i < leases.size(); ++i) {
      for (size_t j = i + 1; j < leases.size(); ++j) EXPECT_NE(leases[i].data(), leases[j].data());
    }
  }
  EXPECT_EQ(pool.idle(), 2U);
}

TEST(BufferPool, OversizedRequestsAreNotPooled) {
  BufferPool pool(1024, 4);
  {
    auto big = pool.take(4096);
    std::memset(big.data(), 'y', 4096);
  }
  EXPECT_EQ(pool.idle(), 0U);
}

TEST(BufferPool, MovedLeaseReturnsOnce) {
  BufferPool pool(1024, 4);
  {
    auto a = pool.take(10);
    BufferPool::Lease b = std::move(a);
    BufferPool::Lease c;
    c = std::move(b);
    EXPECT_NE(c.data(), nullptr);
  }
  EXPECT_EQ(pool.idle(), 1U);
}

TEST(BufferPool, LeasesEndOnOtherThreads) {
  BufferPool pool(512, 8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool] {
      for (int i = 0; i < 1000; ++i) {
        auto l = pool.take(512);
        l.data()[0] = static_cast<char>(i);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(pool.idle(), 4U);
  EXPECT_GE(pool.idle(), 1U);
}

}  // namespace
}  // namespace alluxio_fuse::cache
