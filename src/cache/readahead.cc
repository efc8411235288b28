// Readahead window arithmetic (page-cache.md §5). Comparisons are rearranged so that no
// unsigned subtraction can wrap (next − 2·max_read ≤ off  ⇔  next ≤ off + 2·max_read).
#include "alluxio_fuse/cache/readahead.h"

#include <algorithm>

namespace alluxio_fuse::cache {
namespace {

uint64_t round_up(uint64_t v, uint64_t unit) { return (v + unit - 1) / unit * unit; }

}  // namespace

Readahead::Readahead(ReadaheadOptions options)
    : options_(options),
      initial_(round_up(std::max<uint64_t>(options.initial_window, 1),
                        std::max<uint64_t>(options.page_size, 1))),
      max_(std::max(initial_,
                    round_up(options.max_window, std::max<uint64_t>(options.page_size, 1)))) {}

std::vector<uint64_t> Readahead::on_read(uint64_t off, uint64_t len,
                                         std::optional<uint64_t> file_size,
                                         const std::function<bool(uint64_t)>& cached) {
  const bool sequential = next_ <= off + 2 * options_.max_read && off <= next_ + window_;
  next_ = off + len;
  std::vector<uint64_t> pages;
  if (!options_.enabled || options_.page_size == 0) return pages;
  if (!sequential) {
    window_ = 0;
    return pages;
  }
  window_ = window_ == 0 ? initial_ : std::min(2 * window_, max_);
  if (!file_size) return pages;

  const uint64_t start = off + len;
  const uint64_t end = std::min(start + window_, *file_size);
  if (start >= end) return pages;
  const uint64_t first = start / options_.page_size;
  const uint64_t last = (end - 1) / options_.page_size;
  for (uint64_t i = first; i <= last; ++i) {
    if (in_flight_.size() >= options_.per_file_fetches) break;
    if (in_flight_.count(i) != 0 || (cached && cached(i))) continue;
    in_flight_.insert(i);
    pages.push_back(i);
  }
  return pages;
}

void Readahead::fetch_done(uint64_t page_index) { in_flight_.erase(page_index); }

}  // namespace alluxio_fuse::cache
