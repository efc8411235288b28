#pragma once
// The router: for a key, the ordered list of workers to try (routing.md §5, §6 step 1).
//
// Ring mode: pick(key, N) from the current membership snapshot, with suspect workers (those
// that answered refused/timeout within their backoff window) moved to the end, order kept.
// Optional node lookup (routing.node_lookup) puts the owner the ring's first pick names first.
// Server mode: [owner, domain] deduplicated, the owner from a per-key node cache (TTL, LRU,
// bounded) filled by an injected resolver (the real one calls GET /v1/node).
//
// Thread-safety: every method may be called from many threads. The resolver is called with no
// lock held. Ownership: the Membership, the Clock and the resolver's captures are non-owning
// and must outlive the Router.

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alluxio_fuse/cluster/membership.h"
#include "alluxio_fuse/cluster/worker.h"
#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::cluster {

struct RouterOptions {
  size_t candidates = 3;  // routing.candidates
  common::Duration suspect_backoff_initial = std::chrono::seconds(5);
  common::Duration suspect_backoff_max = std::chrono::seconds(60);
  bool node_lookup = false;  // ring mode: refine the first pick with the resolver
  common::Duration node_cache_ttl = std::chrono::seconds(30);
  size_t node_cache_max_entries = 100000;
};

// (address to ask, key) -> the owner's Host:HttpServerPort (GET /v1/node).
using NodeResolver =
    std::function<common::Result<WorkerAddress>(const WorkerAddress& ask, std::string_view key)>;

class Router {
 public:
  // Ring mode over `membership`. `resolver` is used only when options.node_lookup.
  Router(Membership& membership, RouterOptions options, common::Clock& clock,
         NodeResolver resolver = nullptr);
  // Server mode: every key is owned by whatever `domain` answers for it.
  Router(WorkerAddress domain, RouterOptions options, common::Clock& clock, NodeResolver resolver);

  bool server_mode() const { return membership_ == nullptr; }

  // The workers to try for `key`, in order. Empty when the ring is empty. In server mode the
  // candidates carry no identity.
  std::vector<Worker> candidates(std::string_view key);

  // Records the outcome of one HTTP attempt to `worker`: kRefused / kTimeout make it suspect
  // (5 s, doubling per further failure up to 60 s); any other state is a reply and clears it.
  void report(const WorkerAddress& worker, http::State state);
  // Drops the node-cache entry of `key` (the owner answered refused/timeout/503).
  void forget(std::string_view key);

  // Whether `worker` is inside its backoff window now.
  bool is_suspect(const WorkerAddress& worker) const;
  // alluxio_fuse_membership_suspect_workers: workers whose last attempt failed with
  // refused/timeout and that have not replied since.
  int64_t suspect_count() const { return suspect_count_.load(); }
  size_t node_cache_size() const;

 private:
  struct Suspect {
    int failures = 0;
    common::TimePoint until;
  };
  struct CacheEntry {
    std::string key;
    WorkerAddress owner;
    common::TimePoint expires;
  };

  std::optional<WorkerAddress> cached_owner(std::string_view key);
  void cache_owner(std::string_view key, const WorkerAddress& owner);
  // Resolves through the node cache, asking `ask` on a miss; nullopt on failure (not cached).
  std::optional<WorkerAddress> lookup_owner(const WorkerAddress& ask, std::string_view key);
  // Stable partition: non-suspects first.
  void demote_suspects(std::vector<Worker>* workers) const;

  Membership* membership_ = nullptr;  // null in server mode
  std::optional<WorkerAddress> domain_;
  const RouterOptions options_;
  common::Clock& clock_;
  NodeResolver resolver_;

  mutable std::mutex suspect_mu_;
  std::unordered_map<std::string, Suspect> suspects_;  // GUARDED_BY(suspect_mu_), by host:port
  std::atomic<int64_t> suspect_count_{0};

  mutable std::mutex cache_mu_;
  std::list<CacheEntry> lru_;  // GUARDED_BY(cache_mu_), most recent first
  std::unordered_map<std::string, std::list<CacheEntry>::iterator> cache_;  // GUARDED_BY(cache_mu_)
};

}  // namespace alluxio_fuse::cluster
