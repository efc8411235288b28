// open/read/release: the read path of page-cache.md §1-§2 and §6, and the handle table.
//
// A handle reads the inode's staged copy once that holds the file's content (a file being
// written in this mount reads like a local file), else the committed version pinned at open.
//
// open refreshes metadata older than the TTL, pins the version for the handle's life
// (open-to-close consistency) and decides FOPEN_KEEP_CACHE: only when the kernel last cached
// this same version of the inode. read cuts the request into page slices; a whole page is
// loaded straight into the reply buffer, a partial slice goes through a per-thread scratch
// page. Byte counts are checked against the size seen at open: a short page below it means
// the file changed under us, so its metadata is dropped and the read fails (kIo) instead of
// returning silently short data.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "alluxio_fuse/cache/fetch_pool.h"
#include "alluxio_fuse/cache/page_cache.h"
#include "alluxio_fuse/cache/page_file.h"
#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/hash.h"
#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/fs/file_system.h"
#include "fs_internal.h"

namespace alluxio_fuse::fs {

using common::Code;

Result<std::shared_ptr<FileSystem::ReadHandle>> FileSystem::make_reader(
    const std::shared_ptr<Inode>& node, const std::string& key, int flags, OpenReply* reply) {
  std::chrono::nanoseconds remaining{0};
  auto info = fetch_attr(key, &remaining);
  if (!info.ok()) return info.status();
  if (info->is_dir()) return Status(Code::kIsDir, "open of a directory: " + key);

  auto h = std::make_shared<ReadHandle>();
  h->ino = node->ino;
  h->key = key;
  h->version = store::version_tag(*info);
  h->size = info->size;
  h->size_exact = info->size_exact;
  h->incomplete = !info->completed;
  const bool cacheable = page_cache_ != nullptr && !h->version.empty() && h->size_exact;
  if (cacheable) h->file_id = cache::PageCache::make_file_id(h->key, h->version);
  if (cacheable && fetch_pool_ != nullptr && options_.readahead) {
    cache::ReadaheadOptions ro;
    ro.page_size = options_.page_size;
    ro.initial_window = options_.readahead_initial;
    ro.max_window = options_.readahead_max;
    ro.per_file_fetches = options_.readahead_per_file;
    ro.max_read = options_.max_read;
    h->readahead = std::make_unique<cache::Readahead>(ro);
  }

  reply->direct_io = options_.direct_io || (flags & O_DIRECT) != 0 || !h->size_exact;
  std::lock_guard<std::mutex> lock(inodes_mu_);
  // Keep the kernel's pages only when they are of this very version (page-cache.md §6).
  reply->keep_cache =
      !h->version.empty() && node->kernel_version_known && node->kernel_version == h->version;
  // A newer version was seen: pages of the old one must never be served again.
  if (node->kernel_version_known && node->kernel_version != h->version) {
    drop_cached_versions(h->key, node->kernel_version, "");
  }
  node->kernel_version = h->version;
  node->kernel_version_known = !h->version.empty();
  return h;
}

uint64_t FileSystem::add_handle(std::shared_ptr<FileHandle> h) {
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    ++h->node->open_handles;
  }
  std::lock_guard<std::mutex> lock(handles_mu_);
  uint64_t fh = next_fh_++;
  files_[fh] = std::move(h);
  return fh;
}

std::shared_ptr<FileSystem::FileHandle> FileSystem::file_handle(uint64_t fh) {
  std::lock_guard<std::mutex> lock(handles_mu_);
  auto it = files_.find(fh);
  return it == files_.end() ? nullptr : it->second;
}

Result<OpenReply> FileSystem::open(uint64_t ino, int flags) {
  if (refusing_opens_.load()) return Status(Code::kIo, "shutting down: no new opens");
  auto node = inode(ino);
  if (!node) return Status(Code::kStale, "unknown inode " + std::to_string(ino));
  const bool writable = (flags & O_ACCMODE) != O_RDONLY;
  const bool truncating = (flags & O_TRUNC) != 0;
  auto h = std::make_shared<FileHandle>();
  h->node = node;
  h->writable = writable;
  h->append = (flags & O_APPEND) != 0;
  OpenReply reply;
  reply.direct_io = options_.direct_io || (flags & O_DIRECT) != 0;

  if (writable || truncating) {
    AF_RETURN_IF_ERROR(check_writable());
    auto staged = acquire_staged(node);
    if (!staged.ok()) return staged.status();
    std::shared_ptr<Staged> s = *staged;
    bool need_reader = false;
    Status truncated = Status::Ok();
    {
      std::lock_guard<std::mutex> lock(s->mu);
      if (truncating) truncated = resize_locked(*s, 0);
      need_reader = !s->materialized;
    }
    if (!truncated.ok()) {
      release_writer(s);
      return truncated;
    }
    if (!writable) {
      // O_RDONLY|O_TRUNC: the truncate is the whole effect; commit it now (no flush will).
      Status committed;
      {
        std::lock_guard<std::mutex> lock(s->mu);
        committed = commit_locked(*s, false);
      }
      release_writer(s);
      if (!committed.ok()) return committed;
      s = nullptr;
      need_reader = true;
    }
    h->staged = s;
    if (need_reader && !(s && s->local_only.load())) {
      OpenReply ignored;
      auto reader = make_reader(node, node_key(*node), flags, &ignored);
      if (!reader.ok()) {
        if (s) release_writer(s);
        return reader.status();
      }
      h->reader = *reader;
    }
    // The kernel's pages may predate this writer's changes of other handles: start clean.
    reply.keep_cache = false;
    reply.fh = add_handle(std::move(h));
    return reply;
  }

  std::shared_ptr<Staged> staged;
  std::string key;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    staged = node->staged;
    key = node->key;
  }
  // A file being written in this mount reads like a local file: its staged copy, once there.
  h->staged = staged;
  if (!(staged && staged->local_only.load())) {
    auto reader = make_reader(node, key, flags, &reply);
    if (!reader.ok()) return reader.status();
    h->reader = *reader;
    if (staged) reply.keep_cache = false;
    reply.direct_io = reply.direct_io || !h->reader->size_exact;
  }
  reply.fh = add_handle(std::move(h));
  return reply;
}

void FileSystem::release(uint64_t fh) {
  std::shared_ptr<FileHandle> h;
  {
    std::lock_guard<std::mutex> lock(handles_mu_);
    auto it = files_.find(fh);
    if (it == files_.end()) return;
    h = std::move(it->second);
    files_.erase(it);
  }
  if (h->writable && h->staged) release_writer(h->staged);
  std::string remove_key;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    auto& node = h->node;
    if (node->open_handles > 0) --node->open_handles;
    if (node->open_handles == 0 && node->remove_pending) {
      // The last handle of a file unlinked here while open: now the remote remove (§2.6).
      node->remove_pending = false;
      remove_key = node->key;
      auto it = hidden_.find(remove_key);
      if (it != hidden_.end() && it->second == node->ino) hidden_.erase(it);
    }
    drop_inode_if_unused_locked(node);
  }
  if (!remove_key.empty()) {
    drop_pages_of(remove_key, nullptr, h->node);
    Status removed = store_.remove(remove_key, false);
    if (!removed.ok() && removed.code() != Code::kNotFound) {
      spdlog::warn("remove of {} (unlinked while open) failed: {}", remove_key,
                   removed.to_string());
    }
    meta_.invalidate(remove_key, parent_key_of(options_.root, remove_key));
  }
}

void FileSystem::invalidate_file(ReadHandle& h) {
  meta_.invalidate(h.key, parent_key_of(options_.root, h.key));
}

namespace {

// Loads one whole page of `key` from the store into `buf` and checks its length against the
// size seen at open (page-cache.md §1): a short page means the file changed under us.
struct PageLoad {
  store::Store& store;
  const std::string& key;
  uint64_t page_start;
  size_t expected;
  uint64_t size;
  store::Source* source;

  Result<size_t> operator()(char* buf, size_t cap) const {
    store::ReadRequest req;
    req.key = key;
    req.offset = page_start;
    req.length = std::min(expected, cap);
    req.known_size = size;
    auto reply = store.read(req, buf);
    if (!reply.ok()) return reply.status();
    if (source != nullptr) *source = reply->source;
    if (reply->bytes != req.length) {
      return Status(Code::kIo, "file changed during read (page at " + std::to_string(page_start) +
                                   ": got " + std::to_string(reply->bytes) + " of " +
                                   std::to_string(req.length) + " bytes): " + key);
    }
    return reply->bytes;
  }
};

// A page-sized scratch buffer per libfuse thread for reads that cover part of a page.
char* scratch_page(size_t size) {
  thread_local std::unique_ptr<char[]> buf;
  thread_local size_t capacity = 0;
  if (capacity < size) {
    buf.reset(new char[size]);
    capacity = size;
  }
  return buf.get();
}

}  // namespace

Result<size_t> FileSystem::read_page_slice(ReadHandle& h, uint64_t index, size_t begin, size_t end,
                                           char* out) {
  const uint64_t page_size = options_.page_size;
  const uint64_t page_start = index * page_size;
  // Expected bytes of this page; for an unknown size, a whole page (a short one is EOF).
  const size_t expected =
      h.size_exact ? static_cast<size_t>(std::min<uint64_t>(page_size, h.size - page_start))
                   : static_cast<size_t>(page_size);
  end = std::min(end, expected);
  if (begin >= end) return size_t{0};

  wait_for_readahead(h, index);
  if (auto kept = read_kept(h, index, begin, end, expected, out)) return *kept;

  if (!h.file_id.empty() && page_cache_->enabled()) {
    const bool whole = begin == 0 && end == expected;
    if (!whole) {
      // A partial read of a cached page reads and verifies only the 4 KiB blocks it needs; a
      // block-aligned one (what 4 KiB random reads are) straight into the reply buffer, with
      // no scratch page at all.
      const bool aligned =
          begin % cache::kBlockSize == 0 && (end % cache::kBlockSize == 0 || end == expected);
      char* scratch = aligned ? nullptr : scratch_page(expected);
      auto len = aligned
                     ? page_cache_->read_cached_aligned(h.file_id, index, begin, end, out, expected)
                     : page_cache_->read_cached(h.file_id, index, begin, end, scratch, expected);
      if (len) {
        if (*len != expected) {
          invalidate_file(h);
          return Status(Code::kIo, "file changed during read: " + h.key);
        }
        if (!aligned) std::memcpy(out, scratch + begin, end - begin);
        stats_.read_bytes_cache.fetch_add(end - begin, std::memory_order_relaxed);
        return end - begin;
      }
    }
    // Built only here: a hit above never needs it (a std::function is a heap allocation).
    store::Source source = store::Source::kUfs;
    PageLoad load{store_, h.key, page_start, expected, h.size, &source};
    cache::PageCache::Loader loader = [&](char* buf, size_t cap) -> Result<size_t> {
      cache::FetchPool::Slot slot;
      if (fetch_pool_ != nullptr) slot = fetch_pool_->acquire_demand();
      auto got = load(buf, cap);
      if (got.ok()) {
        auto& fetched =
            source == store::Source::kWorker ? stats_.fetch_bytes_worker : stats_.fetch_bytes_ufs;
        fetched.fetch_add(*got, std::memory_order_relaxed);
      }
      return got;
    };
    char* target = whole ? out : scratch_page(expected);
    bool hit = false;
    auto got = page_cache_->get_or_load(h.file_id, index, target, expected, loader, &hit);
    if (!got.ok()) {
      if (got.status().code() == Code::kIo) invalidate_file(h);
      return got.status();
    }
    if (*got != expected) {
      invalidate_file(h);
      return Status(Code::kIo, "file changed during read: " + h.key);
    }
    if (!whole) std::memcpy(out, target + begin, end - begin);
    auto& counter =
        hit ? stats_.read_bytes_cache
            : (source == store::Source::kWorker ? stats_.read_bytes_worker : stats_.read_bytes_ufs);
    counter.fetch_add(end - begin, std::memory_order_relaxed);
    return end - begin;
  }

  // No cache for this file: a partial-page request straight into the reply.
  store::ReadRequest req;
  req.key = h.key;
  req.offset = page_start + begin;
  req.length = end - begin;
  if (h.size_exact) req.known_size = h.size;
  auto reply = store_.read(req, out);
  if (!reply.ok()) return reply.status();
  auto& counter =
      reply->source == store::Source::kWorker ? stats_.read_bytes_worker : stats_.read_bytes_ufs;
  counter.fetch_add(reply->bytes, std::memory_order_relaxed);
  auto& fetched =
      reply->source == store::Source::kWorker ? stats_.fetch_bytes_worker : stats_.fetch_bytes_ufs;
  fetched.fetch_add(reply->bytes, std::memory_order_relaxed);
  if (h.size_exact && reply->bytes != req.length) {
    invalidate_file(h);
    return Status(Code::kIo, "file changed during read (got " + std::to_string(reply->bytes) +
                                 " of " + std::to_string(req.length) + " bytes): " + h.key);
  }
  return reply->bytes;
}

std::unique_ptr<FileSystem::KeptPage> FileSystem::take_kept(ReadHandle& h, uint64_t index,
                                                            size_t expected) {
  std::unique_ptr<KeptPage> page;
  {
    std::lock_guard<std::mutex> lock(h.mu);
    auto it = h.kept.find(index);
    if (it == h.kept.end()) return nullptr;
    if (it->second->len == expected) page = std::move(it->second);
    h.kept.erase(it);  // a kept page of another length is of no use
  }
  if (page) page_cache_->note_served(h.file_id, index);
  return page;
}

std::optional<size_t> FileSystem::read_kept(ReadHandle& h, uint64_t index, size_t begin, size_t end,
                                            size_t expected, char* out) {
  if (end == expected) {
    // Through the page's end: the page is done with.
    auto page = take_kept(h, index, expected);
    if (!page) return std::nullopt;
    std::memcpy(out, page->buf.data() + begin, end - begin);
    stats_.read_bytes_cache.fetch_add(end - begin, std::memory_order_relaxed);
    return end - begin;
  }
  {
    // A partial read leaves the page for the reads of its rest.
    std::lock_guard<std::mutex> lock(h.mu);
    auto it = h.kept.find(index);
    if (it == h.kept.end() || it->second->len != expected) return std::nullopt;
    std::memcpy(out, it->second->buf.data() + begin, end - begin);
  }
  page_cache_->note_served(h.file_id, index);
  stats_.read_bytes_cache.fetch_add(end - begin, std::memory_order_relaxed);
  return end - begin;
}

void FileSystem::wait_for_readahead(ReadHandle& h, uint64_t index) {
  if (!h.readahead) return;  // set before the handle is published, never changed
  std::unique_lock<std::mutex> lock(h.mu);
  if (h.fetching.count(index) == 0) return;
  if (options_.test_event) options_.test_event("readahead-wait");
  // Bounded: the task's store read has its own deadline.
  h.fetch_ended.wait(lock, [&] { return h.fetching.count(index) == 0; });
}

bool FileSystem::reserve_kept(size_t bytes) {
  uint64_t cur = kept_bytes_.load();
  do {
    if (cur + bytes > options_.memory_budget) return false;
  } while (!kept_bytes_.compare_exchange_weak(cur, cur + bytes));
  return true;
}

namespace {
// Kept pages this many pages behind a read are dropped: a sequential reader has passed them
// (a demand read that joined the page's fetch got its bytes from the fetch itself), while
// reads the kernel sends slightly out of order still find theirs.
constexpr uint64_t kKeptLagPages = 8;
}  // namespace

void FileSystem::readahead_after(std::shared_ptr<ReadHandle> h, uint64_t offset, size_t length) {
  std::vector<uint64_t> pages;
  const uint64_t page_size = options_.page_size;
  {
    std::lock_guard<std::mutex> lock(h->mu);
    if (!h->readahead) return;
    const uint64_t first = offset / page_size;
    if (first > kKeptLagPages) {
      h->kept.erase(h->kept.begin(), h->kept.lower_bound(first - kKeptLagPages));
    }
    pages = h->readahead->on_read(offset, length, h->size,
                                  [&](uint64_t i) { return page_cache_->contains(h->file_id, i); });
  }
  for (uint64_t index : pages) {
    const uint64_t page_start = index * page_size;
    const size_t expected =
        static_cast<size_t>(std::min<uint64_t>(page_size, h->size - page_start));
    auto task = [this, h, index, page_start, expected] {
      {
        std::lock_guard<std::mutex> lock(h->mu);
        h->fetching.insert(index);
      }
      cache::BufferPool::Lease scratch = readahead_buffers_.take(expected);
      store::Source source = store::Source::kUfs;
      PageLoad load{store_, h->key, page_start, expected, h->size, &source};
      cache::PageCache::Loader loader = [&](char* buf, size_t cap) { return load(buf, cap); };
      size_t loaded = 0;
      Status s =
          page_cache_->prefetch(h->file_id, index, scratch.data(), expected, loader, &loaded);
      std::unique_ptr<KeptPage> keep;
      if (s.ok() && loaded > 0) {
        auto& fetched =
            source == store::Source::kWorker ? stats_.fetch_bytes_worker : stats_.fetch_bytes_ufs;
        fetched.fetch_add(loaded, std::memory_order_relaxed);
        if (loaded == expected && reserve_kept(loaded)) {
          keep = std::make_unique<KeptPage>(std::move(scratch), loaded, &kept_bytes_);
        }
      }
      std::lock_guard<std::mutex> lock(h->mu);
      h->readahead->fetch_done(index);
      h->fetching.erase(index);
      h->fetch_ended.notify_all();
      // Not kept when the reader has already passed it; an existing entry is left as is.
      if (keep && index + kKeptLagPages >= h->readahead->next() / options_.page_size) {
        h->kept.emplace(index, std::move(keep));
      }
    };
    if (!fetch_pool_->submit(cache::FetchPool::Kind::kReadahead, std::move(task))) {
      std::lock_guard<std::mutex> lock(h->mu);
      h->readahead->fetch_done(index);
    }
  }
}

Result<size_t> FileSystem::read(uint64_t fh, uint64_t offset, size_t length, char* buf) {
  auto got = read_data(fh, offset, length, buf);
  if (!got.ok()) return got.status();
  if (got->data != buf) std::memcpy(buf, got->data, got->len);
  return got->len;
}

std::optional<FileSystem::ReadData> FileSystem::take_kept_page(const std::shared_ptr<ReadHandle>& h,
                                                               uint64_t offset, size_t length) {
  const uint64_t page_size = options_.page_size;
  if (h->incomplete || !h->size_exact || offset >= h->size || offset % page_size != 0) {
    return std::nullopt;
  }
  const size_t expected = static_cast<size_t>(std::min<uint64_t>(page_size, h->size - offset));
  // Exactly this page: not a part of it, and nothing of the next one.
  if (length < expected || (length > expected && offset + expected < h->size)) {
    return std::nullopt;
  }
  wait_for_readahead(*h, offset / page_size);
  std::shared_ptr<KeptPage> page = take_kept(*h, offset / page_size, expected);
  if (!page) return std::nullopt;
  stats_.read_bytes_cache.fetch_add(expected, std::memory_order_relaxed);
  if (h->readahead) readahead_after(h, offset, expected);
  ReadData out;
  out.data = page->buf.data();
  out.len = expected;
  out.hold = std::move(page);
  return out;
}

Result<FileSystem::ReadData> FileSystem::read_data(uint64_t fh, uint64_t offset, size_t length,
                                                   char* buf) {
  auto fhandle = file_handle(fh);
  if (!fhandle) return Status(Code::kBadHandle, "unknown file handle");
  if (fhandle->staged) {
    Staged& s = *fhandle->staged;
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.materialized) {
      if (offset >= s.size || length == 0) return ReadData{buf, 0, nullptr};
      length = static_cast<size_t>(std::min<uint64_t>(length, s.size - offset));
      size_t done = 0;
      while (done < length) {
        ssize_t n = ::pread(s.fd, buf + done, length - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          return Status(Code::kIo, "read of staged copy: " + common::errno_text(errno));
        }
        if (n == 0) {
          // A sparse tail the file system has not allocated reads as zeros.
          std::memset(buf + done, 0, length - done);
          done = length;
          break;
        }
        done += static_cast<size_t>(n);
      }
      return ReadData{buf, done, nullptr};
    }
  }
  auto reader = current_reader(*fhandle);
  if (!reader) return Status(Code::kIo, "no readable version of this file");
  if (auto kept = take_kept_page(reader, offset, length)) return std::move(*kept);
  auto got = read_committed(reader, offset, length, buf);
  if (!got.ok()) return got.status();
  return ReadData{buf, *got, nullptr};
}

std::shared_ptr<FileSystem::ReadHandle> FileSystem::current_reader(FileHandle& fh) {
  std::shared_ptr<ReadHandle> reader;
  {
    std::lock_guard<std::mutex> lock(fh.mu);
    reader = fh.reader;
  }
  if (!reader) return reader;
  std::string key;
  {
    // Compared under the lock, copied only on a rename: this runs on every read.
    std::lock_guard<std::mutex> lock(inodes_mu_);
    if (fh.node->key == reader->key) return reader;
    key = fh.node->key;
  }
  // Renamed while open: the same version now lives under the new key (POSIX: the open file
  // keeps reading). Readahead state is not carried over; it restarts.
  auto moved = std::make_shared<ReadHandle>();
  moved->ino = reader->ino;
  moved->key = key;
  moved->version = reader->version;
  moved->size = reader->size;
  moved->size_exact = reader->size_exact;
  moved->incomplete = reader->incomplete;
  if (!reader->file_id.empty()) {
    moved->file_id = cache::PageCache::make_file_id(key, moved->version);
  }
  std::lock_guard<std::mutex> lock(fh.mu);
  if (fh.reader == reader) fh.reader = moved;
  return fh.reader;
}

Result<size_t> FileSystem::read_committed(const std::shared_ptr<ReadHandle>& h, uint64_t offset,
                                          size_t length, char* buf) {
  if (h->incomplete) return Status(Code::kIo, "file is still being written: " + h->key);
  if (length == 0) return size_t{0};
  if (h->size_exact) {
    if (offset >= h->size) return size_t{0};
    length = static_cast<size_t>(std::min<uint64_t>(length, h->size - offset));
  }
  const uint64_t page_size = options_.page_size;
  const uint64_t first = offset / page_size;
  const uint64_t last = (offset + length - 1) / page_size;
  size_t done = 0;
  for (uint64_t i = first; i <= last; ++i) {
    size_t begin = i == first ? static_cast<size_t>(offset % page_size) : 0;
    size_t end = i == last ? static_cast<size_t>((offset + length - 1) % page_size) + 1
                           : static_cast<size_t>(page_size);
    auto got = read_page_slice(*h, i, begin, end, buf + done);
    if (!got.ok()) return got.status();
    done += *got;
    if (*got < end - begin) {
      // Short page: end of file (only possible when the size was not exact).
      if (!h->size_exact) {
        std::lock_guard<std::mutex> lock(h->mu);
        h->size = i * page_size + begin + *got;
        h->size_exact = true;
      }
      break;
    }
  }
  if (h->readahead) readahead_after(h, offset, done);
  return done;
}

}  // namespace alluxio_fuse::fs
