#pragma once
// FetchPool: the bounded pool of page fetches (page-cache.md §4.4). At most `max_inflight`
// fetches hold a slot at once (so page buffers in flight stay ≤ max_inflight × P), and
// readahead may use at most three quarters of the slots: the last quarter (at least one) is
// reserved for demand reads, so readahead never starves a read an application waits for.
//
// Demand fetches either run on a pool thread (submit(kDemand, …)) or on the caller's own
// thread holding a Slot (acquire_demand()). Readahead tasks are refused when their queue is
// full; a refused prefetch is simply retried by a later read.
//
// Thread-safety: all methods are safe to call concurrently. Ownership: owns its threads;
// stop() (or the destructor) refuses new work, drops queued readahead tasks, runs queued
// demand tasks to completion (their callers wait on them) and joins the threads.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace alluxio_fuse::cache {

class FetchPool {
 public:
  enum class Kind { kDemand, kReadahead };

  // RAII hold of one demand slot; empty after stop().
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& o) noexcept : pool_(o.pool_) { o.pool_ = nullptr; }
    Slot& operator=(Slot&& o) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }
    bool held() const { return pool_ != nullptr; }
    void release();

   private:
    friend class FetchPool;
    explicit Slot(FetchPool* pool) : pool_(pool) {}
    FetchPool* pool_ = nullptr;
  };

  // `max_inflight` = page_cache.max_inflight_fetches (≥ 1); `max_queued_readahead` bounds the
  // readahead queue (0 = max_inflight).
  explicit FetchPool(size_t max_inflight, size_t max_queued_readahead = 0);
  ~FetchPool();
  FetchPool(const FetchPool&) = delete;
  FetchPool& operator=(const FetchPool&) = delete;

  // Queues `task` for a pool thread. False (task not run) after stop(), or for readahead when
  // the readahead queue is full.
  bool submit(Kind kind, std::function<void()> task);

  // Blocks until a slot is free; an empty Slot after stop().
  Slot acquire_demand();
  std::optional<Slot> try_acquire_demand();

  void stop();

  size_t max_inflight() const { return max_inflight_; }
  size_t readahead_slots() const { return readahead_slots_; }
  size_t inflight() const;
  size_t readahead_inflight() const;
  size_t queued(Kind kind) const;

 private:
  void worker_loop();
  void release_slot();

  const size_t max_inflight_;
  const size_t readahead_slots_;
  const size_t max_queued_readahead_;

  mutable std::mutex mu_;
  // Pool threads wait on work_cv_, acquire_demand() callers on slot_cv_: each event wakes one
  // waiter of the kind it can unblock, not every thread of the pool.
  std::condition_variable work_cv_;
  std::condition_variable slot_cv_;
  std::deque<std::function<void()>> demand_q_;     // GUARDED_BY(mu_)
  std::deque<std::function<void()>> readahead_q_;  // GUARDED_BY(mu_)
  size_t inflight_ = 0;                            // GUARDED_BY(mu_), all holders
  size_t readahead_inflight_ = 0;                  // GUARDED_BY(mu_)
  bool stopping_ = false;                          // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace alluxio_fuse::cache
