// LRU over a std::map (ordered by path_id then index, so dropping a file's pages is one range)
// and a recency list. Pages are shared immutable strings: eviction never invalidates a reply
// being sent.
#include "page_store.h"

namespace alluxio_fuse::fake_worker {

StoredPage PageStore::get(const std::string& path_id, int64_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pages_.find(Key(path_id, index));
  if (it == pages_.end()) return {};
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.page;
}

void PageStore::put(const std::string& path_id, int64_t index, StoredPage page) {
  if (!page.data) return;
  const auto size = static_cast<int64_t>(page.data->size());
  if (size > capacity_) return;
  std::lock_guard<std::mutex> lock(mu_);
  Key key(path_id, index);
  if (auto it = pages_.find(key); it != pages_.end()) erase_locked(it);
  while (bytes_ + size > capacity_ && !lru_.empty()) erase_locked(pages_.find(lru_.back()));
  lru_.push_front(key);
  pages_.emplace(key, Entry{std::move(page), lru_.begin()});
  bytes_ += size;
}

void PageStore::erase_locked(std::map<Key, Entry>::iterator it) {
  bytes_ -= static_cast<int64_t>(it->second.page.data->size());
  lru_.erase(it->second.lru);
  pages_.erase(it);
}

int PageStore::drop(const std::string& path_id) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  auto it = pages_.lower_bound(Key(path_id, INT64_MIN));
  while (it != pages_.end() && it->first.first == path_id) {
    auto next = std::next(it);
    erase_locked(it);
    it = next;
    ++n;
  }
  return n;
}

void PageStore::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  pages_.clear();
  lru_.clear();
  bytes_ = 0;
}

int64_t PageStore::bytes_of(const std::string& path_id) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t total = 0;
  for (auto it = pages_.lower_bound(Key(path_id, INT64_MIN));
       it != pages_.end() && it->first.first == path_id; ++it) {
    total += static_cast<int64_t>(it->second.page.data->size());
  }
  return total;
}

std::vector<PageListing> PageStore::list() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PageListing> out;
  out.reserve(pages_.size());
  for (const auto& [key, entry] : pages_) {
    out.push_back({key.first, key.second, static_cast<int64_t>(entry.page.data->size())});
  }
  return out;
}

}  // namespace alluxio_fuse::fake_worker
