// TTL + LRU metadata cache. Entries expire by the injected clock, so tests advance time
// instead of sleeping. A listing also seeds its children's attributes, which is what makes
// readdirplus and `ls -l` cost one request per directory.
#include "alluxio_fuse/fs/metadata_cache.h"

#include "alluxio_fuse/common/uri.h"

namespace alluxio_fuse::fs {

MetadataCache::MetadataCache(Options options, const common::Clock& clock)
    : options_(options), clock_(clock) {}

std::optional<MetadataCache::AttrHit> MetadataCache::get_attr(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find("a" + key);
  if (it == items_.end()) return std::nullopt;
  auto now = clock_.now();
  if (it->second.expires <= now) {
    erase_locked(it->first);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return AttrHit{it->second.info, it->second.expires - now};
}

void MetadataCache::put_attr(const std::string& key, const store::FileInfo& info,
                             Generation fetched_at) {
  if (options_.ttl.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (stale_locked(fetched_at)) return;
  put_locked("a" + key, Item{info, nullptr, clock_.now() + options_.ttl, {}});
}

void MetadataCache::put_negative(const std::string& key, Generation fetched_at) {
  if (options_.negative_ttl.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (stale_locked(fetched_at)) return;
  put_locked("a" + key, Item{std::nullopt, nullptr, clock_.now() + options_.negative_ttl, {}});
}

std::optional<Listing> MetadataCache::get_listing(const std::string& key,
                                                  std::chrono::nanoseconds* remaining) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find("l" + key);
  if (it == items_.end()) return std::nullopt;
  auto now = clock_.now();
  if (it->second.expires <= now) {
    erase_locked(it->first);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  if (remaining != nullptr) *remaining = it->second.expires - now;
  return it->second.listing;
}

void MetadataCache::put_listing(const std::string& key, Listing listing, Generation fetched_at) {
  if (options_.ttl.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (stale_locked(fetched_at)) return;
  auto expires = clock_.now() + options_.ttl;
  for (const auto& child : *listing) {
    put_locked("a" + common::child_key(key, child.name), Item{child, nullptr, expires, {}});
  }
  put_locked("l" + key, Item{std::nullopt, std::move(listing), expires, {}});
}

void MetadataCache::invalidate(const std::string& key, const std::string& parent_key) {
  std::lock_guard<std::mutex> lock(mu_);
  generation_.fetch_add(1);
  erase_locked("a" + key);
  erase_locked("l" + key);
  erase_locked("l" + parent_key);
}

void MetadataCache::invalidate_prefix(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  generation_.fetch_add(1);
  std::string dir = key + "/";
  for (auto it = items_.begin(); it != items_.end();) {
    std::string_view k = std::string_view(it->first).substr(1);
    if (k == key || k.substr(0, dir.size()) == dir) {
      lru_.erase(it->second.lru);
      it = items_.erase(it);
    } else {
      ++it;
    }
  }
}

void MetadataCache::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  generation_.fetch_add(1);
  items_.clear();
  lru_.clear();
}

size_t MetadataCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return items_.size();
}

void MetadataCache::put_locked(std::string id, Item item) {
  auto it = items_.find(id);
  if (it != items_.end()) {
    item.lru = it->second.lru;
    lru_.splice(lru_.begin(), lru_, item.lru);
    it->second = std::move(item);
    return;
  }
  lru_.push_front(id);
  item.lru = lru_.begin();
  items_.emplace(std::move(id), std::move(item));
  evict_locked();
}

void MetadataCache::erase_locked(const std::string& id) {
  auto it = items_.find(id);
  if (it == items_.end()) return;
  lru_.erase(it->second.lru);
  items_.erase(it);
}

void MetadataCache::evict_locked() {
  // Over the bound: least recently used first. Then expired entries at the cold end, so memory
  // follows the names used within a TTL instead of filling up to max_entries with names that
  // will never be asked for again (a writer making new files, the soak's 30 minutes). Each
  // entry is erased once, so an insert costs O(1) amortised.
  const auto now = clock_.now();
  while (!lru_.empty()) {
    auto it = items_.find(lru_.back());
    if (items_.size() <= options_.max_entries && it->second.expires > now) break;
    items_.erase(it);
    lru_.pop_back();
  }
}

}  // namespace alluxio_fuse::fs
