// HandoffPool: every submitted job runs once, the most recently idle thread takes the next job,
// jobs wait in order while every thread is busy, and stop() finishes what was submitted.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "alluxio_fuse/common/handoff_pool.h"

namespace alluxio_fuse::common {
namespace {

// Jobs are ints; each records the thread that ran it. A closed gate holds every job.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  std::vector<int> order;
  std::map<int, std::thread::id> ran_on;
  int started = 0;

  void run(void* job) {
    std::unique_lock<std::mutex> lock(mu);
    ++started;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
    const int id = *static_cast<int*>(job);
    order.push_back(id);
    ran_on[id] = std::this_thread::get_id();
    cv.notify_all();
  }
  void wait_done(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return order.size() >= n; });
  }
  void wait_started(int n) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return started >= n; });
  }
  void set_open(bool v) {
    std::lock_guard<std::mutex> lock(mu);
    open = v;
    cv.notify_all();
  }
};

void wait_idle(const HandoffPool& pool, size_t n) {
  while (pool.idle() != n) std::this_thread::yield();
}

TEST(HandoffPool, RunsEveryJobOnceAndCallsOnStartOnEveryThread) {
  Recorder rec;
  std::atomic<int> starts{0};
  std::vector<int> ids(200);
  {
    HandoffPool pool(
        4, "af-test-pool", [&](void* j) { rec.run(j); }, [&] { ++starts; });
    EXPECT_EQ(pool.threads(), 4U);
    for (int i = 0; i < 200; ++i) {
      ids[i] = i;
      pool.submit(&ids[i]);
    }
    rec.wait_done(200);
  }
  EXPECT_EQ(starts.load(), 4);
  std::vector<int> sorted = rec.order;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 200; ++i) EXPECT_EQ(sorted[i], i);
}

TEST(HandoffPool, TheMostRecentlyIdleThreadTakesTheNextJob) {
  Recorder rec;
  HandoffPool pool(3, "af-test-pool", [&](void* j) { rec.run(j); });
  wait_idle(pool, 3);
  int a = 1;
  int b = 2;
  int c = 3;
  pool.submit(&a);
  rec.wait_done(1);
  wait_idle(pool, 3);
  pool.submit(&b);
  rec.wait_done(2);
  wait_idle(pool, 3);
  pool.submit(&c);
  rec.wait_done(3);
  EXPECT_EQ(rec.ran_on[1], rec.ran_on[2]);
  EXPECT_EQ(rec.ran_on[2], rec.ran_on[3]);
}

TEST(HandoffPool, JobsWaitInOrderWhileEveryThreadIsBusyAndStopFinishesThem) {
  // One thread, so the order in which the queued jobs run is the order they are taken in.
  Recorder rec;
  rec.set_open(false);
  HandoffPool pool(1, "af-test-pool", [&](void* j) { rec.run(j); });
  std::vector<int> ids = {0, 1, 2, 3, 4};
  pool.submit(&ids[0]);
  rec.wait_started(1);  // the thread holds job 0; the rest queue
  for (int i = 1; i < 5; ++i) pool.submit(&ids[i]);
  std::thread stopper([&] { pool.stop(); });
  while (!pool.stopping()) std::this_thread::yield();
  rec.set_open(true);  // the queued jobs run after stop() began
  stopper.join();
  EXPECT_EQ(rec.order, (std::vector<int>{0, 1, 2, 3, 4}));
  int late = 9;
  pool.submit(&late);  // after stop(): not run
  pool.stop();         // idempotent
  EXPECT_EQ(rec.order.size(), 5U);
}

}  // namespace
}  // namespace alluxio_fuse::common
