#pragma once
// Metadata cache of the core: attributes (positive and negative) and directory listings by
// key, each with a TTL from the injected clock, bounded by an LRU on the number of entries.
//
// Thread-safety: all methods are safe concurrently (one mutex, a leaf in the core's lock
// order: nothing else is locked while it is held, and it is never held across I/O).
// Memory (tests/unit/fs_metadata_memory_test, 54-byte keys): ≈590 bytes per attribute entry;
// a listing is one entry holding ≈300 bytes per child and seeds one attribute entry per child.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/store/store.h"

namespace alluxio_fuse::fs {

using Listing = std::shared_ptr<const std::vector<store::FileInfo>>;

class MetadataCache {
 public:
  struct Options {
    std::chrono::nanoseconds ttl{std::chrono::seconds(60)};
    std::chrono::nanoseconds negative_ttl{std::chrono::seconds(5)};
    size_t max_entries = 100000;
  };

  // An attribute lookup: `info` empty means a cached negative entry (ENOENT).
  struct AttrHit {
    std::optional<store::FileInfo> info;
    std::chrono::nanoseconds remaining{0};  // time left to live, for kernel timeouts
  };

  MetadataCache(Options options, const common::Clock& clock);

  // Bumped by every invalidation. A caller that fetched from the store passes the generation
  // it read before the fetch to a put; the put is dropped when an invalidation happened since,
  // so a result from before a mutation is never cached after it.
  using Generation = uint64_t;
  static constexpr Generation kAnyGeneration = ~Generation{0};
  Generation generation() const { return generation_.load(std::memory_order_acquire); }

  std::optional<AttrHit> get_attr(const std::string& key);
  void put_attr(const std::string& key, const store::FileInfo& info,
                Generation fetched_at = kAnyGeneration);
  void put_negative(const std::string& key, Generation fetched_at = kAnyGeneration);

  // A fresh listing of directory `key`, if cached.
  std::optional<Listing> get_listing(const std::string& key, std::chrono::nanoseconds* remaining);
  // Stores a listing and seeds every child's attributes (readdirplus needs no per-entry stat).
  void put_listing(const std::string& key, Listing listing, Generation fetched_at = kAnyGeneration);

  // Invalidations bump the generation.
  // Drops the key's attributes and listing, and its parent's listing (own mutations).
  void invalidate(const std::string& key, const std::string& parent_key);
  // Drops everything under `key` (directory rename, failed partial operations).
  void invalidate_prefix(const std::string& key);
  void clear();

  size_t size() const;
  const Options& options() const { return options_; }

 private:
  struct Item {
    std::optional<store::FileInfo> info;  // attr entry; nullopt = negative
    Listing listing;                      // set for listing entries
    common::TimePoint expires;
    std::list<std::string>::iterator lru;
  };

  // Two key spaces in one LRU: "a<key>" for attributes, "l<key>" for listings.
  void put_locked(std::string id, Item item);
  void erase_locked(const std::string& id);
  void evict_locked();
  bool stale_locked(Generation fetched_at) const {
    return fetched_at != kAnyGeneration && fetched_at != generation_.load();
  }

  Options options_;
  const common::Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Item> items_;  // GUARDED_BY(mu_)
  std::list<std::string> lru_;                   // GUARDED_BY(mu_), front = most recent
  std::atomic<Generation> generation_{0};        // written under mu_, read anywhere
};

}  // namespace alluxio_fuse::fs
