// FetchPool: the global in-flight bound and the quarter of slots reserved for demand reads.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>

#include "alluxio_fuse/cache/fetch_pool.h"

namespace alluxio_fuse::cache {
namespace {

using Kind = FetchPool::Kind;

TEST(FetchPool, QuarterOfSlotsReservedForDemand) {
  EXPECT_EQ(FetchPool(32).readahead_slots(), 24u);
  EXPECT_EQ(FetchPool(4).readahead_slots(), 3u);
  EXPECT_EQ(FetchPool(2).readahead_slots(), 1u);
  EXPECT_EQ(FetchPool(1).readahead_slots(), 0u);  // one slot: demand only
}

TEST(FetchPool, ReadaheadNeverStarvesDemand) {
  FetchPool pool(4, 8);
  std::latch first_three(3);
  std::latch release(1);
  std::latch all_done(5);
  std::atomic<int> started{0};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.submit(Kind::kReadahead, [&] {
      if (started.fetch_add(1) < 3) first_three.count_down();
      release.wait();
      all_done.count_down();
    }));
  }
  first_three.wait();
  // Readahead holds its three slots; two tasks wait although a slot is free.
  EXPECT_EQ(pool.readahead_inflight(), 3u);
  EXPECT_EQ(pool.queued(Kind::kReadahead), 2u);
  EXPECT_EQ(started.load(), 3);

  // A demand task runs in the reserved slot while readahead is stuck.
  std::promise<void> ran;
  ASSERT_TRUE(pool.submit(Kind::kDemand, [&] { ran.set_value(); }));
  ran.get_future().wait();

  // A demand read on the caller's own thread can take the reserved slot too (once the task
  // above has returned it), and then the pool is full.
  FetchPool::Slot slot = pool.acquire_demand();
  EXPECT_TRUE(slot.held());
  EXPECT_EQ(pool.inflight(), 4u);
  EXPECT_FALSE(pool.try_acquire_demand().has_value());
  slot.release();
  EXPECT_EQ(pool.inflight(), 3u);

  release.count_down();
  all_done.wait();
  EXPECT_EQ(started.load(), 5);
}

TEST(FetchPool, DemandMayUseEverySlot) {
  FetchPool pool(4);
  std::vector<FetchPool::Slot> slots;
  for (int i = 0; i < 4; ++i) slots.push_back(pool.acquire_demand());
  EXPECT_EQ(pool.inflight(), 4u);
  EXPECT_FALSE(pool.try_acquire_demand().has_value());

  // Readahead waits for a slot while demand holds them all.
  std::promise<void> ran;
  ASSERT_TRUE(pool.submit(Kind::kReadahead, [&] { ran.set_value(); }));
  EXPECT_EQ(pool.readahead_inflight(), 0u);
  slots.pop_back();
  ran.get_future().wait();
}

TEST(FetchPool, ReadaheadQueueIsBounded) {
  FetchPool pool(2, 1);  // one readahead slot, one queued
  std::latch running(1);
  std::latch release(1);
  ASSERT_TRUE(pool.submit(Kind::kReadahead, [&] {
    running.count_down();
    release.wait();
  }));
  running.wait();
  EXPECT_TRUE(pool.submit(Kind::kReadahead, [] {}));
  EXPECT_FALSE(pool.submit(Kind::kReadahead, [] {}));  // refused: retried by a later read
  release.count_down();
}

TEST(FetchPool, StopRefusesWorkAndRunsQueuedDemand) {
  FetchPool pool(2);
  std::latch both_running(2);
  std::latch release(1);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(pool.submit(Kind::kDemand, [&] {
      both_running.count_down();
      release.wait();
    }));
  }
  both_running.wait();
  // Both slots busy: these two stay queued.
  std::atomic<int> demand_ran{0};
  ASSERT_TRUE(pool.submit(Kind::kDemand, [&] { demand_ran++; }));
  // Dropping the queued readahead task (destroying its closure) is what releases the busy
  // tasks, so the test cannot pass unless stop() drops it.
  struct OnDestroy {
    explicit OnDestroy(std::latch* l) : latch(l) {}
    OnDestroy(const OnDestroy&) = delete;
    OnDestroy& operator=(const OnDestroy&) = delete;
    ~OnDestroy() { latch->count_down(); }
    std::latch* latch;
  };
  auto guard = std::make_shared<OnDestroy>(&release);
  std::atomic<int> readahead_ran{0};
  ASSERT_TRUE(pool.submit(Kind::kReadahead, [guard, &readahead_ran] { readahead_ran++; }));
  guard.reset();
  pool.stop();  // drops readahead, then runs the queued demand task before joining
  EXPECT_EQ(demand_ran, 1);
  EXPECT_EQ(readahead_ran, 0);
  EXPECT_FALSE(pool.submit(Kind::kDemand, [] {}));
  EXPECT_FALSE(pool.acquire_demand().held());
}

}  // namespace
}  // namespace alluxio_fuse::cache
