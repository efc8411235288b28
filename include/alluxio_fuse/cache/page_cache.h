#pragma once
// PageCache: the local on-disk page cache of page-cache.md §4 (verified page files, LRU by
// bytes, atomic writes, restore on restart, single-flight loads).
//
// Responsibility: serve whole pages of one file version from `<dir>/<P>/…`, loading a missing
// page exactly once for all concurrent callers through the caller's Loader, and keep the sum of
// page file sizes (64-byte header + data) within the capacity.
//
// Thread-safety: every public method is safe to call concurrently after open(). No lock is held
// across disk I/O or a Loader call. Lock order: a shard mutex, then `restore_mu_`; the flight,
// background-queue and warning mutexes are leaves, never held with another lock; no thread
// ever holds two shard mutexes.
//
// Ownership: owns its background thread (restore walk, then deletions queued by drop_file)
// and the `.lock` file descriptor; both end in the destructor, which waits for the thread.
// The clock in the options is borrowed and must outlive the cache.
//
// Memory: the index is 64 shards of hash sets of 80-byte nodes (32-byte raw file id, page
// index, LRU links, LRU tick, size, generation, pin count, flags); with the hash-node link,
// glibc malloc rounding and one bucket pointer that is 104 bytes per cached page
// (index_bytes_per_page(); the unit test prints it). Open page files add at most
// max_open_files descriptors and, per open file, its CRC table (1 KiB for 1 MiB pages).

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>

#include "alluxio_fuse/cache/page_file.h"
#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::cache {

namespace internal {
struct Shard;
struct Flight;
struct OpenPage;
struct PageKey;
}  // namespace internal

// Deterministic test seams; empty in production.
struct PageCacheTestHooks {
  // Called with "wait" when a caller joins another caller's load (after registering as a
  // waiter, before blocking), "pinned" when a hit has pinned its page, before reading it, and
  // "restore" on the background thread before the restore walk starts.
  std::function<void(std::string_view event)> on_event;
  // Called before each page file write; a non-zero errno makes that write fail with it.
  std::function<int()> insert_fault;
};

struct PageCacheOptions {
  std::string dir;                         // page_cache.dir
  uint32_t page_size = 1 << 20;            // P; must equal the workers' page size
  uint64_t capacity = uint64_t{10} << 30;  // page_cache.capacity, header + data bytes
  bool enabled = true;                     // page_cache.enabled
  // Verified page files kept open for later hits (also at most a quarter of RLIMIT_NOFILE).
  uint32_t max_open_files = 1024;
  const common::Clock* clock = nullptr;  // WARN rate limit; nullptr = SystemClock
  PageCacheTestHooks hooks;
};

// Counters and gauges for the metrics module (metrics.md §2); read without locks.
struct PageCacheStats {
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> evictions{0};
  std::atomic<uint64_t> corrupt{0};
  std::atomic<uint64_t> bytes{0};  // page file bytes on disk (plus writes in progress)
  std::atomic<uint64_t> pages{0};  // indexed pages
  std::atomic<uint64_t> capacity{0};
  std::atomic<bool> enabled{false};  // false when configured off or after self-disable
  std::atomic<uint64_t> readahead_bytes{0};
  std::atomic<uint64_t> readahead_unused_bytes{0};
};

class PageCache {
 public:
  // Fetches the page's bytes (from a worker or the UFS) into `buf`, at most `cap` bytes, and
  // returns their count. It should reject a body of the wrong length (§1 length checks) with
  // an error, because whatever it returns is stored. It must not throw.
  using Loader = std::function<common::Result<size_t>(char* buf, size_t cap)>;

  explicit PageCache(PageCacheOptions options);
  ~PageCache();
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // Creates the directory, takes the exclusive flock on `<dir>/.lock` (held: kUnavailable
  // naming page_cache.dir), moves `tmp/` and other page-size directories away for background
  // deletion, and starts the restore walk in the background. The cache serves at once: while
  // the walk runs, a miss first looks for the page's file on disk and, if it verifies, adopts
  // it (a hit) instead of loading. With `enabled` false it does nothing.
  common::Status open();

  // Local file id (page-cache.md §3).
  static std::string make_file_id(std::string_view key, std::string_view version_tag) {
    return file_id(key, version_tag);
  }

  // Serves page `page_index` of `file_id` into `buf` (capacity `expected_len`, the largest
  // acceptable page length) and returns its length. A hit is verified (header, path, length,
  // CRC32C of the whole page) before any byte counts as served; a failed check deletes the
  // file and counts it corrupt, then it is a miss. A miss runs `loader` once for all
  // concurrent callers of the same page, who share its result (bytes or error; errors are not
  // cached), stores the page if it can, and returns it. A full or failing cache disk never
  // fails the call. `*hit` (optional) tells whether the bytes came from the cache.
  common::Result<size_t> get_or_load(std::string_view file_id, uint64_t page_index, char* buf,
                                     size_t expected_len, const Loader& loader, bool* hit);

  // A cache hit for bytes [begin, end) of a page only: on a hit, the 4 KiB blocks covering the
  // range are read into `buf` (a page-sized buffer, at their offsets within the page), each
  // verified against its CRC before it counts as served, and the page's length is returned.
  // nullopt on a miss or a failed check (the page is then deleted and counted corrupt, as in
  // get_or_load); the caller then loads the page with get_or_load. Never loads.
  std::optional<size_t> read_cached(std::string_view file_id, uint64_t page_index, size_t begin,
                                    size_t end, char* buf, size_t expected_len);
  // The same for a block-aligned range (`begin` a multiple of kBlockSize, `end` one too or the
  // page's end), with the bytes placed at buf[0 .. end - begin): a 4 KiB read lands straight
  // in its reply buffer, with no page-sized scratch buffer and no copy. nullopt, without
  // touching the page, for an unaligned range.
  std::optional<size_t> read_cached_aligned(std::string_view file_id, uint64_t page_index,
                                            size_t begin, size_t end, char* buf,
                                            size_t expected_len);

  // Readahead: loads and stores the page unless it is cached or already being loaded, using
  // `scratch` (at least `expected_len` bytes) as the buffer. The stored page is marked
  // "prefetched, not yet read" until a read uses it. While the restore walk runs, a verified
  // page file already on disk is adopted instead of loaded. OK when nothing had to be done;
  // `*loaded` (optional) is the page's length when this call loaded it into `scratch` (stored
  // or not), else 0.
  common::Status prefetch(std::string_view file_id, uint64_t page_index, char* scratch,
                          size_t expected_len, const Loader& loader, size_t* loaded = nullptr);

  // A read was served the bytes of a page from memory its reader kept (a readahead's buffer,
  // page-cache.md §4.1): counts a hit and makes the page most recent, as a hit from disk would.
  void note_served(std::string_view file_id, uint64_t page_index);

  // A newer version of the file exists: forgets its pages now and deletes their files in the
  // background.
  void drop_file(std::string_view file_id);

  bool contains(std::string_view file_id, uint64_t page_index) const;

  const PageCacheStats& stats() const { return stats_; }
  bool enabled() const { return active(); }
  uint32_t page_size() const { return options_.page_size; }
  uint64_t capacity() const { return options_.capacity; }

  // Blocks until the restore walk has finished and queued background deletions ran (tests,
  // orderly shutdown).
  void wait_for_background();

  // Index memory per cached page in bytes (see the class comment).
  static size_t index_bytes_per_page();

 private:
  enum class ReadOutcome { kOk, kGone, kCorrupt, kIoError };

  bool active() const { return opened_.load() && stats_.enabled.load(); }
  internal::Shard& shard_for(const internal::PageKey& key) const;

  // Where read_blocks puts the blocks it reads: at their offsets within the page, or packed
  // from the start of the buffer.
  enum class Placement { kPageOffsets, kPacked };

  // A hit fills the 4 KiB blocks covering [begin, end) of the page into `buf` (as `placement`
  // says), each checked against its CRC, and returns the page's length.
  // read_cached / read_cached_aligned: a counted hit of [begin, end) of the page, or nullopt.
  std::optional<size_t> read_range(std::string_view file_id, uint64_t page_index, size_t begin,
                                   size_t end, char* buf, size_t expected_len, Placement placement);
  std::optional<size_t> try_hit(const internal::PageKey& key, std::string_view hex, char* buf,
                                size_t expected_len, size_t begin = 0, size_t end = SIZE_MAX,
                                Placement placement = Placement::kPageOffsets);
  ReadOutcome read_verified(const std::string& path, const internal::PageKey& key, char* buf,
                            size_t expected_len, size_t* len, size_t begin = 0,
                            size_t end = SIZE_MAX) const;
  // Opens a page file and checks its header (path, index, length) and block CRC table; the
  // open file is returned only when all of that holds.
  ReadOutcome open_verified(const std::string& path, const internal::PageKey& key,
                            std::shared_ptr<internal::OpenPage>* out) const;
  // Reads the blocks of an opened page covering [begin, end) into `buf` (at their page offsets,
  // or packed) and checks each against its CRC; a page longer than `expected_len` is corrupt.
  ReadOutcome read_blocks(const internal::OpenPage& page, char* buf, size_t expected_len,
                          size_t begin, size_t end,
                          Placement placement = Placement::kPageOffsets) const;
  // While the restore walk runs: the leader of a miss adopts the page file already on disk if
  // it verifies (indexes it as a live page and publishes it to waiters).
  std::optional<size_t> adopt_restoring(const internal::PageKey& key, std::string_view hex,
                                        const std::shared_ptr<internal::Flight>& flight, char* buf,
                                        size_t expected_len);
  // Marks the flight done with `r` (bytes in `buf`) and wakes its waiters.
  void publish(const std::shared_ptr<internal::Flight>& flight, const common::Result<size_t>& r,
               const char* buf);
  // The leader's half of a single-flight load; publishes the result to waiters.
  common::Result<size_t> lead(const internal::PageKey& key, std::string_view hex,
                              const std::shared_ptr<internal::Flight>& flight, char* buf,
                              size_t cap, const Loader& loader);
  bool store_page(const internal::PageKey& key, std::string_view hex, const char* data, size_t len,
                  const std::shared_ptr<internal::Flight>& flight);
  int write_page_file(const internal::PageKey& key, std::string_view hex, const char* data,
                      size_t len);
  void insert_entry(const internal::PageKey& key, uint32_t bytes,
                    const std::shared_ptr<internal::Flight>& flight);
  bool reserve(uint64_t bytes);
  bool evict_one();
  void evict_bytes(uint64_t bytes);
  void note_io_error(int err, std::string_view what);
  void warn_limited(const std::string& message);
  void hook(std::string_view event) const;

  // Background thread (page_cache_restore.cc).
  void enqueue(std::function<void()> task);
  void background_loop();
  void restore();
  bool dropped_during_restore(const internal::PageKey& key);

  const PageCacheOptions options_;
  const common::Clock& clock_;
  const std::string root_;        // <dir>/<P>
  const std::string tmp_dir_;     // <dir>/<P>/tmp
  const std::string tmp_prefix_;  // <dir>/<P>/tmp/<pid>-, taken once: getpid() is a syscall
  std::unique_ptr<internal::Shard[]> shards_;
  PageCacheStats stats_;

  std::atomic<bool> opened_{false};
  std::atomic<uint64_t> tick_;
  std::atomic<uint32_t> gen_{1};
  std::atomic<uint64_t> tmp_seq_{0};
  std::atomic<int> consecutive_io_errors_{0};
  std::atomic<bool> stopping_{false};
  int lock_fd_ = -1;

  std::mutex warn_mu_;
  bool warned_ = false;            // GUARDED_BY(warn_mu_)
  common::TimePoint last_warn_{};  // GUARDED_BY(warn_mu_)

  std::mutex restore_mu_;
  bool restoring_ = false;                       // GUARDED_BY(restore_mu_)
  std::unordered_set<std::string> dropped_ids_;  // GUARDED_BY(restore_mu_), raw ids

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  std::deque<std::function<void()>> bg_queue_;  // GUARDED_BY(bg_mu_)
  bool bg_busy_ = false;                        // GUARDED_BY(bg_mu_)
  bool bg_stop_ = false;                        // GUARDED_BY(bg_mu_)
  std::thread bg_thread_;
};

}  // namespace alluxio_fuse::cache
