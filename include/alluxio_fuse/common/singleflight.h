#pragma once
// Coalesces concurrent calls for the same key into one: the first caller (the leader) runs the
// function; callers that arrive while it runs wait and receive a copy of the same result (or
// the same exception). A call that arrives after the leader finished starts a new flight, so a
// result is never served from here once it is complete; caching is the caller's business.
//
// Callers that must not share a result across a mutation put a version into the key (the
// metadata cache's invalidation generation): a caller that sees the newer version starts its
// own flight instead of joining one that began before the mutation.
//
// Thread-safety: all methods are safe concurrently. The map mutex is a leaf and is never held
// while the function runs. Ownership: results are copied out; T must be copyable.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace alluxio_fuse::common {

template <typename T>
class SingleFlight {
 public:
  // Returns fn()'s result, running fn only when no call for `key` is in flight. A caller that
  // joins another's flight increments `*join_counter` (optional) as it joins, before waiting.
  template <typename Fn>
  T run(const std::string& key, Fn&& fn, std::atomic<uint64_t>* join_counter = nullptr) {
    std::shared_ptr<Call> call;
    bool leader = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& slot = calls_[key];
      if (!slot) {
        slot = std::make_shared<Call>();
        leader = true;
      } else {
        joined_.fetch_add(1, std::memory_order_relaxed);
        if (join_counter != nullptr) join_counter->fetch_add(1, std::memory_order_relaxed);
      }
      call = slot;
    }
    if (!leader) {
      std::unique_lock<std::mutex> lock(call->mu);
      call->cv.wait(lock, [&] { return call->done; });
      if (call->error) std::rethrow_exception(call->error);
      return *call->value;
    }
    std::optional<T> value;
    std::exception_ptr error;
    try {
      value.emplace(fn());
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.erase(key);  // later callers start a new flight
    }
    {
      std::lock_guard<std::mutex> lock(call->mu);
      call->value = value;
      call->error = error;
      call->done = true;
    }
    call->cv.notify_all();
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }

  // Callers that joined a flight instead of starting one, since construction. A caller is
  // counted when it joins, before it waits, so tests can order threads on it.
  uint64_t joined() const { return joined_.load(std::memory_order_relaxed); }

  // Flights now running.
  size_t in_flight() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_.size();
  }

 private:
  struct Call {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;         // GUARDED_BY(mu)
    std::optional<T> value;    // GUARDED_BY(mu)
    std::exception_ptr error;  // GUARDED_BY(mu)
  };

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Call>> calls_;  // GUARDED_BY(mu_)
  std::atomic<uint64_t> joined_{0};
};

}  // namespace alluxio_fuse::common
