#pragma once
// Readahead: the per-handle state machine of page-cache.md §5, pure logic.
//
// A read at `off` is sequential if next − 2·max_read ≤ off ≤ next + W; then the window W
// becomes initial_window (W = 0) or min(2·W, max_window), and every page overlapping
// [off + len, off + len + W) and before EOF that is neither cached nor already being fetched
// for this handle is returned for prefetching, at most per_file_fetches in flight. A jump sets
// W = 0 (no readahead until the reader is sequential again).
//
// Thread-safety: none; the owning read handle serialises calls under its own mutex.
// Ownership: plain value state.

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_set>
#include <vector>

namespace alluxio_fuse::cache {

struct ReadaheadOptions {
  bool enabled = true;                       // page_cache.readahead.enabled
  uint64_t page_size = 1 << 20;              // P
  uint64_t initial_window = 1 << 20;         // rounded up to whole pages
  uint64_t max_window = uint64_t{32} << 20;  // rounded up to whole pages, ≥ initial
  uint32_t per_file_fetches = 8;
  uint64_t max_read = uint64_t{128} * 1024;  // the kernel's largest single read
};

class Readahead {
 public:
  explicit Readahead(ReadaheadOptions options);

  // Records a read of `len` bytes at `off` and returns the page indices to prefetch now (in
  // ascending order), which count as in flight until fetch_done(). `file_size` nullopt (size
  // unknown) means no readahead. `cached(i)` tells whether page i is already in the cache.
  std::vector<uint64_t> on_read(uint64_t off, uint64_t len, std::optional<uint64_t> file_size,
                                const std::function<bool(uint64_t)>& cached);

  // A prefetch returned by on_read finished (or was refused).
  void fetch_done(uint64_t page_index);

  uint64_t window() const { return window_; }
  uint64_t next() const { return next_; }
  size_t in_flight() const { return in_flight_.size(); }
  uint64_t initial_window() const { return initial_; }
  uint64_t max_window() const { return max_; }

 private:
  const ReadaheadOptions options_;
  const uint64_t initial_;
  const uint64_t max_;
  uint64_t next_ = 0;
  uint64_t window_ = 0;
  std::unordered_set<uint64_t> in_flight_;
};

}  // namespace alluxio_fuse::cache
