#pragma once
// The filesystem core: inode table, metadata cache, read handles and the page-cache read path,
// over one store::Store (the router with failover, or a UFS in standalone mode). It never sees
// libfuse, libcurl or errno: it takes inode numbers and handle ids and returns common::Status.
//
// Thread-safety: every method may be called concurrently from libfuse's worker threads.
// Lock order (outer to inner): inodes_mu_ → handles_mu_ → MetadataCache::mu_; a handle's own
// mutex is taken with none of those held. No lock is held across store or disk I/O.
// Ownership: the store, clock and optional page cache are injected, non-owning, and outlive
// the FileSystem.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/fs/metadata_cache.h"
#include "alluxio_fuse/store/store.h"

namespace alluxio_fuse::cache {
class PageCache;
class FetchPool;
}  // namespace alluxio_fuse::cache

namespace alluxio_fuse::fs {

using common::Result;
using common::Status;

inline constexpr uint64_t kRootIno = 1;

struct Options {
  std::string root;  // normalised root key
  uint64_t page_size = 1 << 20;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t file_mode = 0644;
  uint32_t dir_mode = 0755;
  bool read_only = false;
  bool direct_io = false;
  std::chrono::nanoseconds attr_timeout{std::chrono::seconds(60)};
  std::chrono::nanoseconds entry_timeout{std::chrono::seconds(60)};
  std::chrono::nanoseconds negative_timeout{std::chrono::seconds(5)};
  MetadataCache::Options metadata;
  // Readahead (page-cache.md §5).
  bool readahead = true;
  uint64_t readahead_initial = 1 << 20;
  uint64_t readahead_max = 32 << 20;
  uint32_t readahead_per_file = 8;
  uint64_t max_read = 1 << 20;
  uint64_t memory_budget = 64 << 20;  // bytes of pages kept by read handles
};

// Attributes in the form the FUSE layer copies into struct stat.
struct Stat {
  uint64_t ino = 0;
  bool is_dir = false;
  uint32_t mode = 0;  // S_IFDIR/S_IFREG | permission bits
  uint64_t size = 0;
  uint32_t nlink = 1;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;
  int64_t atime_ns = 0;
  int64_t ctime_ns = 0;
  uint32_t blksize = 0;
  uint64_t blocks = 0;
};

struct Entry {
  Stat stat;                   // stat.ino == 0 for a negative entry (cache ENOENT)
  double attr_timeout = 0;     // seconds
  double entry_timeout = 0;    // seconds
};

struct OpenReply {
  uint64_t fh = 0;
  bool keep_cache = false;
  bool direct_io = false;
};

// One directory entry served by readdir; `entry` filled only for readdirplus.
struct DirEntry {
  std::string name;
  bool is_dir = false;
  uint64_t next_offset = 0;
};

struct StatFs {
  uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, namemax;
};

// Counters read by the metrics module at scrape time.
struct FsStats {
  std::atomic<uint64_t> meta_hits_positive{0};
  std::atomic<uint64_t> meta_hits_negative{0};
  std::atomic<uint64_t> meta_misses{0};
  std::atomic<uint64_t> read_bytes_cache{0};
  std::atomic<uint64_t> read_bytes_worker{0};
  std::atomic<uint64_t> read_bytes_ufs{0};
  std::atomic<uint64_t> fetch_bytes_worker{0};
  std::atomic<uint64_t> fetch_bytes_ufs{0};
  std::atomic<uint64_t> readahead_bytes{0};
};

class FileSystem {
 public:
  FileSystem(Options options, store::Store& store, const common::Clock& clock,
             cache::PageCache* page_cache = nullptr, cache::FetchPool* fetch_pool = nullptr);
  ~FileSystem();
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  // Metadata. lookup counts one kernel reference on success (forget releases them).
  Result<Entry> lookup(uint64_t parent, const std::string& name);
  void forget(uint64_t ino, uint64_t nlookup);
  Result<Entry> getattr(uint64_t ino);

  // Directories: a snapshot per handle, taken at the first readdir (offset 0).
  Result<uint64_t> opendir(uint64_t ino);
  // Calls `emit` for entries from `offset` on until it returns false. For readdirplus, `plus`
  // is true and each emitted entry carries a lookup reference iff `emit` returned true.
  Status readdir(uint64_t ino, uint64_t fh, uint64_t offset, bool plus,
                 const std::function<bool(const DirEntry&, const Entry*)>& emit);
  void releasedir(uint64_t fh);

  // Files.
  Result<OpenReply> open(uint64_t ino, int flags);
  Result<size_t> read(uint64_t fh, uint64_t offset, size_t length, char* buf);
  void release(uint64_t fh);

  StatFs statfs() const;

  // Mutations (read-only until the write path lands: kReadOnly).
  Status check_writable() const;

  // The key of an inode (xattr, logs); kStale when unknown.
  Result<std::string> key_of(uint64_t ino);

  const FsStats& stats() const { return stats_; }
  MetadataCache& metadata_cache() { return meta_; }
  const Options& options() const { return options_; }

 private:
  struct Inode;
  struct DirHandle;
  struct ReadHandle;

  std::shared_ptr<Inode> inode(uint64_t ino);
  // Finds or creates the inode for key and adds `refs` kernel references.
  std::shared_ptr<Inode> ref_inode(const std::string& key, uint64_t refs);
  // Fresh attributes of `key` (cache, else store).
  Result<store::FileInfo> fetch_attr(const std::string& key, std::chrono::nanoseconds* remaining);
  Entry make_entry(uint64_t ino, const store::FileInfo& info,
                   std::chrono::nanoseconds remaining) const;
  Stat make_stat(uint64_t ino, const store::FileInfo& info) const;
  Result<size_t> read_page_slice(ReadHandle& h, uint64_t index, size_t begin, size_t end,
                                 char* out);
  void readahead_after(std::shared_ptr<ReadHandle> h, uint64_t offset, size_t length);
  void invalidate_file(ReadHandle& h);

  Options options_;
  store::Store& store_;
  const common::Clock& clock_;
  cache::PageCache* page_cache_;
  cache::FetchPool* fetch_pool_;
  MetadataCache meta_;
  FsStats stats_;
  std::atomic<uint64_t> kept_bytes_{0};

  std::mutex inodes_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Inode>> by_ino_;  // GUARDED_BY(inodes_mu_)
  std::unordered_map<std::string, uint64_t> by_key_;             // GUARDED_BY(inodes_mu_)
  uint64_t next_ino_ = kRootIno + 1;                             // GUARDED_BY(inodes_mu_)

  std::mutex handles_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<DirHandle>> dirs_;    // GUARDED_BY(handles_mu_)
  std::unordered_map<uint64_t, std::shared_ptr<ReadHandle>> files_;  // GUARDED_BY(handles_mu_)
  uint64_t next_fh_ = 1;                                             // GUARDED_BY(handles_mu_)
};

}  // namespace alluxio_fuse::fs
