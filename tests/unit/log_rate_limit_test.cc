// RateLimiter: one line per key per period, suppressed counts, bounded memory, thread safety.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "alluxio_fuse/log/rate_limit.h"

namespace alluxio_fuse::log {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(RateLimiter, OncePerKeyPerPeriod) {
  common::FakeClock clock;
  RateLimiter rl(clock);  // default period: one minute
  uint64_t suppressed = 99;
  EXPECT_TRUE(rl.should_log("worker-down:w1", &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(rl.should_log("worker-down:w1"));
  EXPECT_TRUE(rl.should_log("worker-down:w2"));  // keys are independent
  clock.advance(seconds(59));
  EXPECT_FALSE(rl.should_log("worker-down:w1"));
  clock.advance(seconds(1));
  EXPECT_TRUE(rl.should_log("worker-down:w1", &suppressed));
  EXPECT_EQ(suppressed, 2u);
  EXPECT_FALSE(rl.should_log("worker-down:w1"));
}

TEST(RateLimiter, BoundedMemory) {
  common::FakeClock clock;
  RateLimiter rl(clock, minutes(1), 4);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(rl.should_log("k" + std::to_string(i)));
  EXPECT_LE(rl.size(), 4u);
  // The most recent keys are still limited.
  EXPECT_FALSE(rl.should_log("k99"));
  // Expired keys are dropped first when room is needed.
  clock.advance(minutes(2));
  EXPECT_TRUE(rl.should_log("fresh"));
  EXPECT_EQ(rl.size(), 1u);
}

TEST(RateLimiter, ConcurrentCallersGetExactlyOneTrue) {
  common::FakeClock clock;
  RateLimiter rl(clock);
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < 1000; ++i) {
        if (rl.should_log("same-key")) allowed.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 1);
  uint64_t suppressed = 0;
  clock.advance(minutes(1));
  EXPECT_TRUE(rl.should_log("same-key", &suppressed));
  EXPECT_EQ(suppressed, kThreads * 1000u - 1);
}

}  // namespace
}  // namespace alluxio_fuse::log
