#pragma once
// Private state of fs::FileSystem shared by its translation units.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "alluxio_fuse/cache/buffer_pool.h"
#include "alluxio_fuse/cache/readahead.h"
#include "alluxio_fuse/fs/file_system.h"

namespace alluxio_fuse::fs {

struct FileSystem::Inode {
  uint64_t ino = 0;
  std::string key;                    // GUARDED_BY(FileSystem::inodes_mu_); changes on rename
  uint64_t nlookup = 0;               // GUARDED_BY(FileSystem::inodes_mu_)
  std::string kernel_version;         // GUARDED_BY(FileSystem::inodes_mu_)
  bool kernel_version_known = false;  // GUARDED_BY(FileSystem::inodes_mu_)
  uint32_t open_handles = 0;          // GUARDED_BY(FileSystem::inodes_mu_)
  // The staged copy shared by every write handle of this inode (null when none is open).
  std::shared_ptr<FileSystem::Staged> staged;  // GUARDED_BY(FileSystem::inodes_mu_)
  bool unlinked = false;        // GUARDED_BY(inodes_mu_): the name was removed through this mount
  bool remove_pending = false;  // GUARDED_BY(inodes_mu_): remote remove at the last release
};

// The local copy of one file open for writing (semantics.md §3.3).
struct FileSystem::Staged {
  std::shared_ptr<Inode> node;  // the key is the node's current one (it follows renames)
  // Held across this file's staging I/O and its upload (see the lock order in file_system.h).
  std::mutex mu;
  int fd = -1;                // GUARDED_BY(mu); closed by the destructor
  std::string path;           // GUARDED_BY(mu); "" once removed from the staging area
  bool materialized = false;  // GUARDED_BY(mu): fd holds the file's whole current content
  bool dirty = false;         // GUARDED_BY(mu): changed since the last commit
  bool discarded = false;     // GUARDED_BY(mu): unlinked here; flushes commit nothing
  bool detached = false;      // GUARDED_BY(mu): the last writer left; reopen makes a new one
  uint64_t size = 0;          // GUARDED_BY(mu)
  uint64_t reserved = 0;      // GUARDED_BY(mu): bytes accounted in the staging area
  uint32_t writers = 0;       // GUARDED_BY(mu): write handles and in-flight truncates
  std::string base_version;   // GUARDED_BY(mu): version tag the copy was filled from
  std::string failed_path;    // GUARDED_BY(mu): the copy kept in failed/ after a failure
  std::optional<uint32_t> create_mode;  // created here with this mode (POSIX stores)
  std::optional<Caller> create_owner;   // created here by root for this caller (POSIX stores)

  // Lock-free views for getattr/lookup/readdir, which must not wait for an upload.
  std::atomic<bool> local_only{false};  // created here, never committed
  std::atomic<bool> shows{false};       // attributes below override the store's (dirty/local)
  std::atomic<uint64_t> view_size{0};
  std::atomic<int64_t> view_mtime_ns{0};

  ~Staged();
};

// One open file: a read handle on the committed version and/or the inode's staged copy.
struct FileSystem::FileHandle {
  std::shared_ptr<Inode> node;
  bool writable = false;
  bool append = false;
  std::mutex mu;
  std::shared_ptr<ReadHandle> reader;  // GUARDED_BY(mu); null: no committed version to read
  std::shared_ptr<Staged> staged;      // reads use it once materialized
};

struct FileSystem::DirHandle {
  uint64_t ino = 0;
  std::string key;
  std::mutex mu;
  Listing snapshot;  // GUARDED_BY(mu); taken at offset 0
};

// A page a readahead fetched for one read handle, kept in memory until that handle reads it
// (page-cache.md §4.1), so the first read of a freshly fetched page costs one copy instead of
// reading the page file back and checking its CRCs again. Its bytes count in `*total`
// (FileSystem::kept_bytes_, bounded by page_cache.memory_budget) for as long as it lives.
struct FileSystem::KeptPage {
  KeptPage(cache::BufferPool::Lease b, size_t n, std::atomic<uint64_t>* t)
      : buf(std::move(b)), len(n), total(t) {}
  ~KeptPage() { total->fetch_sub(len); }
  KeptPage(const KeptPage&) = delete;
  KeptPage& operator=(const KeptPage&) = delete;
  cache::BufferPool::Lease buf;
  size_t len;
  std::atomic<uint64_t>* total;
};

struct FileSystem::ReadHandle {
  uint64_t ino = 0;
  std::string key;
  std::string version;  // "" → bypass the page cache
  std::string file_id;  // page-cache file id of (key, version)
  uint64_t size = 0;
  bool size_exact = true;
  bool incomplete = false;  // mCompleted == false: reads fail until complete
  std::mutex mu;
  std::unique_ptr<cache::Readahead> readahead;  // GUARDED_BY(mu); null when off
  // Readahead pages not read yet, by page index. GUARDED_BY(mu)
  std::map<uint64_t, std::unique_ptr<KeptPage>> kept;
  // Pages whose readahead task is running now (not merely queued). GUARDED_BY(mu)
  std::set<uint64_t> fetching;
  std::condition_variable fetch_ended;  // notified under mu when a page leaves `fetching`
};

// One thread running queued tasks in order (background commits at release).
class FileSystem::Background {
 public:
  Background();
  ~Background();
  void submit(std::function<void()> task);
  // Waits until every task submitted so far has run.
  void drain();

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  uint64_t submitted_ = 0;                   // GUARDED_BY(mu_)
  uint64_t done_ = 0;                        // GUARDED_BY(mu_)
  bool stop_ = false;                        // GUARDED_BY(mu_)
  std::thread thread_;
};

// Wall-clock time now in ns since the epoch: the mtime this mount gives a file it changes.
int64_t wall_now_ns();
// Key of the parent directory of `key` under `root` (root's parent is root).
std::string parent_key_of(const std::string& root, const std::string& key);
// Last component of a key.
std::string name_of(const std::string& key);
// True when `key` is `dir` or below it.
bool key_within(const std::string& key, const std::string& dir);

}  // namespace alluxio_fuse::fs
