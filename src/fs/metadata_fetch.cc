// Store requests behind metadata-cache misses, coalesced per key (singleflight).
//
// Design note: many threads missing on one path or directory at once (a data loader's start,
// `ls` of a big directory from several shells) must cost one worker request. The first miss
// leads a flight; the others wait for its result, error included. The flight key carries the
// cache's invalidation generation read before the request: a miss after one of our own
// mutations sees a newer generation and starts its own flight instead of receiving a result
// fetched before the mutation, and the leader's put is dropped by the cache when the
// generation moved on while it was in flight (a pre-mutation result is never cached).
#include <algorithm>

#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/fs/file_system.h"

namespace alluxio_fuse::fs {

namespace {

std::string flight_key(MetadataCache::Generation generation, const std::string& key) {
  return std::to_string(generation) + ":" + key;
}

}  // namespace

Result<store::FileInfo> FileSystem::stat_coalesced(const std::string& key) {
  const auto generation = meta_.generation();
  auto info = stat_flights_.run(
      flight_key(generation, key),
      [&]() -> Result<store::FileInfo> {
        auto got = store_.stat(key);
        if (got.ok()) {
          meta_.put_attr(key, *got, generation);
        } else if (got.status().code() == common::Code::kNotFound) {
          meta_.put_negative(key, generation);
        }
        return got;
      },
      &stats_.meta_coalesced);
  return info;
}

Result<Listing> FileSystem::list_coalesced(const std::string& key) {
  const auto generation = meta_.generation();
  auto listing = list_flights_.run(
      flight_key(generation, key),
      [&]() -> Result<Listing> {
        auto got = store_.list(key);
        if (!got.ok()) return got.status();
        // Worker listings may repeat a name; the first one wins (worker-rest.md §3.2).
        auto entries = std::make_shared<std::vector<store::FileInfo>>();
        entries->reserve(got->size());
        for (auto& child : *got) {
          if (!common::is_valid_name(child.name)) continue;
          entries->push_back(std::move(child));
        }
        std::stable_sort(
            entries->begin(), entries->end(),
            [](const store::FileInfo& a, const store::FileInfo& b) { return a.name < b.name; });
        entries->erase(std::unique(entries->begin(), entries->end(),
                                   [](const store::FileInfo& a, const store::FileInfo& b) {
                                     return a.name == b.name;
                                   }),
                       entries->end());
        Listing snapshot = std::move(entries);
        meta_.put_listing(key, snapshot, generation);
        return snapshot;
      },
      &stats_.meta_coalesced);
  return listing;
}

}  // namespace alluxio_fuse::fs
