#pragma once
// The fake worker's in-memory page cache: pages keyed by (path_id, page index), bounded by a
// byte capacity with least-recently-used eviction.
//
// Thread-safety: all methods are safe for concurrent use (one mutex; page bytes are immutable
// shared strings, so a reader keeps a page alive after it is evicted). Ownership: owns the pages.

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace alluxio_fuse::fake_worker {

struct StoredPage {
  std::shared_ptr<const std::string> data;
  // "<size>-<mtime_ns>" of the file the page was read from; empty for a POSTed page, which is
  // served as stored.
  std::string version;
};

struct PageListing {
  std::string path_id;
  int64_t page_index = 0;
  int64_t length = 0;
};

class PageStore {
 public:
  explicit PageStore(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Returns the page, or an empty StoredPage (null data) when absent. Marks it recently used.
  StoredPage get(const std::string& path_id, int64_t index);
  void put(const std::string& path_id, int64_t index, StoredPage page);
  // Drops every page of the path_id; returns how many were dropped.
  int drop(const std::string& path_id);
  void clear();
  // Bytes of the path_id's stored pages (for mInAlluxioPercentage).
  int64_t bytes_of(const std::string& path_id);
  std::vector<PageListing> list();

 private:
  using Key = std::pair<std::string, int64_t>;
  struct Entry {
    StoredPage page;
    std::list<Key>::iterator lru;
  };
  void erase_locked(std::map<Key, Entry>::iterator it);

  const int64_t capacity_;
  std::mutex mu_;
  std::map<Key, Entry> pages_;  // GUARDED_BY(mu_), ordered so a path_id is a contiguous range
  std::list<Key> lru_;          // GUARDED_BY(mu_), most recent first
  int64_t bytes_ = 0;           // GUARDED_BY(mu_)
};

}  // namespace alluxio_fuse::fake_worker
