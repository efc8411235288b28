#pragma once
// RateLimiter answers "should I log this key now?" so a failure repeated by every FUSE request
// produces one line per key per period (semantics.md §5: one line per key per minute), with a
// count of the lines suppressed in between.
//
// Thread-safety: all methods are safe for concurrent use (one internal mutex, never held
// across I/O). Ownership: keeps a non-owning reference to the clock, which must outlive it.
// Memory is bounded by `max_keys`: when full, expired keys are dropped first, then the key
// allowed longest ago (which may then log again early; that is the price of the bound).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "alluxio_fuse/common/clock.h"

namespace alluxio_fuse::log {

class RateLimiter {
 public:
  explicit RateLimiter(const common::Clock& clock,
                       common::Duration period = std::chrono::minutes(1), size_t max_keys = 1024);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // True at most once per `period` for each key. When true and `suppressed` is not null, it
  // receives the number of calls for the key that returned false since the previous true.
  bool should_log(std::string_view key, uint64_t* suppressed = nullptr);

  // Keys currently tracked (for tests of the bound).
  size_t size() const;

 private:
  struct Entry {
    common::TimePoint last;
    uint64_t suppressed = 0;
  };
  void make_room_locked(common::TimePoint now);

  const common::Clock& clock_;
  const common::Duration period_;
  const size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
};

}  // namespace alluxio_fuse::log
