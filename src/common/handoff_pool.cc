#include "alluxio_fuse/common/handoff_pool.h"

#include <algorithm>
#include <utility>

#include "alluxio_fuse/common/thread_name.h"

namespace alluxio_fuse::common {

HandoffPool::HandoffPool(unsigned threads, const std::string& name, std::function<void(void*)> run,
                         std::function<void()> on_start)
    : run_(std::move(run)), on_start_(std::move(on_start)) {
  const unsigned n = std::max(1U, threads);
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>());
  for (auto& w : workers_) {
    Worker* self = w.get();
    w->thread = named_thread(name, [this, self] { loop(self); });
  }
}

HandoffPool::~HandoffPool() { stop(); }

void HandoffPool::submit(void* job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  if (idle_.empty()) {
    queue_.push_back(job);
    return;
  }
  Worker* w = idle_.back();
  idle_.pop_back();
  w->job = job;
  w->cv.notify_one();
}

void HandoffPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  for (auto& w : workers_) w->cv.notify_all();
  for (auto& w : workers_) {
    if (w->thread.joinable() && w->thread.get_id() != std::this_thread::get_id()) {
      w->thread.join();
    }
  }
}

size_t HandoffPool::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

bool HandoffPool::stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

void HandoffPool::loop(Worker* self) {
  if (on_start_) on_start_();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    void* job = self->job;
    self->job = nullptr;
    if (job == nullptr && !queue_.empty()) {
      job = queue_.front();
      queue_.pop_front();
    }
    if (job != nullptr) {
      lock.unlock();
      run_(job);
      lock.lock();
      continue;
    }
    if (stopping_) return;
    idle_.push_back(self);
    self->cv.wait(lock, [&] { return stopping_ || self->job != nullptr; });
    if (self->job == nullptr) {  // stopping, and no job was handed over
      idle_.erase(std::find(idle_.begin(), idle_.end(), self));
      if (queue_.empty()) return;
    }
  }
}

}  // namespace alluxio_fuse::common
