// Candidate selection. Suspicion is kept per address (host:port), apart from the ring, so a
// flapping worker never moves keys; it only changes the order in which candidates are tried.
// The node cache is a classic list + hash-map LRU; the resolver (network) runs outside the
// cache lock, so two concurrent misses on one key may both ask — harmless, and cheaper than
// holding a lock across I/O.
#include "alluxio_fuse/cluster/router.h"

#include <algorithm>

namespace alluxio_fuse::cluster {

Router::Router(Membership& membership, RouterOptions options, common::Clock& clock,
               NodeResolver resolver)
    : membership_(&membership), options_(options), clock_(clock), resolver_(std::move(resolver)) {}

Router::Router(WorkerAddress domain, RouterOptions options, common::Clock& clock,
               NodeResolver resolver)
    : domain_(std::move(domain)),
      options_(options),
      clock_(clock),
      resolver_(std::move(resolver)) {}

std::vector<Worker> Router::candidates(std::string_view key) {
  std::vector<Worker> out;
  if (server_mode()) {
    if (auto owner = lookup_owner(*domain_, key); owner && !(*owner == *domain_)) {
      out.push_back(Worker{WorkerIdentity{}, *owner});
    }
    out.push_back(Worker{WorkerIdentity{}, *domain_});
  } else {
    std::shared_ptr<const Snapshot> snap = membership_->snapshot();
    out = snap->ring.pick(key, std::max<size_t>(options_.candidates, 1));
    if (options_.node_lookup && resolver_ && !out.empty()) {
      if (auto owner = lookup_owner(out.front().address, key)) {
        auto it = std::find_if(out.begin(), out.end(),
                               [&](const Worker& w) { return w.address == *owner; });
        if (it != out.end()) {
          std::rotate(out.begin(), it, it + 1);
        } else {
          // An owner outside our picks (membership lag): try it first; its identity is unknown.
          out.insert(out.begin(), Worker{WorkerIdentity{}, *owner});
        }
      }
    }
  }
  demote_suspects(&out);
  return out;
}

void Router::demote_suspects(std::vector<Worker>* workers) const {
  if (suspect_count_.load() == 0) return;
  const common::TimePoint now = clock_.now();
  std::lock_guard<std::mutex> lock(suspect_mu_);
  std::stable_partition(workers->begin(), workers->end(), [&](const Worker& w) {
    auto it = suspects_.find(w.address.to_string());
    return it == suspects_.end() || it->second.until <= now;
  });
}

void Router::report(const WorkerAddress& worker, http::State state) {
  const std::string id = worker.to_string();
  std::lock_guard<std::mutex> lock(suspect_mu_);
  if (state == http::State::kRefused || state == http::State::kTimeout) {
    auto [it, inserted] = suspects_.try_emplace(id);
    Suspect& s = it->second;
    common::Duration window = options_.suspect_backoff_initial;
    for (int i = 0; i < s.failures && window < options_.suspect_backoff_max; ++i) window *= 2;
    window = std::min(window, options_.suspect_backoff_max);
    ++s.failures;
    s.until = clock_.now() + window;
    if (inserted) suspect_count_.fetch_add(1);
    return;
  }
  if (suspects_.erase(id) > 0) suspect_count_.fetch_sub(1);
}

bool Router::is_suspect(const WorkerAddress& worker) const {
  std::lock_guard<std::mutex> lock(suspect_mu_);
  auto it = suspects_.find(worker.to_string());
  return it != suspects_.end() && it->second.until > clock_.now();
}

std::optional<WorkerAddress> Router::cached_owner(std::string_view key) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = cache_.find(std::string(key));
  if (it == cache_.end()) return std::nullopt;
  if (it->second->expires <= clock_.now()) {
    lru_.erase(it->second);
    cache_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->owner;
}

void Router::cache_owner(std::string_view key, const WorkerAddress& owner) {
  if (options_.node_cache_max_entries == 0 || options_.node_cache_ttl <= common::Duration::zero()) {
    return;
  }
  std::lock_guard<std::mutex> lock(cache_mu_);
  const common::TimePoint expires = clock_.now() + options_.node_cache_ttl;
  std::string k(key);
  if (auto it = cache_.find(k); it != cache_.end()) {
    it->second->owner = owner;
    it->second->expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(CacheEntry{k, owner, expires});
  cache_.emplace(std::move(k), lru_.begin());
  while (cache_.size() > options_.node_cache_max_entries) {
    cache_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

std::optional<WorkerAddress> Router::lookup_owner(const WorkerAddress& ask, std::string_view key) {
  if (auto hit = cached_owner(key)) return hit;
  if (!resolver_) return std::nullopt;
  auto owner = resolver_(ask, key);
  // Any failure: use the worker we asked for this operation, and do not cache (routing.md §5).
  if (!owner.ok() || owner->host.empty()) return std::nullopt;
  cache_owner(key, *owner);
  return std::move(owner).value();
}

void Router::forget(std::string_view key) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = cache_.find(std::string(key));
  if (it == cache_.end()) return;
  lru_.erase(it->second);
  cache_.erase(it);
}

size_t Router::node_cache_size() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_.size();
}

}  // namespace alluxio_fuse::cluster
