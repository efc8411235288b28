// Design: a map from key to the time it was last allowed plus a suppressed counter. Eviction
// runs only when a new key arrives at a full map, so the common path (a known key) is one hash
// lookup under the mutex.
#include "alluxio_fuse/log/rate_limit.h"

namespace alluxio_fuse::log {

RateLimiter::RateLimiter(const common::Clock& clock, common::Duration period, size_t max_keys)
    : clock_(clock), period_(period), max_keys_(max_keys == 0 ? 1 : max_keys) {}

bool RateLimiter::should_log(std::string_view key, uint64_t* suppressed) {
  const common::TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) make_room_locked(now);
    entries_.emplace(std::string(key), Entry{now, 0});
    if (suppressed != nullptr) *suppressed = 0;
    return true;
  }
  Entry& e = it->second;
  if (now - e.last < period_) {
    ++e.suppressed;
    return false;
  }
  if (suppressed != nullptr) *suppressed = e.suppressed;
  e.last = now;
  e.suppressed = 0;
  return true;
}

size_t RateLimiter::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void RateLimiter::make_room_locked(common::TimePoint now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now - it->second.last >= period_ ? entries_.erase(it) : std::next(it);
  }
  while (entries_.size() >= max_keys_) {
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.last < oldest->second.last) oldest = it;
    }
    entries_.erase(oldest);
  }
}

}  // namespace alluxio_fuse::log
