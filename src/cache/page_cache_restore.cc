// PageCache lifetime: open (directory lock, clean-up), the background thread, the restore walk
// of page-cache.md §4.3 and drop_file's deferred deletions.
//
// Design: open() does only O(1) work on the disk — it renames `tmp/` and stale page-size
// directories into `<dir>/.trash/` — so start-up never waits for a large cache. One
// background thread then empties the trash, walks `<dir>/<P>/` and indexes every page file
// whose header agrees with its path and length (the CRC waits for the first read); the files
// it finds first, within the open-file bound, stay open with their block CRC table checked,
// so a restarted daemon's first hit on them needs no open(). Pages are
// admitted newest mtime first, each behind all live pages in LRU order; whatever no longer
// fits under the capacity (it was lowered) is the oldest and is deleted. A page that a live
// load stored or is loading meanwhile wins over the restored one. drop_file() during the walk
// records the id so the walk cannot re-index a dropped version.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <vector>

#include "alluxio_fuse/cache/page_cache.h"
#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/thread_name.h"
#include "page_index.h"

namespace alluxio_fuse::cache {

namespace fs = std::filesystem;
using common::Code;
using common::Status;
using internal::Node;
using internal::PageKey;
using internal::Shard;

namespace {

Status dir_error(const std::string& dir, const std::string& what, int err) {
  return common::make_status(
      Code::kIo, "page_cache.dir " + dir + ": " + what + ": " + common::errno_text(err));
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_decimal(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void remove_tree(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);  // best effort: whatever stays is retried at the next start
}

std::string id_string(const FileIdRaw& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

struct Candidate {
  PageKey key;
  uint32_t bytes = 0;
  int64_t mtime_ns = 0;
  std::string path;
  // The file, still open with its block CRC table checked, for the first pages found (within
  // the open-file bound): once indexed, the page's first hit after a restart skips the open.
  std::shared_ptr<internal::OpenPage> page;
};

// Checks the header of a restored page file against its path and length; fills `c`. With
// `keep_open`, also reads the block CRC table and, when the table verifies, keeps the file
// open in c->page (a table that does not verify is left to the first read, as before).
bool valid_page_file(const std::string& path, uint32_t page_size, bool keep_open, Candidate* c) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  auto file = std::make_shared<internal::OpenPage>(fd);  // closes fd unless kept
  struct stat st {};
  const size_t want = keep_open ? kHeaderSize + table_bytes(page_size) : kHeaderSize;
  thread_local std::vector<char> prefix;
  prefix.resize(want);
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size < static_cast<off_t>(kHeaderSize) ||
      ::pread(fd, prefix.data(), kHeaderSize, 0) != static_cast<ssize_t>(kHeaderSize)) {
    return false;
  }
  auto h = decode_header(prefix.data());
  if (!h.ok() ||
      !header_matches(*h, page_size, c->key.index, c->key.id, static_cast<uint64_t>(st.st_size))) {
    return false;
  }
  c->bytes = static_cast<uint32_t>(st.st_size);
  c->mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (keep_open) {
    const size_t used = table_bytes(h->data_len);
    if (::pread(fd, prefix.data() + kHeaderSize, used, kHeaderSize) == static_cast<ssize_t>(used) &&
        file->take_table(*h, prefix.data() + kHeaderSize)) {
      c->page = std::move(file);
    }
  }
  return true;
}

}  // namespace

Status PageCache::open() {
  if (!options_.enabled) {
    stats_.enabled = false;
    return Status::Ok();
  }
  if (opened_.load()) return common::make_status(Code::kInvalid, "page cache already open");
  if (options_.dir.empty()) return common::make_status(Code::kInvalid, "page_cache.dir is empty");
  if (options_.page_size < 4096 || options_.page_size > (uint32_t{1} << 30)) {
    return common::make_status(Code::kInvalid, "page size must be between 4096 and 1GiB");
  }
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec) return dir_error(options_.dir, "cannot create", ec.value());
  ::chmod(options_.dir.c_str(), 0700);  // best effort: the directory may be pre-provisioned

  const std::string lock_path = options_.dir + "/.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return dir_error(options_.dir, "cannot open " + lock_path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return common::make_status(Code::kUnavailable,
                                 "page_cache.dir " + options_.dir +
                                     " is in use by another alluxio-fuse (lock " + lock_path +
                                     " is held)");
    }
    return dir_error(options_.dir, "cannot lock " + lock_path, err);
  }
  lock_fd_ = fd;

  // Move leftovers out of the way in O(1); the background thread deletes them.
  const std::string trash = options_.dir + "/.trash";
  if (::mkdir(trash.c_str(), 0700) != 0 && errno != EEXIST) {
    return dir_error(options_.dir, "cannot create " + trash, errno);
  }
  uint64_t n = 0;
  auto trash_name = [&] {
    return trash + "/" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  };
  ::rename(tmp_dir_.c_str(), trash_name().c_str());  // ENOENT on a fresh cache
  const std::string mine = std::to_string(options_.page_size);
  for (fs::directory_iterator it(options_.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name != mine && is_decimal(name)) ::rename(it->path().c_str(), trash_name().c_str());
  }
  if (::mkdir(root_.c_str(), 0700) != 0 && errno != EEXIST) {
    return dir_error(options_.dir, "cannot create " + root_, errno);
  }
  if (::mkdir(tmp_dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return dir_error(options_.dir, "cannot create " + tmp_dir_, errno);
  }

  {
    std::lock_guard<std::mutex> lock(restore_mu_);
    restoring_ = true;
  }
  stats_.enabled = true;
  opened_ = true;
  bg_thread_ = common::named_thread("af-cache-bg", [this] { background_loop(); });
  enqueue([this] { restore(); });
  return Status::Ok();
}

PageCache::~PageCache() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void PageCache::enqueue(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_queue_.push_back(std::move(task));
  }
  bg_cv_.notify_all();
}

void PageCache::background_loop() {
  std::unique_lock<std::mutex> lock(bg_mu_);
  for (;;) {
    bg_cv_.wait(lock, [&] { return bg_stop_ || !bg_queue_.empty(); });
    // Queued deletions still run at shutdown (they are quick); restore checks stopping_.
    if (bg_queue_.empty()) break;
    auto task = std::move(bg_queue_.front());
    bg_queue_.pop_front();
    bg_busy_ = true;
    lock.unlock();
    task();
    lock.lock();
    bg_busy_ = false;
    bg_cv_.notify_all();
  }
}

void PageCache::wait_for_background() {
  std::unique_lock<std::mutex> lock(bg_mu_);
  if (!bg_thread_.joinable()) return;
  bg_cv_.wait(lock, [&] { return bg_stop_ || (bg_queue_.empty() && !bg_busy_); });
}

bool PageCache::dropped_during_restore(const PageKey& key) {
  std::lock_guard<std::mutex> lock(restore_mu_);
  return dropped_ids_.count(id_string(key.id)) != 0;
}

std::optional<size_t> PageCache::adopt_restoring(const PageKey& key, std::string_view hex,
                                                 const std::shared_ptr<internal::Flight>& flight,
                                                 char* buf, size_t expected_len) {
  {
    std::lock_guard<std::mutex> lock(restore_mu_);
    if (!restoring_ || dropped_ids_.count(id_string(key.id)) != 0) return std::nullopt;
  }
  const std::string path = page_path(options_.dir, options_.page_size, hex, key.index);
  size_t len = 0;
  // Missing or failing verification: a plain miss; the load's rename replaces the file.
  if (read_verified(path, key, buf, expected_len, &len) != ReadOutcome::kOk) return std::nullopt;
  const uint64_t bytes = page_file_size(options_.page_size, len);
  if (reserve(bytes)) {
    // Live page at the LRU front; the walk finds it indexed and leaves it alone.
    insert_entry(key, static_cast<uint32_t>(bytes), flight);
  } else {
    Shard& s = shard_for(key);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.flights.find(key);
    if (it != s.flights.end() && it->second == flight) s.flights.erase(it);
  }
  publish(flight, len, buf);
  return len;
}

void PageCache::restore() {
  hook("restore");
  remove_tree(options_.dir + "/.trash");

  std::vector<Candidate> found;
  // Page files the walk may keep open: the bound of the open-file set (page_index.h).
  const size_t open_budget = shards_[0].open_cap * internal::kShardCount;
  size_t kept_open = 0;
  std::error_code ec;
  for (fs::directory_iterator b(root_, ec), end; !ec && b != end && !stopping_; b.increment(ec)) {
    const std::string bucket = b->path().filename().string();
    if (bucket == "tmp") continue;
    std::error_code ec2;
    if (bucket.size() != 2 || !is_lower_hex(bucket) || !b->is_directory(ec2) ||
        b->is_symlink(ec2)) {
      remove_tree(b->path());
      continue;
    }
    for (fs::directory_iterator f(b->path(), ec2); !ec2 && f != end; f.increment(ec2)) {
      const std::string id_hex = f->path().filename().string();
      std::error_code ec3;
      auto raw = parse_file_id(id_hex);
      if (!raw.ok() || id_hex.compare(0, 2, bucket) != 0 || !f->is_directory(ec3) ||
          f->is_symlink(ec3)) {
        remove_tree(f->path());
        continue;
      }
      size_t kept = 0;
      for (fs::directory_iterator p(f->path(), ec3); !ec3 && p != end; p.increment(ec3)) {
        Candidate c;
        c.key.id = *raw;
        c.path = p->path().string();
        if (!parse_page_index(p->path().filename().string(), &c.key.index) ||
            dropped_during_restore(c.key) ||
            !valid_page_file(c.path, options_.page_size, kept_open < open_budget, &c)) {
          remove_tree(p->path());
          continue;
        }
        if (c.page) ++kept_open;
        found.push_back(std::move(c));
        ++kept;
      }
      if (kept == 0) ::rmdir(f->path().c_str());
    }
  }

  std::sort(found.begin(), found.end(),
            [](const Candidate& a, const Candidate& b) { return a.mtime_ns > b.mtime_ns; });
  uint64_t tick = internal::kLiveTickBase - 1;
  size_t indexed = 0;
  size_t deleted = 0;
  for (Candidate& c : found) {
    if (stopping_) break;
    // Newest first: a page that does not fit now is older than all admitted ones.
    uint64_t cur = stats_.bytes.load();
    bool fits = false;
    while (cur + c.bytes <= options_.capacity) {
      if (stats_.bytes.compare_exchange_weak(cur, cur + c.bytes)) {
        fits = true;
        break;
      }
    }
    if (!fits) {
      c.page.reset();
      ::unlink(c.path.c_str());
      ++deleted;
      continue;
    }
    Shard& s = shard_for(c.key);
    bool admitted = false;
    bool dropped = false;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      if (s.find(c.key) == nullptr && s.flights.count(c.key) == 0) {
        std::lock_guard<std::mutex> rlock(restore_mu_);  // order: shard, then restore_mu_
        dropped = dropped_ids_.count(id_string(c.key.id)) != 0;
        if (!dropped) {
          Node n;
          n.key = c.key;
          n.bytes = c.bytes;
          n.gen = gen_.fetch_add(1);
          n.tick = tick--;
          auto [it, inserted] = s.nodes.insert(n);
          (void)inserted;
          s.link_back(&*it);
          // Newest first: a full shard keeps the newer files it already holds.
          if (c.page && s.open.size() < s.open_cap) s.keep_open(c.key, n.gen, c.page);
          stats_.pages.fetch_add(1);
          admitted = true;
        }
      }
    }
    if (admitted) {
      ++indexed;
      continue;
    }
    stats_.bytes.fetch_sub(c.bytes);
    if (dropped) {
      ::unlink(c.path.c_str());
      ++deleted;
    }
    // Otherwise a live load owns the path now: leave the file alone.
  }
  {
    std::lock_guard<std::mutex> lock(restore_mu_);
    restoring_ = false;
    dropped_ids_.clear();
  }
  spdlog::info("page cache: restored {} pages ({} bytes) under {}; deleted {} over capacity",
               indexed, stats_.bytes.load(), root_, deleted);
}

void PageCache::drop_file(std::string_view file_id) {
  auto raw = parse_file_id(file_id);
  if (!raw.ok() || !opened_.load()) return;
  {
    std::lock_guard<std::mutex> lock(restore_mu_);
    if (restoring_) dropped_ids_.insert(id_string(*raw));
  }
  std::vector<std::pair<uint64_t, uint32_t>> dropped;  // page index, bytes
  for (size_t i = 0; i < internal::kShardCount; ++i) {
    Shard& s = shards_[i];
    std::lock_guard<std::mutex> lock(s.mu);
    s.close_open_file(*raw);
    for (auto it = s.nodes.begin(); it != s.nodes.end();) {
      if (it->key.id == *raw) {
        dropped.emplace_back(it->key.index, it->bytes);
        s.unlink(&*it);
        it = s.nodes.erase(it);
        stats_.pages.fetch_sub(1);
      } else {
        ++it;
      }
    }
  }
  std::string hex(file_id);
  enqueue([this, hex = std::move(hex), dropped = std::move(dropped)] {
    for (const auto& [index, bytes] : dropped) {
      ::unlink(page_path(options_.dir, options_.page_size, hex, index).c_str());
      stats_.bytes.fetch_sub(bytes);  // released only once the file is gone
    }
    // Fails while a reader of the old version re-stored a page there; eviction cleans it up.
    ::rmdir(file_dir(options_.dir, options_.page_size, hex).c_str());
  });
}

}  // namespace alluxio_fuse::cache
