// Namespace operations of semantics.md §2: create, mknod, mkdir, unlink, rmdir, rename.
//
// Each checks names the way §2.1 says (creating an invalid name is EINVAL, a lookup of one is
// ENOENT), asks the store, then brings this mount's state in line: the inode table (keys move
// with renames, removed names leave "unlinked" inodes that open handles keep using), the
// overlay of local files and hidden names, and the metadata cache (own mutations are never
// served stale). The kernel updates its own dentries for operations it sent us.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>

#include "alluxio_fuse/cache/page_cache.h"
#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/fs/file_system.h"
#include "fs_internal.h"

namespace alluxio_fuse::fs {

using common::Code;

namespace {

// A rename failure that says nothing moved (the store answered, it did not time out).
bool definite_failure(Code code) {
  switch (code) {
    case Code::kNotFound:
    case Code::kExists:
    case Code::kNotEmpty:
    case Code::kNotDir:
    case Code::kIsDir:
    case Code::kInvalid:
    case Code::kPermission:
    case Code::kNotPermitted:
    case Code::kReadOnly:
    case Code::kNameTooLong:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::string> FileSystem::child_key_checked(uint64_t parent, const std::string& name,
                                                  bool creating, std::shared_ptr<Inode>* dir) {
  *dir = inode(parent);
  if (!*dir) return Status(Code::kStale, "unknown inode " + std::to_string(parent));
  Status valid = common::check_name(name);
  if (!valid.ok()) {
    if (creating || valid.code() == Code::kNameTooLong) return valid;
    return Status(Code::kNotFound, "invalid name");
  }
  std::string key = common::child_key(node_key(**dir), name);
  if (key.size() > common::kMaxKeyBytes) return Status(Code::kNameTooLong, "key over 4096 bytes");
  return key;
}

void FileSystem::mark_unlinked_locked(const std::shared_ptr<Inode>& node) {
  auto k = by_key_.find(node->key);
  if (k != by_key_.end() && k->second == node->ino) by_key_.erase(k);
  auto local = local_files_.find(node->key);
  if (local != local_files_.end() && local->second == node->ino) local_files_.erase(local);
  node->unlinked = true;
}

void FileSystem::flush_deferred_remove(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    auto it = hidden_.find(key);
    if (it == hidden_.end()) return;
    auto node = by_ino_.find(it->second);
    if (node != by_ino_.end()) node->second->remove_pending = false;
    hidden_.erase(it);
  }
  // A new file or directory takes the name: the old one's remote remove cannot wait any more.
  Status removed = store_.remove(key, false);
  if (!removed.ok() && removed.code() != Code::kNotFound) {
    spdlog::warn("remove of {} (unlinked while open) failed: {}", key, removed.to_string());
  }
  meta_.invalidate(key, parent_key_of(options_.root, key));
}

void FileSystem::rekey_locked(const std::string& src, const std::string& dst, bool dir) {
  auto move_key = [&](const std::string& key) { return dst + key.substr(src.size()); };
  std::vector<std::shared_ptr<Inode>> moved;
  auto exact = by_key_.find(src);
  if (exact != by_key_.end()) moved.push_back(by_ino_.at(exact->second));
  if (dir) {
    // Descendants, including files unlinked here whose remote remove is still pending (the
    // store moves those too); ghosts of replaced names keep their old keys.
    for (const auto& [ino, node] : by_ino_) {
      if (node->key.size() > src.size() && key_within(node->key, src) &&
          (!node->unlinked || node->remove_pending)) {
        moved.push_back(node);
      }
    }
  }
  std::vector<bool> named(moved.size(), false);
  for (size_t i = 0; i < moved.size(); ++i) {
    auto k = by_key_.find(moved[i]->key);
    if (k != by_key_.end() && k->second == moved[i]->ino) {
      by_key_.erase(k);
      named[i] = true;
    }
  }
  for (size_t i = 0; i < moved.size(); ++i) {
    auto& node = moved[i];
    node->key = move_key(node->key);
    if (!named[i]) continue;
    auto existing = by_key_.find(node->key);
    if (existing != by_key_.end() && existing->second != node->ino) {
      // An inode the kernel still holds for a name that was replaced: it no longer has one.
      auto ghost = by_ino_.find(existing->second);
      if (ghost != by_ino_.end()) ghost->second->unlinked = true;
    }
    by_key_[node->key] = node->ino;
  }
  auto move_map = [&](std::unordered_map<std::string, uint64_t>& map) {
    std::vector<std::pair<std::string, uint64_t>> entries;
    for (auto it = map.begin(); it != map.end();) {
      if (key_within(it->first, src)) {
        entries.emplace_back(move_key(it->first), it->second);
        it = map.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& e : entries) map[e.first] = e.second;
  };
  move_map(local_files_);
  move_map(hidden_);
}

Result<CreateReply> FileSystem::create(uint64_t parent, const std::string& name, uint32_t mode,
                                       int flags, const Caller& caller) {
  if (refusing_opens_.load()) return Status(Code::kIo, "shutting down: no new opens");
  AF_RETURN_IF_ERROR(check_writable());
  std::shared_ptr<Inode> dir;
  auto key = child_key_checked(parent, name, true, &dir);
  if (!key.ok()) return key.status();
  // Exists? The overlay, else a fresh answer from the store (§2.3: O_EXCL is checked fresh).
  store::FileInfo local;
  Overlay ov = overlay(*key, &local);
  bool exists = ov == Overlay::kLocal;
  bool is_dir = false;
  if (ov == Overlay::kNone) {
    std::chrono::nanoseconds remaining{0};
    auto info = attr_of(*key, &remaining, true);
    if (info.ok()) {
      exists = true;
      is_dir = info->is_dir();
    } else if (info.status().code() != Code::kNotFound) {
      return info.status();
    }
  }
  if (exists) {
    if ((flags & O_EXCL) != 0) return Status(Code::kExists, "file exists: " + *key);
    if (is_dir) return Status(Code::kIsDir, "a directory: " + *key);
    auto node = ref_inode(*key, 1);
    auto opened = open(node->ino, flags & ~(O_CREAT | O_EXCL));
    if (!opened.ok()) {
      forget(node->ino, 1);
      return opened.status();
    }
    auto entry = getattr(node->ino);
    if (!entry.ok()) {
      release(opened->fh);
      forget(node->ino, 1);
      return entry.status();
    }
    return CreateReply{*entry, *opened};
  }
  if (!staging_->usable()) {
    return Status(Code::kReadOnly, "file writes need a usable write.staging_dir");
  }
  flush_deferred_remove(*key);

  auto s = std::make_shared<Staged>();
  auto fd = staging_->create(*key, &s->path);
  if (!fd.ok()) return fd.status();
  s->fd = *fd;
  s->materialized = true;
  s->dirty = true;  // an empty new file is committed at the first flush
  s->writers = 1;
  s->local_only = true;
  s->shows = true;
  s->view_mtime_ns = wall_now_ns();
  if (store_.posix_attributes()) {
    s->create_mode = mode & 07777;
    if (as_root_) s->create_owner = caller;
  }
  std::shared_ptr<Inode> node;
  bool taken = false;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    node = ref_inode_locked(*key, 1);
    if (node->staged) {
      // Open here already (a concurrent create, or a file deleted elsewhere while open for
      // writing here): use that staged copy, as a second writer would.
      taken = true;
    } else {
      s->node = node;
      node->staged = s;
      node->unlinked = false;
      local_files_[*key] = node->ino;
    }
  }
  if (taken) {
    staging_->remove(s->path);
    if ((flags & O_EXCL) != 0) {
      forget(node->ino, 1);
      return Status(Code::kExists, "file exists: " + *key);
    }
    auto opened = open(node->ino, flags & ~(O_CREAT | O_EXCL));
    auto entry = opened.ok() ? getattr(node->ino) : Result<Entry>(opened.status());
    if (!opened.ok() || !entry.ok()) {
      if (opened.ok()) release(opened->fh);
      forget(node->ino, 1);
      return entry.status();
    }
    return CreateReply{*entry, *opened};
  }
  meta_.invalidate(*key, parent_key_of(options_.root, *key));
  auto h = std::make_shared<FileHandle>();
  h->node = node;
  h->writable = true;
  h->append = (flags & O_APPEND) != 0;
  h->staged = s;
  CreateReply reply;
  reply.open.direct_io = options_.direct_io || (flags & O_DIRECT) != 0;
  reply.open.fh = add_handle(std::move(h));
  store::FileInfo info;
  info.name = name;
  apply_staged(*s, &info);
  reply.entry = make_entry(node->ino, info, options_.metadata.ttl);
  return reply;
}

Result<Entry> FileSystem::mknod(uint64_t parent, const std::string& name, uint32_t mode,
                                const Caller& caller) {
  if ((mode & S_IFMT) != S_IFREG && (mode & S_IFMT) != 0) {
    return Status(Code::kUnsupported, "only regular files can be created");
  }
  auto created = create(parent, name, mode, O_WRONLY | O_CREAT | O_EXCL, caller);
  if (!created.ok()) return created.status();
  Status committed = flush(created->open.fh);
  release(created->open.fh);
  if (!committed.ok()) {
    forget(created->entry.stat.ino, 1);
    return committed;
  }
  return getattr(created->entry.stat.ino);
}

Result<Entry> FileSystem::mkdir(uint64_t parent, const std::string& name, uint32_t mode,
                                const Caller& caller) {
  AF_RETURN_IF_ERROR(check_writable());
  std::shared_ptr<Inode> dir;
  auto key = child_key_checked(parent, name, true, &dir);
  if (!key.ok()) return key.status();
  store::FileInfo local;
  if (overlay(*key, &local) == Overlay::kLocal) {
    return Status(Code::kExists, "file exists: " + *key);
  }
  flush_deferred_remove(*key);
  const std::string parent_key = parent_key_of(options_.root, *key);
  Status made = store_.mkdir(*key);
  meta_.invalidate(*key, parent_key);
  if (!made.ok()) return made;
  if (store_.posix_attributes()) {
    Status m = store_.set_mode(*key, mode & 07777);
    if (!m.ok()) spdlog::warn("mode of new directory {}: {}", *key, m.to_string());
    if (as_root_) {
      Status o = store_.set_owner(*key, caller.uid, caller.gid);
      if (!o.ok()) spdlog::warn("owner of new directory {}: {}", *key, o.to_string());
    }
  }
  store::FileInfo info;
  auto fresh = store_.stat(*key);
  if (fresh.ok()) {
    info = *fresh;
    meta_.put_attr(*key, info);
  } else {
    info.name = name;
    info.type = store::FileType::kDirectory;
    info.mtime_ns = wall_now_ns();
    info.mtime_ms = info.mtime_ns / 1000000;
  }
  auto node = ref_inode(*key, 1);
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    node->unlinked = false;
  }
  return make_entry(node->ino, info, options_.metadata.ttl);
}

void FileSystem::drop_pages_of(const std::string& key, const store::FileInfo* info,
                               const std::shared_ptr<Inode>& node) {
  if (page_cache_ == nullptr) return;
  std::string served;
  if (node) {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    if (node->kernel_version_known) served = node->kernel_version;
  }
  drop_cached_versions(key, info != nullptr ? store::version_tag(*info) : std::string(), served);
}

void FileSystem::drop_cached_versions(const std::string& key, const std::string& a,
                                      const std::string& b) {
  if (page_cache_ == nullptr) return;
  if (!a.empty()) page_cache_->drop_file(cache::PageCache::make_file_id(key, a));
  if (!b.empty() && b != a) page_cache_->drop_file(cache::PageCache::make_file_id(key, b));
}

Status FileSystem::unlink(uint64_t parent, const std::string& name) {
  AF_RETURN_IF_ERROR(check_writable());
  std::shared_ptr<Inode> dir;
  auto key = child_key_checked(parent, name, false, &dir);
  if (!key.ok()) return key.status();
  std::chrono::nanoseconds remaining{0};
  auto info = attr_of(*key, &remaining, false);
  if (!info.ok()) return info.status();
  if (info->is_dir()) return Status(Code::kIsDir, "unlink of a directory: " + *key);

  std::shared_ptr<Inode> node;
  std::shared_ptr<Staged> staged;
  bool local = false;
  bool defer = false;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    auto it = by_key_.find(*key);
    if (it != by_key_.end()) node = by_ino_.at(it->second);
    local = local_files_.count(*key) != 0;
    if (node) {
      staged = node->staged;
      defer = !local && node->open_handles > 0;
    }
  }
  const std::string parent_key = parent_key_of(options_.root, *key);
  if (!local && !defer) {
    drop_pages_of(*key, &*info, node);
    Status removed = store_.remove(*key, false);
    meta_.invalidate(*key, parent_key);
    if (!removed.ok()) return removed;
  }
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    if (node) {
      mark_unlinked_locked(node);
      if (defer) {
        // Open here: the name goes now, the remote file at the last release (§2.6).
        node->remove_pending = true;
        hidden_[*key] = node->ino;
      }
    }
  }
  if (staged) {
    // The file has no name any more: its staged data is never committed (§2.6).
    std::lock_guard<std::mutex> lock(staged->mu);
    staged->discarded = true;
    staged->dirty = false;
    staged->local_only = false;
  }
  meta_.invalidate(*key, parent_key);
  if (!defer) meta_.put_negative(*key);
  return Status::Ok();
}

Status FileSystem::rmdir(uint64_t parent, const std::string& name) {
  AF_RETURN_IF_ERROR(check_writable());
  std::shared_ptr<Inode> dir;
  auto key = child_key_checked(parent, name, false, &dir);
  if (!key.ok()) return key.status();
  std::chrono::nanoseconds remaining{0};
  auto info = attr_of(*key, &remaining, false);
  if (!info.ok()) return info.status();
  if (!info->is_dir()) return Status(Code::kNotDir, "not a directory: " + *key);
  if (has_local_children(*key)) return Status(Code::kNotEmpty, "directory not empty: " + *key);
  // List first (§2.2): the remove is never recursive, whatever the backend would do.
  auto listing = store_.list(*key);
  if (!listing.ok()) return listing.status();
  if (!listing->empty()) return Status(Code::kNotEmpty, "directory not empty: " + *key);
  const std::string parent_key = parent_key_of(options_.root, *key);
  Status removed = store_.remove(*key, true);
  meta_.invalidate_prefix(*key);
  meta_.invalidate(*key, parent_key);
  if (!removed.ok()) return removed;
  meta_.put_negative(*key);
  std::lock_guard<std::mutex> lock(inodes_mu_);
  auto it = by_key_.find(*key);
  if (it != by_key_.end()) mark_unlinked_locked(by_ino_.at(it->second));
  return Status::Ok();
}

Status FileSystem::rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                          const std::string& new_name, unsigned flags) {
  AF_RETURN_IF_ERROR(check_writable());
  if ((flags & (kRenameExchange | kRenameWhiteout)) != 0 || (flags & ~7U) != 0) {
    return Status(Code::kInvalid, "RENAME_EXCHANGE and RENAME_WHITEOUT are not supported");
  }
  std::shared_ptr<Inode> src_dir;
  std::shared_ptr<Inode> dst_dir;
  auto src = child_key_checked(parent, name, false, &src_dir);
  if (!src.ok()) return src.status();
  auto dst = child_key_checked(new_parent, new_name, true, &dst_dir);
  if (!dst.ok()) return dst.status();
  std::chrono::nanoseconds remaining{0};
  auto src_info = attr_of(*src, &remaining, false);
  if (!src_info.ok()) return src_info.status();
  const bool src_is_dir = src_info->is_dir();
  if (*src == *dst) return Status::Ok();
  if (src_is_dir && key_within(*dst, *src)) {
    return Status(Code::kInvalid, "cannot move a directory into itself: " + *src);
  }
  std::shared_ptr<Inode> src_node;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    auto it = by_key_.find(*src);
    if (it != by_key_.end()) src_node = by_ino_.at(it->second);
  }
  // Uncommitted data is committed first; its errors are rename's (§2.4).
  if (!src_is_dir && src_node) AF_RETURN_IF_ERROR(commit_inode(src_node));
  flush_deferred_remove(*dst);

  auto dst_info = attr_of(*dst, &remaining, true);
  if (!dst_info.ok() && dst_info.status().code() != Code::kNotFound) return dst_info.status();
  const std::string src_parent = parent_key_of(options_.root, *src);
  const std::string dst_parent = parent_key_of(options_.root, *dst);
  if (dst_info.ok()) {
    if ((flags & kRenameNoReplace) != 0) return Status(Code::kExists, "exists: " + *dst);
    if (src_is_dir && !dst_info->is_dir()) return Status(Code::kNotDir, "not a directory: " + *dst);
    if (!src_is_dir && dst_info->is_dir()) return Status(Code::kIsDir, "a directory: " + *dst);
    std::shared_ptr<Inode> dst_node;
    std::shared_ptr<Staged> dst_staged;
    bool dst_local = false;
    {
      std::lock_guard<std::mutex> lock(inodes_mu_);
      auto it = by_key_.find(*dst);
      if (it != by_key_.end()) dst_node = by_ino_.at(it->second);
      if (dst_node) dst_staged = dst_node->staged;
      dst_local = local_files_.count(*dst) != 0;
    }
    if (dst_info->is_dir()) {
      if (has_local_children(*dst)) return Status(Code::kNotEmpty, "not empty: " + *dst);
      auto listing = store_.list(*dst);
      if (!listing.ok()) return listing.status();
      if (!listing->empty()) return Status(Code::kNotEmpty, "directory not empty: " + *dst);
      Status removed = store_.remove(*dst, true);
      meta_.invalidate_prefix(*dst);
      if (!removed.ok() && removed.code() != Code::kNotFound) return removed;
    } else if (!dst_local) {
      drop_pages_of(*dst, &*dst_info, dst_node);
      // Not atomic (§2.4): between the remove and the move the destination does not exist.
      Status removed = store_.remove(*dst, false);
      meta_.invalidate(*dst, dst_parent);
      if (!removed.ok() && removed.code() != Code::kNotFound) return removed;
    }
    if (dst_staged) {
      std::lock_guard<std::mutex> lock(dst_staged->mu);
      dst_staged->discarded = true;
      dst_staged->dirty = false;
      dst_staged->local_only = false;
    }
    if (dst_node) {
      std::lock_guard<std::mutex> lock(inodes_mu_);
      mark_unlinked_locked(dst_node);
    }
  }

  Status moved = store_.rename(*src, *dst);
  if (src_is_dir) {
    meta_.invalidate_prefix(*src);
    meta_.invalidate_prefix(*dst);
  }
  meta_.invalidate(*src, src_parent);
  meta_.invalidate(*dst, dst_parent);
  if (!moved.ok()) {
    if (definite_failure(moved.code())) return moved;
    if (src_is_dir) {
      spdlog::error("rename of {} to {} may be partial: {}", *src, *dst, moved.to_string());
      notify_entry(parent, name);
      notify_entry(new_parent, new_name);
    }
    return Status(Code::kIo, "rename of " + *src + " to " + *dst + " failed: " + moved.message());
  }
  if (!src_is_dir) drop_pages_of(*src, &*src_info, src_node);
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    rekey_locked(*src, *dst, src_is_dir);
  }
  meta_.put_negative(*src);
  return Status::Ok();
}

}  // namespace alluxio_fuse::fs
