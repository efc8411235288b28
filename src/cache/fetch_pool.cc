// FetchPool: one mutex, two queues and a slot count. A pool thread takes a demand task
// whenever a slot is free, and a readahead task only while readahead holds fewer than its
// share of the slots; callers running a demand fetch on their own thread take slots from the
// same count. There are max_inflight threads, so a free slot never waits for a thread.
#include "alluxio_fuse/cache/fetch_pool.h"

#include <algorithm>

#include "alluxio_fuse/common/thread_name.h"

namespace alluxio_fuse::cache {

FetchPool::Slot& FetchPool::Slot::operator=(Slot&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = o.pool_;
    o.pool_ = nullptr;
  }
  return *this;
}

void FetchPool::Slot::release() {
  if (pool_ != nullptr) {
    pool_->release_slot();
    pool_ = nullptr;
  }
}

FetchPool::FetchPool(size_t max_inflight, size_t max_queued_readahead)
    : max_inflight_(std::max<size_t>(1, max_inflight)),
      // A quarter reserved for demand, at least one slot (so one slot means no readahead).
      readahead_slots_(max_inflight_ - std::max<size_t>(1, max_inflight_ / 4)),
      max_queued_readahead_(max_queued_readahead == 0 ? max_inflight_ : max_queued_readahead) {
  threads_.reserve(max_inflight_);
  for (size_t i = 0; i < max_inflight_; ++i) {
    threads_.push_back(common::named_thread("af-fetch", [this] { worker_loop(); }));
  }
}

FetchPool::~FetchPool() { stop(); }

bool FetchPool::submit(Kind kind, std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    if (kind == Kind::kReadahead) {
      if (readahead_slots_ == 0 || readahead_q_.size() >= max_queued_readahead_) return false;
      readahead_q_.push_back(std::move(task));
    } else {
      demand_q_.push_back(std::move(task));
    }
  }
  // Pool threads are interchangeable: if the woken one cannot take the task (no slot free),
  // none could, and the thread that frees a slot takes it on its way back.
  work_cv_.notify_one();
  return true;
}

FetchPool::Slot FetchPool::acquire_demand() {
  std::unique_lock<std::mutex> lock(mu_);
  slot_cv_.wait(lock, [&] { return stopping_ || inflight_ < max_inflight_; });
  if (stopping_) return Slot();
  ++inflight_;
  return Slot(this);
}

std::optional<FetchPool::Slot> FetchPool::try_acquire_demand() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || inflight_ >= max_inflight_) return std::nullopt;
  ++inflight_;
  return Slot(this);
}

void FetchPool::release_slot() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --inflight_;
  }
  // One slot is free: either a pool thread (queued work) or a caller may take it. Waking one of
  // each is enough; the one that loses the race waits again.
  work_cv_.notify_one();
  slot_cv_.notify_one();
}

void FetchPool::stop() {
  std::vector<std::thread> threads;
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped.swap(readahead_q_);
    threads.swap(threads_);
  }
  work_cv_.notify_all();
  slot_cv_.notify_all();
  // Destroy the dropped readahead closures outside the lock and before joining: their
  // captures may be what running tasks wait for.
  dropped.clear();
  for (auto& t : threads) t.join();
}

void FetchPool::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto can_demand = [&] { return !demand_q_.empty() && inflight_ < max_inflight_; };
    auto can_readahead = [&] {
      return !stopping_ && !readahead_q_.empty() && inflight_ < max_inflight_ &&
             readahead_inflight_ < readahead_slots_;
    };
    work_cv_.wait(
        lock, [&] { return can_demand() || can_readahead() || (stopping_ && demand_q_.empty()); });
    bool readahead;
    if (can_demand()) {
      readahead = false;
    } else if (can_readahead()) {
      readahead = true;
    } else {
      return;  // stopping and no demand work left
    }
    auto& q = readahead ? readahead_q_ : demand_q_;
    std::function<void()> task = std::move(q.front());
    q.pop_front();
    ++inflight_;
    if (readahead) ++readahead_inflight_;
    lock.unlock();
    task();
    task = nullptr;  // destroy captures before the slot is reused
    lock.lock();
    --inflight_;
    if (readahead) --readahead_inflight_;
    // This thread re-checks the queues itself at the top of the loop, so only a caller waiting
    // for a slot needs waking.
    slot_cv_.notify_one();
  }
}

size_t FetchPool::inflight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inflight_;
}

size_t FetchPool::readahead_inflight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return readahead_inflight_;
}

size_t FetchPool::queued(Kind kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  return kind == Kind::kDemand ? demand_q_.size() : readahead_q_.size();
}

}  // namespace alluxio_fuse::cache
