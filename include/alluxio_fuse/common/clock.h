#pragma once
// Injected time, so TTL and backoff tests need no sleeps.
// Thread-safety: implementations are safe for concurrent use.

#include <atomic>
#include <chrono>

namespace alluxio_fuse::common {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time for TTLs, deadlines and backoff.
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

// Tests advance it by hand.
class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return TimePoint(Duration(ns_.load())); }
  void advance(Duration d) { ns_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> ns_{1'000'000'000};
};

}  // namespace alluxio_fuse::common
