#pragma once
// A fixed set of named threads that run the jobs handed to them. An idle thread takes the next
// job as soon as it is submitted; the most recently idle thread goes first (a stack, not a queue
// of waiters), so a stream of one or two jobs at a time keeps using the same warm threads
// instead of cycling through all of them. Jobs submitted while every thread is busy wait in
// FIFO order. Used by the FUSE-over-io_uring transport for the requests its queue threads hand
// over (fuse/uring.cc).

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace alluxio_fuse::common {

class HandoffPool {
 public:
  // `threads` (at least 1) threads named `name`; each calls `on_start` once, then `run(job)`
  // for every job it takes.
  HandoffPool(unsigned threads, const std::string& name, std::function<void(void*)> run,
              std::function<void()> on_start = {});
  ~HandoffPool();  // stop()
  HandoffPool(const HandoffPool&) = delete;
  HandoffPool& operator=(const HandoffPool&) = delete;

  void submit(void* job);
  // Threads finish the jobs already submitted, then end; joins them. Idempotent. Jobs
  // submitted after it are not run.
  void stop();
  size_t threads() const { return workers_.size(); }
  size_t idle() const;    // threads waiting for a job
  bool stopping() const;  // stop() has begun

 private:
  struct Worker {
    std::condition_variable cv;
    void* job = nullptr;  // GUARDED_BY(mu_)
    std::thread thread;
  };
  void loop(Worker* self);

  std::function<void(void*)> run_;
  std::function<void()> on_start_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<Worker*> idle_;  // GUARDED_BY(mu_): most recently idle last
  std::deque<void*> queue_;    // GUARDED_BY(mu_): waiting for a free thread
  bool stopping_ = false;      // GUARDED_BY(mu_)
};

}  // namespace alluxio_fuse::common
