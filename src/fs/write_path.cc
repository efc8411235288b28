// The write path of semantics.md §3.3: staged copies, commits, truncate and attribute changes.
//
// Every inode open for writing has one staged copy (Staged) in the staging area, shared by all
// its write handles like a local file. The copy is filled lazily: O_TRUNC and new files start
// empty, anything else downloads the whole file at the first write or truncate. A commit
// (flush, fsync, truncate(path), rename of the file) uploads the whole copy with
// Store::write_file and is the only way data reaches the store; it returns OK only when the
// store accepted it. A failed commit keeps the copy dirty (the next flush tries again) and
// keeps a copy under failed/ with a log line naming the key and the path.
//
// Staged::mu serialises one file's writes, truncates and upload, so an upload is one
// consistent snapshot; it is never taken while a global lock is held. The last release of a
// dirty copy (mmap write-back after close) commits on the background thread; then the copy is
// deleted.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <vector>

#include "alluxio_fuse/common/errno_text.h"
#include "alluxio_fuse/common/thread_name.h"
#include "alluxio_fuse/fs/file_system.h"
#include "fs_internal.h"

namespace alluxio_fuse::fs {

using common::Code;

namespace {

Status os_error(int err, const std::string& what) {
  Code code = (err == ENOSPC || err == EDQUOT) ? Code::kNoSpace
              : err == EFBIG                   ? Code::kTooLarge
                                               : Code::kIo;
  return Status(code, what + ": " + common::errno_text(err));
}

Status pwrite_all(int fd, const char* data, size_t length, uint64_t offset) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pwrite(fd, data + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(errno, "write to the staged copy");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// The errno a failed commit reports (semantics.md §3.3): ENOSPC, EFBIG and EROFS say something
// the caller can act on; every other failure is EIO.
Code commit_code(Code code) {
  switch (code) {
    case Code::kNoSpace:
    case Code::kTooLarge:
    case Code::kReadOnly:
      return code;
    default:
      return Code::kIo;
  }
}

}  // namespace

FileSystem::Staged::~Staged() {
  if (fd >= 0) ::close(fd);
}

FileSystem::Background::Background()
    : thread_(common::named_thread("af-commit", [this] { run(); })) {}

FileSystem::Background::~Background() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void FileSystem::Background::submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
    ++submitted_;
  }
  cv_.notify_all();
}

void FileSystem::Background::drain() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t target = submitted_;
  cv_.wait(lock, [&] { return done_ >= target; });
}

void FileSystem::Background::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stop_ and nothing left
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("background commit: unexpected exception: {}", e.what());
    } catch (...) {
      spdlog::error("background commit: unexpected exception");
    }
    lock.lock();
    ++done_;
    cv_.notify_all();
  }
}

Result<std::shared_ptr<FileSystem::Staged>> FileSystem::acquire_staged(
    const std::shared_ptr<Inode>& node) {
  if (!staging_->usable()) {
    return Status(Code::kReadOnly, "file writes need a usable write.staging_dir");
  }
  for (;;) {
    std::shared_ptr<Staged> s;
    std::string key;
    {
      std::lock_guard<std::mutex> lock(inodes_mu_);
      s = node->staged;
      key = node->key;
    }
    if (s) {
      std::lock_guard<std::mutex> lock(s->mu);
      if (s->detached) continue;  // raced with its last release: make a new one
      ++s->writers;
      return s;
    }
    std::chrono::nanoseconds remaining{0};
    auto info = fetch_attr(key, &remaining);
    if (!info.ok()) return info.status();
    if (info->is_dir()) return Status(Code::kIsDir, "open of a directory for writing: " + key);
    auto fresh = std::make_shared<Staged>();
    fresh->node = node;
    auto fd = staging_->create(key, &fresh->path);
    if (!fd.ok()) return fd.status();
    fresh->fd = *fd;
    fresh->writers = 1;
    fresh->size = info->size;  // the committed size until materialized
    fresh->base_version = store::version_tag(*info);
    {
      std::lock_guard<std::mutex> lock(inodes_mu_);
      if (!node->staged) {
        node->staged = fresh;
        return fresh;
      }
    }
    staging_->remove(fresh->path);  // another open won the race; use its copy
  }
}

void FileSystem::release_writer(const std::shared_ptr<Staged>& s) {
  {
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->writers > 0) --s->writers;
    if (s->writers > 0 || s->detached) return;
    if (!s->dirty || s->discarded) {
      detach_locked(*s);
      return;
    }
  }
  // Written after the last flush (e.g. mmap write-back after close): commit in the background;
  // FUSE drops release errors, so a failure can only be logged and kept (§3.3).
  background_->submit([this, s] { finish_staged(s); });
}

void FileSystem::finish_staged(const std::shared_ptr<Staged>& s) {
  std::lock_guard<std::mutex> lock(s->mu);
  if (s->writers > 0 || s->detached) return;  // reopened meanwhile: its handles own it now
  if (s->dirty && !s->discarded) commit_locked(*s, true).ignore();  // logged and kept
  detach_locked(*s);
}

void FileSystem::detach_locked(Staged& s) {
  s.detached = true;
  s.shows = false;
  if (!s.path.empty()) {
    staging_->remove(s.path);
    s.path.clear();
  }
  staging_->unreserve(s.reserved);
  s.reserved = 0;
  std::lock_guard<std::mutex> lock(inodes_mu_);
  auto& node = s.node;
  if (node->staged.get() == &s) {
    auto local = local_files_.find(node->key);
    if (local != local_files_.end() && local->second == node->ino) local_files_.erase(local);
    // `s` stays alive: the caller holds a reference (never destroy a locked mutex).
    node->staged.reset();
  }
  drop_inode_if_unused_locked(node);
}

Status FileSystem::materialize_locked(Staged& s, const std::string& key) {
  if (s.materialized) return Status::Ok();
  auto info = store_.stat(key);
  if (!info.ok() && info.status().code() != Code::kNotFound) return info.status();
  if (info.ok() && info->is_dir()) return Status(Code::kIsDir, "directory: " + key);
  if (info.ok() && !info->completed) {
    return Status(Code::kIo, "file is still being written elsewhere: " + key);
  }
  // A file removed elsewhere starts empty: the next commit re-creates it (§2.6).
  const bool exact = info.ok() ? info->size_exact : true;
  const uint64_t size = info.ok() ? info->size : 0;
  if (exact && size > options_.max_file_size) {
    return Status(Code::kTooLarge, "file larger than write.max_file_size: " + key);
  }
  if (::ftruncate(s.fd, 0) != 0) return os_error(errno, "truncate staged copy of " + key);
  // At most the file's size (small files are the common case), and not zero-filled: every
  // byte handed on was read into it first.
  const uint64_t max_chunk = std::max<uint64_t>(options_.page_size, 64 << 10);
  const uint64_t chunk = exact ? std::clamp<uint64_t>(size, 1, max_chunk) : max_chunk;
  auto buf = std::make_unique_for_overwrite<char[]>(chunk);
  uint64_t off = 0;
  for (;;) {
    if (exact && off >= size) break;
    const size_t want = static_cast<size_t>(exact ? std::min(chunk, size - off) : chunk);
    if (off + want > s.reserved) {
      if (off + want > options_.max_file_size) {
        return Status(Code::kTooLarge, "file larger than write.max_file_size: " + key);
      }
      AF_RETURN_IF_ERROR(staging_->reserve(off + want - s.reserved));
      s.reserved = off + want;
    }
    store::ReadRequest req;
    req.key = key;
    req.offset = off;
    req.length = want;
    if (exact) req.known_size = size;
    auto got = store_.read(req, buf.get());
    if (!got.ok()) return got.status();
    AF_RETURN_IF_ERROR(pwrite_all(s.fd, buf.get(), got->bytes, off));
    off += got->bytes;
    if (got->bytes < want) {
      if (exact) {
        return Status(Code::kIo, "file changed while being staged (got " + std::to_string(off) +
                                     " of " + std::to_string(size) + " bytes): " + key);
      }
      break;
    }
  }
  s.size = off;
  s.materialized = true;
  if (info.ok()) s.base_version = store::version_tag(*info);
  s.view_size = s.size;
  return Status::Ok();
}

Status FileSystem::resize_locked(Staged& s, uint64_t size) {
  if (size > options_.max_file_size) {
    return Status(Code::kTooLarge, "size beyond write.max_file_size");
  }
  if (!s.materialized) {
    // Until materialized, s.size is the committed size: truncating to it changes nothing.
    if (size == s.size) return Status::Ok();
    if (size == 0) {
      if (::ftruncate(s.fd, 0) != 0) return os_error(errno, "truncate staged copy");
      s.materialized = true;  // empty: no download needed
    } else {
      AF_RETURN_IF_ERROR(materialize_locked(s, node_key(*s.node)));
    }
  }
  const bool changed = size != s.size;
  if (size > s.reserved) {
    AF_RETURN_IF_ERROR(staging_->reserve(size - s.reserved));
    s.reserved = size;
  }
  if (::ftruncate(s.fd, static_cast<off_t>(size)) != 0) {
    return os_error(errno, "truncate staged copy");
  }
  if (size < s.reserved) {
    staging_->unreserve(s.reserved - size);
    s.reserved = size;
  }
  if (changed) {
    s.size = size;
    s.dirty = true;
    s.view_size = size;
    s.view_mtime_ns = wall_now_ns();
    s.shows = true;
  }
  return Status::Ok();
}

Status FileSystem::commit_locked(Staged& s, bool final_attempt) {
  if (!s.dirty || s.discarded) return Status::Ok();
  std::string key;
  uint64_t ino;
  std::string kernel_version;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    key = s.node->key;
    ino = s.node->ino;
    if (s.node->kernel_version_known) kernel_version = s.node->kernel_version;
  }
  Status uploaded = store_.write_file(key, s.fd, s.size);
  if (!uploaded.ok()) {
    stats_.commits_error.fetch_add(1, std::memory_order_relaxed);
    std::string kept = "staged copy not kept (write.keep_failed is off)";
    if (options_.keep_failed) {
      // On the final attempt the staged file itself moves to failed/; before, a copy goes
      // there and the copy stays dirty for the next flush.
      Status k =
          staging_->keep_failed(key, s.fd, s.size, final_attempt ? s.path : "", &s.failed_path);
      if (!k.ok()) {
        kept = "staged copy could not be kept: " + k.to_string();
      } else {
        kept = "staged copy kept at " + s.failed_path;
        if (final_attempt) {
          staging_->unreserve(s.reserved > s.size ? s.reserved - s.size : 0);
          s.reserved = 0;
          s.path.clear();
        }
      }
    }
    spdlog::error("commit of {} ({} bytes) failed: {}; {}", key, s.size, uploaded.to_string(),
                  kept);
    return Status(commit_code(uploaded.code()),
                  "commit of " + key + " failed: " + uploaded.message());
  }
  stats_.commits_ok.fetch_add(1, std::memory_order_relaxed);
  stats_.commit_bytes.fetch_add(s.size, std::memory_order_relaxed);
  s.dirty = false;
  const bool was_local = s.local_only.exchange(false);
  s.shows = false;
  if (!s.failed_path.empty()) {
    // The data is durable now; the earlier failed copy is redundant.
    spdlog::info("commit of {} succeeded; dropping the failed copy {}", key, s.failed_path);
    staging_->discard_kept(s.failed_path);
    s.failed_path.clear();
  }
  if (was_local && store_.posix_attributes()) {
    // Files created here carry the requested mode and, as root, the caller's owner (§2.5).
    if (s.create_mode) {
      Status m = store_.set_mode(key, *s.create_mode);
      if (!m.ok()) spdlog::warn("mode of new file {}: {}", key, m.to_string());
    }
    if (s.create_owner) {
      Status o = store_.set_owner(key, s.create_owner->uid, s.create_owner->gid);
      if (!o.ok()) spdlog::warn("owner of new file {}: {}", key, o.to_string());
    }
  }
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    auto local = local_files_.find(key);
    if (local != local_files_.end() && local->second == ino) local_files_.erase(local);
    s.node->kernel_version_known = false;
  }
  meta_.invalidate(key, parent_key_of(options_.root, key));
  drop_cached_versions(key, s.base_version, kernel_version);
  s.base_version.clear();
  notify_inode(ino);
  return Status::Ok();
}

Status FileSystem::commit_inode(const std::shared_ptr<Inode>& node) {
  std::shared_ptr<Staged> s;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    s = node->staged;
  }
  if (!s) return Status::Ok();
  std::lock_guard<std::mutex> lock(s->mu);
  return commit_locked(*s, false);
}

Result<size_t> FileSystem::write(uint64_t fh, uint64_t offset, const char* data, size_t length) {
  auto h = file_handle(fh);
  if (!h) return Status(Code::kBadHandle, "unknown file handle");
  if (!h->writable || !h->staged) return Status(Code::kBadHandle, "handle not open for writing");
  Staged& s = *h->staged;
  std::lock_guard<std::mutex> lock(s.mu);
  AF_RETURN_IF_ERROR(materialize_locked(s, node_key(*h->node)));
  if (h->append) offset = s.size;
  const uint64_t end = offset + length;
  if (end > options_.max_file_size || end < offset) {
    return Status(Code::kTooLarge, "write beyond write.max_file_size");
  }
  if (end > s.reserved) {
    AF_RETURN_IF_ERROR(staging_->reserve(end - s.reserved));
    s.reserved = end;
  }
  AF_RETURN_IF_ERROR(pwrite_all(s.fd, data, length, offset));
  if (end > s.size) s.size = end;
  s.dirty = true;
  s.view_size = s.size;
  s.view_mtime_ns = wall_now_ns();
  s.shows = true;
  stats_.written_bytes.fetch_add(length, std::memory_order_relaxed);
  return length;
}

Status FileSystem::flush(uint64_t fh) {
  auto h = file_handle(fh);
  if (!h) return Status(Code::kBadHandle, "unknown file handle");
  if (!h->writable || !h->staged) return Status::Ok();  // a read handle's flush is 0
  std::lock_guard<std::mutex> lock(h->staged->mu);
  return commit_locked(*h->staged, false);
}

Status FileSystem::fsync(uint64_t fh) { return flush(fh); }

Status FileSystem::truncate(const std::shared_ptr<Inode>& node, uint64_t size, uint64_t fh) {
  std::shared_ptr<Staged> s;
  if (fh != 0) {
    auto h = file_handle(fh);
    if (h && h->writable) s = h->staged;
  }
  if (s) {
    // ftruncate on a write handle: committed at its flush.
    std::lock_guard<std::mutex> lock(s->mu);
    return resize_locked(*s, size);
  }
  // truncate(path): stage, truncate and commit before replying (§3.3).
  auto acquired = acquire_staged(node);
  if (!acquired.ok()) return acquired.status();
  s = *acquired;
  Status result;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    result = resize_locked(*s, size);
    if (result.ok()) result = commit_locked(*s, false);
  }
  release_writer(s);
  return result;
}

Status FileSystem::apply_attributes(const std::shared_ptr<Inode>& node, const SetAttr& attr) {
  const bool times = attr.atime != SetAttr::Time::kOmit || attr.mtime != SetAttr::Time::kOmit;
  if (store_.posix_attributes()) {
    // Standalone file:// (§2.5): pass through. A pending commit would replace the file and
    // undo the change (cp -p sets times before close), so commit first.
    AF_RETURN_IF_ERROR(commit_inode(node));
    std::string key = node_key(*node);
    if (attr.mode) AF_RETURN_IF_ERROR(store_.set_mode(key, *attr.mode & 07777));
    if (attr.uid || attr.gid) AF_RETURN_IF_ERROR(store_.set_owner(key, attr.uid, attr.gid));
    if (times) {
      auto pick = [](SetAttr::Time t, int64_t ns) -> std::optional<int64_t> {
        if (t == SetAttr::Time::kOmit) return std::nullopt;
        return t == SetAttr::Time::kNow ? wall_now_ns() : ns;
      };
      AF_RETURN_IF_ERROR(
          store_.set_times(key, pick(attr.atime, attr.atime_ns), pick(attr.mtime, attr.mtime_ns)));
    }
    meta_.invalidate(key, parent_key_of(options_.root, key));
    return Status::Ok();
  }
  // The worker API cannot change them: a change to the value already reported is a no-op
  // that succeeds (tools re-apply modes), anything else is EPERM.
  auto current = getattr(node->ino);
  if (!current.ok()) return current.status();
  const Stat& st = current->stat;
  if (attr.mode && (*attr.mode & 07777) != (st.mode & 07777)) {
    return Status(Code::kNotPermitted, "chmod is not supported by this store");
  }
  if ((attr.uid && *attr.uid != st.uid) || (attr.gid && *attr.gid != st.gid)) {
    return Status(Code::kNotPermitted, "chown is not supported by this store");
  }
  if (attr.atime == SetAttr::Time::kExplicit || attr.mtime == SetAttr::Time::kExplicit) {
    return Status(Code::kNotPermitted, "explicit timestamps are not supported by this store");
  }
  return Status::Ok();  // UTIME_NOW: accepted, the mtime is not updated (documented)
}

Result<Entry> FileSystem::setattr(uint64_t ino, const SetAttr& attr, uint64_t fh) {
  auto node = inode(ino);
  if (!node) return Status(Code::kStale, "unknown inode " + std::to_string(ino));
  AF_RETURN_IF_ERROR(check_writable());
  if (attr.size) AF_RETURN_IF_ERROR(truncate(node, *attr.size, fh));
  if (attr.mode || attr.uid || attr.gid || attr.atime != SetAttr::Time::kOmit ||
      attr.mtime != SetAttr::Time::kOmit) {
    AF_RETURN_IF_ERROR(apply_attributes(node, attr));
  }
  return getattr(ino);
}

void FileSystem::refuse_opens() {
  refusing_opens_ = true;
  if (background_) background_->drain();
}

size_t FileSystem::open_files() {
  std::lock_guard<std::mutex> lock(handles_mu_);
  return files_.size();
}

void FileSystem::shutdown() {
  if (!background_) return;
  background_->drain();
  std::vector<std::shared_ptr<Staged>> all;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    for (const auto& [ino, node] : by_ino_) {
      if (node->staged) all.push_back(node->staged);
    }
  }
  for (const auto& s : all) {
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->detached) continue;
    if (s->dirty && !s->discarded) {
      spdlog::info("shutdown: committing {} ({} bytes)", node_key(*s->node), s->size);
      commit_locked(*s, true).ignore();  // logged and kept under failed/
    }
    if (!s->path.empty()) {
      staging_->remove(s->path);
      s->path.clear();
    }
  }
}

}  // namespace alluxio_fuse::fs
