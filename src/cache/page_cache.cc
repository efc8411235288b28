// PageCache read, load and store paths.
//
// Design: the index is 64 shards, each a hash set of small nodes with its own intrusive LRU
// list whose order is the global tick of the last access. The global LRU victim is the
// shard tail with the lowest tick, found by visiting the shards one at a time, so no lock
// covers the whole cache and no thread holds two shard locks. Capacity is a byte budget
// (`stats_.bytes`) reserved by compare-and-swap before a page file is written and released
// only after a victim's file is unlinked, so the page files on disk never exceed it.
// A hit pins its node (eviction skips it), verifies the file outside the lock, then unpins
// by key and generation: the node may have been dropped or replaced meanwhile. A verified
// page file stays open in a small per-shard set (the least recently used one is closed), so
// a hot page costs one pread and the CRCs of the blocks it serves; the slot leaves with its
// node (eviction, drop, corruption, replacement). A miss
// registers a Flight in the shard; later callers wait on it and receive a copy of the bytes.
// The leader inserts the index node and retires the flight in one critical section, so a
// new caller always finds one or the other.
#include "alluxio_fuse/cache/page_cache.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/hash.h"
#include "alluxio_fuse/common/iov.h"
#include "page_index.h"

namespace alluxio_fuse::cache {

using common::Code;
using common::Result;
using common::Status;
using internal::Flight;
using internal::Node;
using internal::OpenPage;
using internal::PageKey;
using internal::Shard;

namespace {

constexpr int kMaxConsecutiveIoErrors = 10;
constexpr auto kWarnInterval = std::chrono::minutes(1);
// How far up from a shard's tail eviction looks for an unpinned page.
constexpr int kVictimScan = 16;

// Reads exactly `len` bytes at `off`; false on error or a short file.
bool pread_all(int fd, char* buf, size_t len, off_t off, int* err) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, off + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return false;
    }
    if (n == 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Writes both buffers in order, in one writev() unless the kernel takes less.
int write_all(int fd, const char* a, size_t a_len, const char* b, size_t b_len) {
  iovec iov[2] = {{const_cast<char*>(a), a_len}, {const_cast<char*>(b), b_len}};
  iovec* cur = iov;
  int count = 2;
  while (count > 0) {
    ssize_t n = ::writev(fd, cur, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // never for a regular file; do not spin if it happens
    common::consume_iov(cur, count, static_cast<size_t>(n));
  }
  return 0;
}

std::string hex_of(const PageKey& key) { return file_id_hex(key.id); }

}  // namespace

PageCache::PageCache(PageCacheOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : common::SystemClock::instance()),
      root_(page_size_dir(options_.dir, options_.page_size)),
      tmp_dir_(root_ + "/tmp"),
      tmp_prefix_(tmp_dir_ + "/" + std::to_string(::getpid()) + "-"),
      shards_(new Shard[internal::kShardCount]),
      tick_(internal::kLiveTickBase) {
  stats_.capacity = options_.capacity;
  // Open page files count against the descriptor limit: at most a quarter of it, so worker
  // connections, staged writes and the kernel's handles keep the rest.
  uint64_t open_files = options_.max_open_files;
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    open_files = std::min<uint64_t>(open_files, rl.rlim_cur / 4);
  }
  for (size_t i = 0; i < internal::kShardCount; ++i) {
    shards_[i].open_cap = static_cast<size_t>(open_files / internal::kShardCount);
  }
}

Shard& PageCache::shard_for(const PageKey& key) const {
  return shards_[internal::hash_key(key) % internal::kShardCount];
}

size_t PageCache::index_bytes_per_page() {
  // Hash node = element + the singly linked "next" pointer (no cached hash: NodeHash is
  // noexcept and fast). glibc malloc adds 8 bytes and rounds to 16; one bucket pointer per
  // element at the default load factor 1.
  size_t node = sizeof(Node) + sizeof(void*);
  size_t chunk = (node + 8 + 15) / 16 * 16;
  return chunk + sizeof(void*);
}

void PageCache::hook(std::string_view event) const {
  if (options_.hooks.on_event) options_.hooks.on_event(event);
}

bool PageCache::contains(std::string_view file_id, uint64_t page_index) const {
  auto raw = parse_file_id(file_id);
  if (!raw.ok()) return false;
  PageKey key{*raw, page_index};
  Shard& s = shard_for(key);
  std::lock_guard<std::mutex> lock(s.mu);
  return s.find(key) != nullptr;
}

Result<size_t> PageCache::get_or_load(std::string_view file_id, uint64_t page_index, char* buf,
                                      size_t expected_len, const Loader& loader, bool* hit) {
  if (hit) *hit = false;
  auto raw = parse_file_id(file_id);
  if (!raw.ok()) return raw.status();
  PageKey key{*raw, page_index};

  if (active()) {
    if (auto len = try_hit(key, file_id, buf, expected_len)) {
      stats_.hits.fetch_add(1);
      if (hit) *hit = true;
      return *len;
    }
  }
  stats_.misses.fetch_add(1);

  Shard& s = shard_for(key);
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.flights.find(key);
    if (it != s.flights.end()) {
      flight = it->second;
      flight->waiters++;
      flight->demand_joined = true;
    } else {
      flight = std::make_shared<Flight>();
      s.flights.emplace(key, flight);
      leader = true;
    }
  }
  if (leader) {
    if (auto adopted = adopt_restoring(key, file_id, flight, buf, expected_len)) {
      stats_.misses.fetch_sub(1);
      stats_.hits.fetch_add(1);
      if (hit) *hit = true;
      return *adopted;
    }
    return lead(key, file_id, flight, buf, expected_len, loader);
  }

  hook("wait");
  std::unique_lock<std::mutex> lock(flight->mu);
  flight->cv.wait(lock, [&] { return flight->done; });
  if (!flight->status.ok()) return flight->status;
  if (flight->len > expected_len) {
    return common::make_status(
        Code::kRange, "page " + std::to_string(page_index) + " is longer than the read buffer");
  }
  std::memcpy(buf, flight->data.data(), flight->len);
  return flight->len;
}

Status PageCache::prefetch(std::string_view file_id, uint64_t page_index, char* scratch,
                           size_t expected_len, const Loader& loader, size_t* loaded) {
  if (loaded != nullptr) *loaded = 0;
  if (!active()) return Status::Ok();
  auto raw = parse_file_id(file_id);
  if (!raw.ok()) return raw.status();
  PageKey key{*raw, page_index};
  Shard& s = shard_for(key);
  auto flight = std::make_shared<Flight>();
  flight->readahead = true;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.find(key) != nullptr || s.flights.count(key) != 0) return Status::Ok();
    s.flights.emplace(key, flight);
  }
  // A restarted daemon reads ahead before the restore walk has indexed its pages: a page file
  // already on disk is adopted, as a demand miss would, instead of being fetched again (the
  // read that comes for it counts the hit).
  if (adopt_restoring(key, file_id, flight, scratch, expected_len)) return Status::Ok();
  stats_.misses.fetch_add(1);
  auto r = lead(key, file_id, flight, scratch, expected_len, loader);
  if (!r.ok()) return r.status();
  stats_.readahead_bytes.fetch_add(*r);
  if (loaded != nullptr) *loaded = *r;
  return Status::Ok();
}

void PageCache::note_served(std::string_view file_id, uint64_t page_index) {
  stats_.hits.fetch_add(1);
  auto raw = parse_file_id(file_id);
  if (!raw.ok()) return;
  PageKey key{*raw, page_index};
  Shard& s = shard_for(key);
  std::lock_guard<std::mutex> lock(s.mu);
  const Node* n = s.find(key);
  if (n == nullptr) return;  // not stored (cache full) or evicted since: nothing to refresh
  n->prefetched = false;
  n->tick = tick_.fetch_add(1);
  s.unlink(n);
  s.link_front(n);
}

Result<size_t> PageCache::lead(const PageKey& key, std::string_view hex,
                               const std::shared_ptr<Flight>& flight, char* buf, size_t cap,
                               const Loader& loader) {
  Result<size_t> r = common::make_status(Code::kIo, "page loader failed");
  try {
    r = loader(buf, cap);
  } catch (...) {
    // The loader must not throw; if it does, waiters still need an answer.
    r = common::make_status(Code::kIo, "page loader threw an exception");
  }
  if (r.ok() && *r > cap) {
    r = common::make_status(Code::kBadResponse, "page loader returned more bytes than asked");
  }

  bool stored = r.ok() && active() && store_page(key, hex, buf, *r, flight);
  if (!stored) {
    Shard& s = shard_for(key);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.flights.find(key);
    if (it != s.flights.end() && it->second == flight) s.flights.erase(it);
  }
  publish(flight, r, buf);
  return r;
}

void PageCache::publish(const std::shared_ptr<Flight>& flight, const Result<size_t>& r,
                        const char* buf) {
  // The flight is out of the shard now, so `waiters` no longer changes.
  {
    std::lock_guard<std::mutex> lock(flight->mu);
    flight->done = true;
    if (r.ok()) {
      flight->len = *r;
      if (flight->waiters > 0) flight->data.assign(buf, buf + *r);
    } else {
      flight->status = r.status();
    }
  }
  flight->cv.notify_all();
}

std::optional<size_t> PageCache::read_cached(std::string_view file_id, uint64_t page_index,
                                             size_t begin, size_t end, char* buf,
                                             size_t expected_len) {
  return read_range(file_id, page_index, begin, end, buf, expected_len, Placement::kPageOffsets);
}

std::optional<size_t> PageCache::read_cached_aligned(std::string_view file_id, uint64_t page_index,
                                                     size_t begin, size_t end, char* buf,
                                                     size_t expected_len) {
  // Packed blocks fill exactly [begin, end) only when the range starts and ends on a block
  // boundary (or at the page's end); anything else would write past the caller's buffer.
  if (begin % kBlockSize != 0 || (end % kBlockSize != 0 && end != expected_len) || begin >= end) {
    return std::nullopt;
  }
  return read_range(file_id, page_index, begin, end, buf, expected_len, Placement::kPacked);
}

std::optional<size_t> PageCache::read_range(std::string_view file_id, uint64_t page_index,
                                            size_t begin, size_t end, char* buf,
                                            size_t expected_len, Placement placement) {
  if (!active()) return std::nullopt;
  auto raw = parse_file_id(file_id);
  if (!raw.ok()) return std::nullopt;
  auto len = try_hit(PageKey{*raw, page_index}, file_id, buf, expected_len, begin, end, placement);
  if (len) stats_.hits.fetch_add(1);
  return len;
}

std::optional<size_t> PageCache::try_hit(const PageKey& key, std::string_view hex, char* buf,
                                         size_t expected_len, size_t begin, size_t end,
                                         Placement placement) {
  Shard& s = shard_for(key);
  uint32_t gen = 0;
  uint32_t bytes = 0;
  std::shared_ptr<OpenPage> page;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    const Node* n = s.find(key);
    if (n == nullptr) return std::nullopt;
    n->pins++;
    n->prefetched = false;
    n->tick = tick_.fetch_add(1);
    s.unlink(n);
    s.link_front(n);
    gen = n->gen;
    bytes = n->bytes;
    page = s.find_open(key, gen);
  }
  hook("pinned");

  std::string path;
  const bool opened = page == nullptr;
  ReadOutcome out = ReadOutcome::kOk;
  if (opened) {
    path = page_path(options_.dir, options_.page_size, hex, key.index);
    out = open_verified(path, key, &page);
  }
  if (out == ReadOutcome::kOk) out = read_blocks(*page, buf, expected_len, begin, end, placement);

  bool removed = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    const Node* n = s.find(key);
    if (n != nullptr && n->gen == gen) {
      n->pins--;
      if (out != ReadOutcome::kOk) {
        s.erase(n);
        stats_.pages.fetch_sub(1);
        removed = true;
      } else if (opened) {
        s.keep_open(key, gen, page);
      }
    }
  }
  if (out == ReadOutcome::kOk) return page->data_len;
  if (out != ReadOutcome::kGone) {
    // Corrupt or unreadable: never served; counted, deleted, refetched.
    stats_.corrupt.fetch_add(1);
    spdlog::warn("page cache: page {} of file id {} failed verification; refetching", key.index,
                 hex);
    if (removed) {
      if (path.empty()) path = page_path(options_.dir, options_.page_size, hex, key.index);
      ::unlink(path.c_str());
    }
    if (out == ReadOutcome::kIoError) note_io_error(EIO, "read");
  }
  // A vanished file (removed behind our back, or a drop racing a reload) is a plain miss.
  if (removed) stats_.bytes.fetch_sub(bytes);
  return std::nullopt;
}

PageCache::ReadOutcome PageCache::read_verified(const std::string& path, const PageKey& key,
                                                char* buf, size_t expected_len, size_t* len,
                                                size_t begin, size_t end) const {
  std::shared_ptr<OpenPage> page;
  ReadOutcome out = open_verified(path, key, &page);
  if (out == ReadOutcome::kOk) out = read_blocks(*page, buf, expected_len, begin, end);
  if (out == ReadOutcome::kOk) *len = page->data_len;
  return out;
}

PageCache::ReadOutcome PageCache::open_verified(const std::string& path, const PageKey& key,
                                                std::shared_ptr<OpenPage>* out) const {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? ReadOutcome::kGone : ReadOutcome::kIoError;
  auto page = std::make_shared<OpenPage>(fd);

  struct stat st {};
  if (::fstat(fd, &st) != 0) return ReadOutcome::kIoError;
  const size_t prefix_len = kHeaderSize + table_bytes(options_.page_size);
  if (!S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(data_offset(options_.page_size))) {
    return ReadOutcome::kCorrupt;
  }
  // Header and block CRC table (1088 bytes for 1 MiB pages).
  thread_local std::vector<char> prefix;
  prefix.resize(prefix_len);
  int err = 0;
  if (!pread_all(fd, prefix.data(), prefix_len, 0, &err)) {
    return err != 0 ? ReadOutcome::kIoError : ReadOutcome::kCorrupt;
  }
  auto h = decode_header(prefix.data());
  if (!h.ok() || !header_matches(*h, options_.page_size, key.index, key.id,
                                 static_cast<uint64_t>(st.st_size))) {
    return ReadOutcome::kCorrupt;
  }
  if (!page->take_table(*h, prefix.data() + kHeaderSize)) return ReadOutcome::kCorrupt;
  *out = std::move(page);
  return ReadOutcome::kOk;
}

PageCache::ReadOutcome PageCache::read_blocks(const OpenPage& page, char* buf, size_t expected_len,
                                              size_t begin, size_t end, Placement placement) const {
  // A page longer than the caller's buffer (and than the file's size says) is never served.
  if (page.data_len > expected_len) return ReadOutcome::kCorrupt;
  // The blocks covering [begin, end) of the data, read and checked in place in `buf`.
  end = std::min<size_t>(end, page.data_len);
  const size_t first = begin < end ? begin / kBlockSize : 0;
  const size_t last = begin < end ? block_count(end) : 0;
  const size_t from = first * kBlockSize;
  const size_t to = std::min<size_t>(last * kBlockSize, page.data_len);
  if (to <= from) return ReadOutcome::kOk;
  char* dst = placement == Placement::kPacked ? buf : buf + from;
  int err = 0;
  if (!pread_all(page.fd, dst, to - from,
                 static_cast<off_t>(data_offset(options_.page_size) + from), &err)) {
    return err != 0 ? ReadOutcome::kIoError : ReadOutcome::kCorrupt;
  }
  thread_local std::vector<uint32_t> crcs;
  crcs.resize(last - first);
  common::crc32c_blocks(dst, to - from, kBlockSize, crcs.data());
  for (size_t i = first; i < last; ++i) {
    if (crcs[i - first] != block_crc(page.table.data(), i)) return ReadOutcome::kCorrupt;
  }
  return ReadOutcome::kOk;
}

bool PageCache::store_page(const PageKey& key, std::string_view hex, const char* data, size_t len,
                           const std::shared_ptr<Flight>& flight) {
  const uint64_t need = page_file_size(options_.page_size, len);
  if (need > options_.capacity) return false;
  int err = 0;
  for (int attempt = 0; attempt < 2 && active(); ++attempt) {
    // No room even after evicting everything unpinned: serve uncached; not a disk error.
    if (!reserve(need)) return false;
    err = write_page_file(key, hex, data, len);
    if (err == 0) {
      consecutive_io_errors_.store(0);
      insert_entry(key, static_cast<uint32_t>(need), flight);
      return true;
    }
    stats_.bytes.fetch_sub(need);
    note_io_error(err, "write");
    // ENOSPC or another I/O error: make room (the disk may be shared and fuller than our
    // accounting says) and retry once.
    if (attempt == 0) evict_bytes(options_.capacity / 10);
  }
  warn_limited("page cache: cannot store page " + std::to_string(key.index) + " of file id " +
               std::string(hex) + ": " + common::errno_text(err) + "; serving it uncached");
  return false;
}

int PageCache::write_page_file(const PageKey& key, std::string_view hex, const char* data,
                               size_t len) {
  if (options_.hooks.insert_fault) {
    if (int e = options_.hooks.insert_fault(); e != 0) return e;
  }
  const std::string tmp = tmp_prefix_ + std::to_string(tmp_seq_.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno;

  // Header, block CRC table, zero padding up to the 4 KiB-aligned data (page_file.h).
  std::vector<char> prefix(data_offset(options_.page_size), 0);
  PageHeader h;
  h.page_size = options_.page_size;
  h.page_index = key.index;
  h.data_len = static_cast<uint32_t>(len);
  h.crc = encode_block_table(data, len, prefix.data() + kHeaderSize);
  h.file_id = key.id;
  encode_header(h, prefix.data());

  int err = write_all(fd, prefix.data(), prefix.size(), data, len);
  // No fsync (page-cache.md §4.1): a torn page fails verification and is refetched.
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return err;
  }

  const std::string dir = file_dir(options_.dir, options_.page_size, hex);
  const std::string path = dir + "/" + std::to_string(key.index);
  if (::rename(tmp.c_str(), path.c_str()) == 0) return 0;
  err = errno;
  if (err == ENOENT) {
    // First page of this file (or a background delete removed the empty directory).
    const std::string bucket = root_ + "/" + std::string(hex.substr(0, 2));
    if ((::mkdir(bucket.c_str(), 0700) == 0 || errno == EEXIST) &&
        (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST)) {
      if (::rename(tmp.c_str(), path.c_str()) == 0) return 0;
    }
    err = errno;
  }
  ::unlink(tmp.c_str());
  return err;
}

void PageCache::insert_entry(const PageKey& key, uint32_t bytes,
                             const std::shared_ptr<Flight>& flight) {
  Shard& s = shard_for(key);
  uint32_t replaced = 0;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (const Node* old = s.find(key)) {
      // Our rename replaced its file (e.g. the restore walk indexed it meanwhile).
      replaced = old->bytes;
      s.erase(old);
      stats_.pages.fetch_sub(1);
    }
    Node n;
    n.key = key;
    n.bytes = bytes;
    n.gen = gen_.fetch_add(1);
    n.tick = tick_.fetch_add(1);
    n.prefetched = flight && flight->readahead && !flight->demand_joined;
    auto [it, inserted] = s.nodes.insert(n);
    (void)inserted;
    s.link_front(&*it);
    stats_.pages.fetch_add(1);
    if (flight) {
      auto f = s.flights.find(key);
      if (f != s.flights.end() && f->second == flight) s.flights.erase(f);
    }
  }
  if (replaced != 0) stats_.bytes.fetch_sub(replaced);
}

bool PageCache::reserve(uint64_t bytes) {
  for (;;) {
    uint64_t cur = stats_.bytes.load();
    if (cur + bytes <= options_.capacity) {
      if (stats_.bytes.compare_exchange_weak(cur, cur + bytes)) return true;
      continue;
    }
    if (!evict_one()) return false;
  }
}

bool PageCache::evict_one() {
  for (int round = 0; round < 3; ++round) {
    size_t best = internal::kShardCount;
    uint64_t best_tick = std::numeric_limits<uint64_t>::max();
    for (size_t i = 0; i < internal::kShardCount; ++i) {
      Shard& s = shards_[i];
      std::lock_guard<std::mutex> lock(s.mu);
      int steps = 0;
      for (const Node* n = s.tail; n != nullptr && steps < kVictimScan; n = n->prev, ++steps) {
        if (n->pins == 0) {
          if (n->tick < best_tick) {
            best_tick = n->tick;
            best = i;
          }
          break;
        }
      }
    }
    if (best == internal::kShardCount) return false;

    Shard& s = shards_[best];
    PageKey victim;
    uint32_t bytes = 0;
    bool prefetched = false;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      const Node* n = s.tail;
      for (int steps = 0; n != nullptr && n->pins != 0 && steps < kVictimScan; ++steps) {
        n = n->prev;
      }
      // Raced with another evictor or reader: look again.
      if (n == nullptr || n->pins != 0) continue;
      victim = n->key;
      bytes = n->bytes;
      prefetched = n->prefetched;
      s.erase(n);
      stats_.pages.fetch_sub(1);
    }
    const std::string path =
        page_path(options_.dir, options_.page_size, hex_of(victim), victim.index);
    ::unlink(path.c_str());
    stats_.bytes.fetch_sub(bytes);
    stats_.evictions.fetch_add(1);
    if (prefetched)
      stats_.readahead_unused_bytes.fetch_add(bytes - data_offset(options_.page_size));
    return true;
  }
  return true;  // lost every race; the caller re-checks the budget and tries again
}

void PageCache::evict_bytes(uint64_t bytes) {
  const uint64_t target = stats_.bytes.load() > bytes ? stats_.bytes.load() - bytes : 0;
  while (stats_.bytes.load() > target) {
    if (!evict_one()) break;
  }
}

void PageCache::note_io_error(int err, std::string_view what) {
  int n = consecutive_io_errors_.fetch_add(1) + 1;
  if (n >= kMaxConsecutiveIoErrors && stats_.enabled.exchange(false)) {
    spdlog::error(
        "page cache: {} consecutive I/O errors (last: {} failed: {}); disabling the "
        "page cache under {} for the rest of this run",
        n, what, common::errno_text(err), options_.dir);
  }
}

void PageCache::warn_limited(const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(warn_mu_);
    const auto now = clock_.now();
    if (warned_ && now - last_warn_ < kWarnInterval) return;
    warned_ = true;
    last_warn_ = now;
  }
  spdlog::warn("{}", message);
}

}  // namespace alluxio_fuse::cache
