// The core's metadata and read paths.
//
// Inodes: numbers are ids in a table (never pointers); an unknown number is kStale. The root is
// inode 1 and is never forgotten. A key keeps its inode while the kernel holds references.
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
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "alluxio_fuse/common/uri.h"
#include "fs_internal.h"

namespace alluxio_fuse::fs {

using common::Code;

std::string parent_key_of(const std::string& root, const std::string& key) {
  if (key == root) return root;
  auto pos = key.rfind('/');
  std::string parent = key.substr(0, pos);
  if (parent.size() < root.size()) return root;
  if (parent.size() + 1 == root.size() && root.back() == '/') return root;  // file:///
  return parent;
}

namespace {

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

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
      meta_(options_.metadata, clock) {
  auto root = std::make_shared<Inode>();
  root->ino = kRootIno;
  root->key = options_.root;
  root->nlookup = 1;
  by_ino_[kRootIno] = root;
  by_key_[options_.root] = kRootIno;
}

FileSystem::~FileSystem() = default;

std::shared_ptr<FileSystem::Inode> FileSystem::inode(uint64_t ino) {
  std::lock_guard<std::mutex> lock(inodes_mu_);
  auto it = by_ino_.find(ino);
  return it == by_ino_.end() ? nullptr : it->second;
}

std::shared_ptr<FileSystem::Inode> FileSystem::ref_inode(const std::string& key, uint64_t refs) {
  std::lock_guard<std::mutex> lock(inodes_mu_);
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
  auto& node = it->second;
  node->nlookup = nlookup >= node->nlookup ? 0 : node->nlookup - nlookup;
  if (node->nlookup == 0) {
    auto k = by_key_.find(node->key);
    if (k != by_key_.end() && k->second == ino) by_key_.erase(k);
    by_ino_.erase(it);
  }
}

Result<std::string> FileSystem::key_of(uint64_t ino) {
  auto node = inode(ino);
  if (!node) return Status(Code::kStale, "unknown inode " + std::to_string(ino));
  return node->key;
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
  auto info = store_.stat(key);
  if (!info.ok()) {
    if (info.status().code() == Code::kNotFound) {
      meta_.put_negative(key);
      *remaining = options_.metadata.negative_ttl;
    }
    return info.status();
  }
  meta_.put_attr(key, *info);
  *remaining = options_.metadata.ttl;
  return info;
}

Stat FileSystem::make_stat(uint64_t ino, const store::FileInfo& info) const {
  Stat st;
  st.ino = ino;
  st.is_dir = info.is_dir();
  uint32_t perm = info.mode ? (*info.mode & 07777) : (st.is_dir ? options_.dir_mode
                                                                : options_.file_mode);
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
  std::string key = common::child_key(dir->key, name);
  if (key.size() > common::kMaxKeyBytes) return Status(Code::kNameTooLong, "key over 4096 bytes");
  std::chrono::nanoseconds remaining{0};
  auto info = fetch_attr(key, &remaining);
  if (!info.ok()) {
    if (info.status().code() == Code::kNotFound) {
      Entry neg;  // ino 0: the kernel caches the absence for negative_timeout
      neg.entry_timeout =
          seconds(std::max(std::chrono::nanoseconds(0),
                           std::min(options_.negative_timeout, remaining)));
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
  std::chrono::nanoseconds remaining{0};
  auto info = fetch_attr(node->key, &remaining);
  if (!info.ok()) return info.status();
  return make_entry(ino, *info, remaining);
}

Result<uint64_t> FileSystem::opendir(uint64_t ino) {
  auto node = inode(ino);
  if (!node) return Status(Code::kStale, "unknown inode " + std::to_string(ino));
  std::chrono::nanoseconds remaining{0};
  auto info = fetch_attr(node->key, &remaining);
  if (!info.ok()) return info.status();
  if (!info->is_dir()) return Status(Code::kNotDir, "not a directory: " + node->key);
  auto h = std::make_shared<DirHandle>();
  h->ino = ino;
  h->key = node->key;
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
      auto listing = store_.list(h->key);
      if (!listing.ok()) return listing.status();
      // Worker listings may repeat a name; the first one wins (worker-rest.md §3.2).
      auto entries = std::make_shared<std::vector<store::FileInfo>>();
      entries->reserve(listing->size());
      for (auto& child : *listing) {
        if (!common::is_valid_name(child.name)) continue;
        entries->push_back(std::move(child));
      }
      std::stable_sort(entries->begin(), entries->end(),
                       [](const store::FileInfo& a, const store::FileInfo& b) {
                         return a.name < b.name;
                       });
      entries->erase(std::unique(entries->begin(), entries->end(),
                                 [](const store::FileInfo& a, const store::FileInfo& b) {
                                   return a.name == b.name;
                                 }),
                     entries->end());
      snapshot = entries;
      meta_.put_listing(h->key, snapshot);
    }
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
  return Status(Code::kReadOnly, "this mount does not accept changes yet");
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
