// The core's metadata paths: inode table, lookups, attributes and directory listings, seen
// through this mount's overlay of uncommitted changes.
//
// Inodes: numbers are ids in a table (never pointers); an unknown number is kStale. The root is
// inode 1 and is never forgotten. A key keeps its inode while the kernel holds references or
// handles are open; a rename moves the key (and everything below a directory) to the new name.
//
// Overlay (semantics.md §2.3, §2.6): a file created here is visible in this mount before its
// first commit (local_files_); a file unlinked here while open disappears at once although its
// remote remove waits for the last release (hidden_); a staged copy with uncommitted changes
// shows its own size and mtime. Lookups, getattr and each readdir snapshot apply the overlay;
// the metadata cache itself only ever holds what the store said.
//
// Reads follow page-cache.md §1-§2: a read is cut into page slices; each page comes from the
// local page cache when the file has a version tag, else straight from the store. Byte counts
// are checked against the size seen at open: a short page below it means the file changed
// under us, so its metadata is dropped and the read fails with kIo rather than returning
// silently short data.
#include "alluxio_fuse/fs/file_system.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "alluxio_fuse/cache/page_cache.h"
#include "alluxio_fuse/common/uri.h"
#include "fs_internal.h"

namespace alluxio_fuse::fs {

using common::Code;

int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string parent_key_of(const std::string& root, const std::string& key) {
  if (key == root) return root;
  auto pos = key.rfind('/');
  std::string parent = key.substr(0, pos);
  if (parent.size() < root.size()) return root;
  if (parent.size() + 1 == root.size() && root.back() == '/') return root;  // file:///
  return parent;
}

std::string name_of(const std::string& key) { return key.substr(key.rfind('/') + 1); }

bool key_within(const std::string& key, const std::string& dir) {
  if (key.size() < dir.size() || key.compare(0, dir.size(), dir) != 0) return false;
  return key.size() == dir.size() || key[dir.size()] == '/' || dir.back() == '/';
}

namespace {

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// Owner and group names from a worker map to local ids (cached; a miss keeps the default).
class IdCache {
 public:
  std::optional<uint32_t> uid(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = users_.find(name);
    if (it != users_.end()) return it->second;
    std::optional<uint32_t> id;
    struct passwd pw {};
    struct passwd* res = nullptr;
    char buf[4096];
    if (getpwnam_r(name.c_str(), &pw, buf, sizeof(buf), &res) == 0 && res != nullptr) {
      id = res->pw_uid;
    }
    if (users_.size() < 4096) users_[name] = id;
    return id;
  }
  std::optional<uint32_t> gid(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = groups_.find(name);
    if (it != groups_.end()) return it->second;
    std::optional<uint32_t> id;
    struct group gr {};
    struct group* res = nullptr;
    char buf[4096];
    if (getgrnam_r(name.c_str(), &gr, buf, sizeof(buf), &res) == 0 && res != nullptr) {
      id = res->gr_gid;
    }
    if (groups_.size() < 4096) groups_[name] = id;
    return id;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::optional<uint32_t>> users_;
  std::unordered_map<std::string, std::optional<uint32_t>> groups_;
};

IdCache& id_cache() {
  static IdCache cache;
  return cache;
}

}  // namespace

FileSystem::FileSystem(Options options, store::Store& store, const common::Clock& clock,
                       cache::PageCache* page_cache, cache::FetchPool* fetch_pool)
    : options_(std::move(options)),
      store_(store),
      clock_(clock),
      page_cache_(page_cache),
      fetch_pool_(fetch_pool),
      readahead_buffers_(options_.page_size, 8),
      meta_(options_.metadata, clock),
      as_root_(::geteuid() == 0),
      background_(std::make_unique<Background>()) {
  auto root = std::make_shared<Inode>();
  root->ino = kRootIno;
  root->key = options_.root;
  root->nlookup = 1;
  by_ino_[kRootIno] = root;
  by_key_[options_.root] = kRootIno;
  StagingOptions so;
  so.dir = options_.staging_dir;
  so.capacity = options_.staging_capacity;
  so.max_file_size = options_.max_file_size;
  so.keep_failed = options_.keep_failed;
  staging_ = std::make_unique<StagingArea>(so);
  if (!options_.read_only && !so.dir.empty()) {
    Status opened = staging_->open();
    if (!opened.ok()) spdlog::error("writes will fail: {}", opened.to_string());
  }
}

FileSystem::~FileSystem() { shutdown(); }

std::string FileSystem::key_locked(const Inode& node) const { return node.key; }

std::string FileSystem::node_key(const Inode& node) {
  std::lock_guard<std::mutex> lock(inodes_mu_);
  return node.key;
}

void FileSystem::drop_inode_if_unused_locked(const std::shared_ptr<Inode>& node) {
  if (node->ino == kRootIno || node->nlookup > 0 || node->open_handles > 0 || node->staged) {
    return;
  }
  auto k = by_key_.find(node->key);
  if (k != by_key_.end() && k->second == node->ino) by_key_.erase(k);
  by_ino_.erase(node->ino);
}

FileSystem::Overlay FileSystem::overlay(const std::string& key, store::FileInfo* info) {
  std::shared_ptr<Staged> staged;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    auto local = local_files_.find(key);
    if (local == local_files_.end() && hidden_.count(key) != 0) return Overlay::kHidden;
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return Overlay::kNone;
    auto node = by_ino_.find(it->second);
    if (node == by_ino_.end() || !node->second->staged) return Overlay::kNone;
    staged = node->second->staged;
  }
  if (!staged->local_only.load()) return Overlay::kNone;
  *info = store::FileInfo{};
  info->name = name_of(key);
  apply_staged(*staged, info);
  return Overlay::kLocal;
}

void FileSystem::apply_staged(const Staged& s, store::FileInfo* info) const {
  if (!s.shows.load()) return;
  info->type = store::FileType::kFile;
  info->size = s.view_size.load();
  info->size_exact = true;
  info->mtime_ns = s.view_mtime_ns.load();
  info->mtime_ms = info->mtime_ns / 1000000;
  info->atime_ms = info->mtime_ms;
  info->content_hash.clear();
  info->completed = true;
  if (s.local_only.load()) {
    info->mode = s.create_mode;
    if (s.create_owner) {
      info->uid = s.create_owner->uid;
      info->gid = s.create_owner->gid;
    }
  }
}

Result<store::FileInfo> FileSystem::attr_of(const std::string& key,
                                            std::chrono::nanoseconds* remaining, bool fresh) {
  store::FileInfo local;
  switch (overlay(key, &local)) {
    case Overlay::kHidden:
      *remaining = std::chrono::nanoseconds(0);
      return Status(Code::kNotFound, "no such file: " + key);
    case Overlay::kLocal:
      *remaining = options_.metadata.ttl;
      return local;
    case Overlay::kNone:
      break;
  }
  Result<store::FileInfo> info = Status(Code::kIo, "unset");
  if (fresh) {
    // A fresh stat must not join a request that may predate the caller's reason to ask.
    const auto generation = meta_.generation();
    info = store_.stat(key);
    *remaining = options_.metadata.ttl;
    if (info.ok()) {
      meta_.put_attr(key, *info, generation);
    } else if (info.status().code() == Code::kNotFound) {
      meta_.put_negative(key, generation);
    }
  } else {
    info = fetch_attr(key, remaining);
  }
  if (!info.ok()) return info;
  std::shared_ptr<Staged> staged;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) {
      auto node = by_ino_.find(it->second);
      if (node != by_ino_.end()) staged = node->second->staged;
    }
  }
  if (staged) apply_staged(*staged, &info.value());
  return info;
}

Listing FileSystem::merge_overlay(const std::string& dir_key, Listing listing) {
  std::vector<std::pair<std::string, std::shared_ptr<Staged>>> staged;  // shown children
  std::vector<std::string> hidden;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    if (local_files_.empty() && hidden_.empty()) {
      // Fast path: only staged copies of listed children can change anything.
      bool any = false;
      for (const auto& child : *listing) {
        auto it = by_key_.find(common::child_key(dir_key, child.name));
        if (it == by_key_.end()) continue;
        auto node = by_ino_.find(it->second);
        if (node != by_ino_.end() && node->second->staged && node->second->staged->shows) {
          any = true;
          break;
        }
      }
      if (!any) return listing;
    }
    for (const auto& [key, ino] : hidden_) {
      if (local_files_.count(key) == 0 && parent_key_of(options_.root, key) == dir_key) {
        hidden.push_back(name_of(key));
      }
    }
    for (const auto& child : *listing) {
      auto it = by_key_.find(common::child_key(dir_key, child.name));
      if (it == by_key_.end()) continue;
      auto node = by_ino_.find(it->second);
      if (node != by_ino_.end() && node->second->staged) {
        staged.emplace_back(child.name, node->second->staged);
      }
    }
    for (const auto& [key, ino] : local_files_) {
      if (parent_key_of(options_.root, key) != dir_key) continue;
      auto node = by_ino_.find(ino);
      if (node != by_ino_.end() && node->second->staged) {
        staged.emplace_back(name_of(key), node->second->staged);
      }
    }
  }
  auto merged = std::make_shared<std::vector<store::FileInfo>>();
  merged->reserve(listing->size() + staged.size());
  for (const auto& child : *listing) {
    if (std::find(hidden.begin(), hidden.end(), child.name) != hidden.end()) continue;
    merged->push_back(child);
  }
  for (const auto& [name, s] : staged) {
    auto it = std::find_if(merged->begin(), merged->end(),
                           [&wanted = name](const store::FileInfo& f) { return f.name == wanted; });
    if (it == merged->end()) {
      if (!s->local_only.load()) continue;
      store::FileInfo info;
      info.name = name;
      apply_staged(*s, &info);
      merged->push_back(std::move(info));
    } else {
      apply_staged(*s, &*it);
    }
  }
  std::sort(merged->begin(), merged->end(),
            [](const store::FileInfo& a, const store::FileInfo& b) { return a.name < b.name; });
  return merged;
}

bool FileSystem::has_local_children(const std::string& dir_key) {
  std::lock_guard<std::mutex> lock(inodes_mu_);
  for (const auto& [key, ino] : local_files_) {
    if (key != dir_key && key_within(key, dir_key)) return true;
  }
  return false;
}

void FileSystem::set_notifier(KernelNotifier* notifier) {
  std::unique_lock<std::shared_mutex> lock(notifier_mu_);
  notifier_ = notifier;
}

void FileSystem::notify_inode(uint64_t ino) {
  std::shared_lock<std::shared_mutex> lock(notifier_mu_);
  if (notifier_ != nullptr) notifier_->inval_inode(ino);
}

void FileSystem::notify_entry(uint64_t parent, const std::string& name) {
  std::shared_lock<std::shared_mutex> lock(notifier_mu_);
  if (notifier_ != nullptr) notifier_->inval_entry(parent, name);
}

std::shared_ptr<FileSystem::Inode> FileSystem::inode(uint64_t ino) {
  std::lock_guard<std::mutex> lock(inodes_mu_);
  auto it = by_ino_.find(ino);
  return it == by_ino_.end() ? nullptr : it->second;
}

std::shared_ptr<FileSystem::Inode> FileSystem::ref_inode(const std::string& key, uint64_t refs) {
  std::lock_guard<std::mutex> lock(inodes_mu_);
  return ref_inode_locked(key, refs);
}

std::shared_ptr<FileSystem::Inode> FileSystem::ref_inode_locked(const std::string& key,
                                                                uint64_t refs) {
  auto it = by_key_.find(key);
  if (it != by_key_.end()) {
    auto& node = by_ino_.at(it->second);
    node->nlookup += refs;
    return node;
  }
  auto node = std::make_shared<Inode>();
  node->ino = next_ino_++;
  node->key = key;
  node->nlookup = refs;
  by_ino_[node->ino] = node;
  by_key_[key] = node->ino;
  return node;
}

void FileSystem::forget(uint64_t ino, uint64_t nlookup) {
  if (ino == kRootIno) return;
  std::lock_guard<std::mutex> lock(inodes_mu_);
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end()) return;
  auto node = it->second;
  node->nlookup = nlookup >= node->nlookup ? 0 : node->nlookup - nlookup;
  drop_inode_if_unused_locked(node);
}

Result<std::string> FileSystem::key_of(uint64_t ino) {
  auto node = inode(ino);
  if (!node) return Status(Code::kStale, "unknown inode " + std::to_string(ino));
  return node_key(*node);
}

Result<store::FileInfo> FileSystem::fetch_attr(const std::string& key,
                                               std::chrono::nanoseconds* remaining) {
  if (auto hit = meta_.get_attr(key)) {
    if (hit->info) {
      stats_.meta_hits_positive.fetch_add(1, std::memory_order_relaxed);
      *remaining = hit->remaining;
      return *hit->info;
    }
    stats_.meta_hits_negative.fetch_add(1, std::memory_order_relaxed);
    *remaining = hit->remaining;
    return Status(Code::kNotFound, "no such file: " + key);
  }
  // A fresh listing of the parent answers for its children without a request.
  std::string parent = parent_key_of(options_.root, key);
  if (key != options_.root) {
    std::chrono::nanoseconds left{0};
    if (auto listing = meta_.get_listing(parent, &left)) {
      std::string name = key.substr(key.rfind('/') + 1);
      for (const auto& child : **listing) {
        if (child.name == name) {
          stats_.meta_hits_positive.fetch_add(1, std::memory_order_relaxed);
          *remaining = left;
          return child;
        }
      }
      stats_.meta_hits_negative.fetch_add(1, std::memory_order_relaxed);
      *remaining = left;
      return Status(Code::kNotFound, "no such file: " + key);
    }
  }
  stats_.meta_misses.fetch_add(1, std::memory_order_relaxed);
  auto info = stat_coalesced(key);
  if (!info.ok()) {
    if (info.status().code() == Code::kNotFound) *remaining = options_.metadata.negative_ttl;
    return info.status();
  }
  *remaining = options_.metadata.ttl;
  return info;
}

Stat FileSystem::make_stat(uint64_t ino, const store::FileInfo& info) const {
  Stat st;
  st.ino = ino;
  st.is_dir = info.is_dir();
  uint32_t perm =
      info.mode ? (*info.mode & 07777) : (st.is_dir ? options_.dir_mode : options_.file_mode);
  if (options_.read_only) perm &= ~0222U;
  st.mode = (st.is_dir ? S_IFDIR : S_IFREG) | perm;
  st.size = st.is_dir ? 0 : info.size;
  st.nlink = 1;
  st.uid = options_.uid;
  st.gid = options_.gid;
  if (info.uid) {
    st.uid = *info.uid;
  } else if (!info.owner.empty()) {
    st.uid = id_cache().uid(info.owner).value_or(options_.uid);
  }
  if (info.gid) {
    st.gid = *info.gid;
  } else if (!info.group.empty()) {
    st.gid = id_cache().gid(info.group).value_or(options_.gid);
  }
  st.mtime_ns = info.mtime_ns != 0 ? info.mtime_ns : info.mtime_ms * 1000000LL;
  st.atime_ns = info.atime_ms > 0 ? info.atime_ms * 1000000LL : st.mtime_ns;
  st.ctime_ns = st.mtime_ns;
  st.blksize = static_cast<uint32_t>(std::min<uint64_t>(options_.page_size, 1U << 30));
  st.blocks = (st.size + 511) / 512;
  return st;
}

Entry FileSystem::make_entry(uint64_t ino, const store::FileInfo& info,
                             std::chrono::nanoseconds remaining) const {
  Entry e;
  e.stat = make_stat(ino, info);
  auto bound = [&](std::chrono::nanoseconds limit) {
    return seconds(std::max(std::chrono::nanoseconds(0), std::min(limit, remaining)));
  };
  e.attr_timeout = bound(options_.attr_timeout);
  e.entry_timeout = bound(options_.entry_timeout);
  return e;
}

Result<Entry> FileSystem::lookup(uint64_t parent, const std::string& name) {
  auto dir = inode(parent);
  if (!dir) return Status(Code::kStale, "unknown inode " + std::to_string(parent));
  Status valid = common::check_name(name);
  if (!valid.ok()) {
    // An invalid name cannot exist in the store (keys are UTF-8): ENOENT, not EINVAL.
    if (valid.code() == Code::kNameTooLong) return valid;
    return Status(Code::kNotFound, "invalid name");
  }
  std::string key = common::child_key(node_key(*dir), name);
  if (key.size() > common::kMaxKeyBytes) return Status(Code::kNameTooLong, "key over 4096 bytes");
  std::chrono::nanoseconds remaining{0};
  auto info = attr_of(key, &remaining, false);
  if (!info.ok()) {
    if (info.status().code() == Code::kNotFound) {
      Entry neg;  // ino 0: the kernel caches the absence for negative_timeout
      neg.entry_timeout = seconds(
          std::max(std::chrono::nanoseconds(0), std::min(options_.negative_timeout, remaining)));
      return neg;
    }
    return info.status();
  }
  auto node = ref_inode(key, 1);
  return make_entry(node->ino, *info, remaining);
}

Result<Entry> FileSystem::getattr(uint64_t ino) {
  auto node = inode(ino);
  if (!node) return Status(Code::kStale, "unknown inode " + std::to_string(ino));
  std::string key;
  std::shared_ptr<Staged> staged;
  {
    std::lock_guard<std::mutex> lock(inodes_mu_);
    key = node->key;
    staged = node->staged;
  }
  std::chrono::nanoseconds remaining = options_.metadata.ttl;
  store::FileInfo info;
  if (staged && staged->local_only.load()) {
    info.name = name_of(key);
  } else {
    // The inode's own key: no hidden-name check (an unlinked file stays fstat-able).
    auto got = fetch_attr(key, &remaining);
    if (!got.ok()) {
      if (!staged || !staged->shows.load()) return got.status();
      info.name = name_of(key);
    } else {
      info = std::move(*got);
    }
  }
  if (staged) {
    apply_staged(*staged, &info);
  } else if (!info.is_dir()) {
    // A newer version than the kernel may hold pages of: drop them (page-cache.md §6).
    std::string version = store::version_tag(info);
    std::string old;
    {
      std::lock_guard<std::mutex> lock(inodes_mu_);
      if (node->kernel_version_known && node->kernel_version != version) {
        old = node->kernel_version;
        node->kernel_version_known = false;
      }
    }
    if (!old.empty()) {
      if (page_cache_ != nullptr) page_cache_->drop_file(cache::PageCache::make_file_id(key, old));
      notify_inode(ino);
    }
  }
  return make_entry(ino, info, remaining);
}

Result<uint64_t> FileSystem::opendir(uint64_t ino) {
  auto node = inode(ino);
  if (!node) return Status(Code::kStale, "unknown inode " + std::to_string(ino));
  std::chrono::nanoseconds remaining{0};
  std::string key = node_key(*node);
  auto info = attr_of(key, &remaining, false);
  if (!info.ok()) return info.status();
  if (!info->is_dir()) return Status(Code::kNotDir, "not a directory: " + key);
  auto h = std::make_shared<DirHandle>();
  h->ino = ino;
  h->key = key;
  std::lock_guard<std::mutex> lock(handles_mu_);
  uint64_t fh = next_fh_++;
  dirs_[fh] = std::move(h);
  return fh;
}

Status FileSystem::readdir(uint64_t ino, uint64_t fh, uint64_t offset, bool plus,
                           const std::function<bool(const DirEntry&, const Entry*)>& emit) {
  std::shared_ptr<DirHandle> h;
  {
    std::lock_guard<std::mutex> lock(handles_mu_);
    auto it = dirs_.find(fh);
    if (it == dirs_.end() || it->second->ino != ino) {
      return Status(Code::kBadHandle, "unknown directory handle");
    }
    h = it->second;
  }
  Listing snapshot;
  {
    std::lock_guard<std::mutex> lock(h->mu);
    snapshot = h->snapshot;
  }
  std::chrono::nanoseconds remaining = options_.metadata.ttl;
  if (!snapshot || offset == 0) {
    auto cached = meta_.get_listing(h->key, &remaining);
    if (cached) {
      snapshot = *cached;
    } else {
      auto listing = list_coalesced(h->key);
      if (!listing.ok()) return listing.status();
      snapshot = std::move(listing).value();
    }
    snapshot = merge_overlay(h->key, snapshot);
    std::lock_guard<std::mutex> lock(h->mu);
    h->snapshot = snapshot;
  }
  // Offsets: 0 → ".", 1 → "..", 2 + i → child i. next_offset is the index after the entry.
  const uint64_t total = 2 + snapshot->size();
  for (uint64_t i = offset; i < total; ++i) {
    DirEntry de;
    de.next_offset = i + 1;
    if (i < 2) {
      de.name = i == 0 ? "." : "..";
      de.is_dir = true;
      if (plus) {
        // "." and ".." carry no lookup reference; the kernel ignores their attributes.
        Entry dot;
        dot.stat.ino = i == 0 ? ino : kRootIno;
        dot.stat.is_dir = true;
        dot.stat.mode = S_IFDIR | options_.dir_mode;
        if (!emit(de, &dot)) return Status::Ok();
      } else if (!emit(de, nullptr)) {
        return Status::Ok();
      }
      continue;
    }
    const store::FileInfo& child = (*snapshot)[i - 2];
    de.name = child.name;
    de.is_dir = child.is_dir();
    if (!plus) {
      if (!emit(de, nullptr)) return Status::Ok();
      continue;
    }
    std::string key = common::child_key(h->key, child.name);
    auto node = ref_inode(key, 1);
    Entry e = make_entry(node->ino, child, remaining);
    if (!emit(de, &e)) {
      forget(node->ino, 1);  // not delivered: give the reference back
      return Status::Ok();
    }
  }
  return Status::Ok();
}

void FileSystem::releasedir(uint64_t fh) {
  std::lock_guard<std::mutex> lock(handles_mu_);
  dirs_.erase(fh);
}

Status FileSystem::check_writable() const {
  if (options_.read_only) return Status(Code::kReadOnly, "read-only mount");
  return Status::Ok();
}

StatFs FileSystem::statfs() const {
  StatFs s{};
  s.bsize = options_.page_size;
  s.frsize = 4096;
  s.blocks = s.bfree = s.bavail = (1ULL << 50) / 4096;
  s.files = s.ffree = (1ULL << 32) - 1;
  s.namemax = 255;
  return s;
}

}  // namespace alluxio_fuse::fs
