#pragma once
// The filesystem core: inode table, metadata cache, read handles and the page-cache read path,
// write staging and commits, and namespace operations, over one store::Store (the router with
// failover, or a UFS in standalone mode). It never sees libfuse, libcurl or errno: it takes
// inode numbers and handle ids and returns common::Status.
//
// Thread-safety: every method may be called concurrently from libfuse's worker threads.
// Lock order (outer to inner): Staged::mu → inodes_mu_ → handles_mu_ → MetadataCache::mu_ /
// StagingArea::mu_; a read handle's own mutex is taken with none of those held. The global
// locks are never held across store or disk I/O. Staged::mu (one per file being written) is
// the exception by design: it serialises the writes, truncates and the whole-file upload of
// that one file, so that a commit uploads one consistent snapshot.
// Ownership: the store, clock and optional page cache are injected, non-owning, and outlive
// the FileSystem. The FileSystem owns its staging area and one background thread (commits of
// data written after the last flush, semantics.md §3.3 "release").

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alluxio_fuse/cache/buffer_pool.h"
#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/common/singleflight.h"
#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/fs/metadata_cache.h"
#include "alluxio_fuse/fs/staging.h"
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
  // Writes (semantics.md §3.3, config.md §2.6 write.*). No staging_dir: file writes refused.
  std::string staging_dir;
  uint64_t staging_capacity = 20ULL << 30;
  uint64_t max_file_size = 20ULL << 30;
  bool keep_failed = true;
  // Test seam: called with the name of a point the core reached ("readahead-wait": a read
  // found its page's readahead running and waits for it). Unset in the daemon.
  std::function<void(std::string_view)> test_event;
};

// Who asks (from the FUSE request): creation as root over a POSIX store gives files to them.
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// The attribute changes of one setattr; unset fields are left alone.
struct SetAttr {
  enum class Time { kOmit, kNow, kExplicit };
  std::optional<uint64_t> size;
  std::optional<uint32_t> mode;  // permission bits
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  Time atime = Time::kOmit;
  Time mtime = Time::kOmit;
  int64_t atime_ns = 0;  // for kExplicit
  int64_t mtime_ns = 0;
};

// rename(2) flags, as the FUSE layer decodes them.
inline constexpr unsigned kRenameNoReplace = 1;
inline constexpr unsigned kRenameExchange = 2;
inline constexpr unsigned kRenameWhiteout = 4;

// Tells the kernel to drop what it cached. Implemented by the FUSE session, which queues the
// calls to a background thread (never from inside a request handler, page-cache.md §6).
class KernelNotifier {
 public:
  virtual ~KernelNotifier() = default;
  virtual void inval_inode(uint64_t ino) = 0;
  virtual void inval_entry(uint64_t parent, const std::string& name) = 0;
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
  Stat stat;                 // stat.ino == 0 for a negative entry (cache ENOENT)
  double attr_timeout = 0;   // seconds
  double entry_timeout = 0;  // seconds
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
  // Misses that joined a stat or listing request already in flight instead of sending one.
  std::atomic<uint64_t> meta_coalesced{0};
  std::atomic<uint64_t> read_bytes_cache{0};
  std::atomic<uint64_t> read_bytes_worker{0};
  std::atomic<uint64_t> read_bytes_ufs{0};
  std::atomic<uint64_t> fetch_bytes_worker{0};
  std::atomic<uint64_t> fetch_bytes_ufs{0};
  std::atomic<uint64_t> readahead_bytes{0};
  // alluxio_fuse_write_commits_total{result}, alluxio_fuse_write_commit_bytes_total
  std::atomic<uint64_t> commits_ok{0};
  std::atomic<uint64_t> commits_error{0};
  std::atomic<uint64_t> commit_bytes{0};
  std::atomic<uint64_t> written_bytes{0};
};

struct CreateReply {
  Entry entry;
  OpenReply open;
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

  // Files. open with O_WRONLY/O_RDWR gives a write handle on the inode's staged copy.
  Result<OpenReply> open(uint64_t ino, int flags);
  Result<size_t> read(uint64_t fh, uint64_t offset, size_t length, char* buf);
  // read() for a reply without a copy where there is one: `data` points into `buf`, or, for a
  // read of exactly one whole page the handle's readahead kept in memory, into that page's
  // buffer, which `hold` keeps alive until the caller drops it.
  struct ReadData {
    const char* data = nullptr;
    size_t len = 0;
    std::shared_ptr<const void> hold;
  };
  Result<ReadData> read_data(uint64_t fh, uint64_t offset, size_t length, char* buf);
  // Writes into the staged copy (kNoSpace when the staging area is full, kTooLarge beyond
  // write.max_file_size). An O_APPEND handle writes at the end whatever `offset` says.
  Result<size_t> write(uint64_t fh, uint64_t offset, const char* data, size_t length);
  // Commit points: upload the whole staged copy when it changed since the last commit. OK only
  // when the store accepted it; else kIo/kNoSpace/kTooLarge, and the copy is kept (failed/).
  Status flush(uint64_t fh);
  Status fsync(uint64_t fh);
  // The last release of an inode's write handles commits data written after the last flush in
  // the background and deletes the staged copy.
  void release(uint64_t fh);

  // Namespace (semantics.md §2). create returns an entry with a lookup reference and an open
  // write handle.
  Result<CreateReply> create(uint64_t parent, const std::string& name, uint32_t mode, int flags,
                             const Caller& caller);
  // A regular file only (kUnsupported otherwise); committed (empty) before it returns.
  Result<Entry> mknod(uint64_t parent, const std::string& name, uint32_t mode,
                      const Caller& caller);
  Result<Entry> mkdir(uint64_t parent, const std::string& name, uint32_t mode,
                      const Caller& caller);
  Status unlink(uint64_t parent, const std::string& name);
  Status rmdir(uint64_t parent, const std::string& name);
  Status rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                const std::string& new_name, unsigned flags);
  // chmod/chown/utimens/truncate. `fh` is the handle of ftruncate/futimens when the kernel
  // gives one (0 = none).
  Result<Entry> setattr(uint64_t ino, const SetAttr& attr, uint64_t fh);

  StatFs statfs() const;

  // kReadOnly on a read-only mount, else OK.
  Status check_writable() const;

  // Kernel cache invalidation sink (the FUSE session); null to detach. Non-owning. When it
  // returns, no call into the previous notifier is in progress.
  void set_notifier(KernelNotifier* notifier);
  // Commits every dirty staged copy (stop: config.md §4 "commit dirty staged files") and waits
  // for background commits; failures go to failed/. Called by the destructor too.
  void shutdown();
  // Graceful stop, first step: from now on open/create fail with kIo ("shutting down"); handles
  // already open keep working. Waits for background commits of files already closed.
  void refuse_opens();
  // File handles open now (the graceful stop waits for 0).
  size_t open_files();

  // The key of an inode (xattr, logs); kStale when unknown.
  Result<std::string> key_of(uint64_t ino);

  const FsStats& stats() const { return stats_; }
  // Bytes of readahead pages read handles keep in memory until read (≤ memory_budget).
  uint64_t kept_bytes() const { return kept_bytes_.load(); }
  // Bytes accounted in the write staging area (alluxio_fuse_write_staging_bytes).
  uint64_t staging_bytes() const { return staging_->used(); }
  MetadataCache& metadata_cache() { return meta_; }
  const Options& options() const { return options_; }

 private:
  struct Inode;
  struct DirHandle;
  struct ReadHandle;
  struct KeptPage;
  struct Staged;
  struct FileHandle;
  class Background;
  enum class Overlay { kNone, kHidden, kLocal };

  std::shared_ptr<Inode> inode(uint64_t ino);
  // Finds or creates the inode for key and adds `refs` kernel references.
  std::shared_ptr<Inode> ref_inode(const std::string& key, uint64_t refs);
  std::shared_ptr<Inode> ref_inode_locked(const std::string& key, uint64_t refs);
  // Fresh attributes of `key` (cache, else store).
  Result<store::FileInfo> fetch_attr(const std::string& key, std::chrono::nanoseconds* remaining);
  Entry make_entry(uint64_t ino, const store::FileInfo& info,
                   std::chrono::nanoseconds remaining) const;
  Stat make_stat(uint64_t ino, const store::FileInfo& info) const;
  Result<size_t> read_page_slice(ReadHandle& h, uint64_t index, size_t begin, size_t end,
                                 char* out);
  void readahead_after(std::shared_ptr<ReadHandle> h, uint64_t offset, size_t length);
  // Serves [begin, end) of page `index` from the handle's kept readahead page, if it has one
  // of the expected length; a read through the page's end releases it.
  std::optional<size_t> read_kept(ReadHandle& h, uint64_t index, size_t begin, size_t end,
                                  size_t expected, char* out);
  // Takes the handle's kept page `index` out if it holds `expected` bytes (one of another
  // length is dropped) and tells the page cache it was served (a hit).
  std::unique_ptr<KeptPage> take_kept(ReadHandle& h, uint64_t index, size_t expected);
  // The whole kept page a read of [offset, offset + length) is exactly, taken from the handle.
  std::optional<ReadData> take_kept_page(const std::shared_ptr<ReadHandle>& h, uint64_t offset,
                                         size_t length);
  // Counts `bytes` in kept_bytes_ if they fit in options_.memory_budget.
  bool reserve_kept(size_t bytes);
  // Returns once no readahead task of the handle is running for page `index`. A read that
  // caught up with the readahead takes the page it fetched (kept) instead of loading it again;
  // a task still queued is not waited for (it may sit behind others).
  void wait_for_readahead(ReadHandle& h, uint64_t index);
  void invalidate_file(ReadHandle& h);
  Result<std::shared_ptr<ReadHandle>> make_reader(const std::shared_ptr<Inode>& node,
                                                  const std::string& key, int flags,
                                                  OpenReply* reply);
  Result<size_t> read_committed(const std::shared_ptr<ReadHandle>& h, uint64_t offset,
                                size_t length, char* buf);
  // The handle's reader, moved to the inode's current key after a rename.
  std::shared_ptr<ReadHandle> current_reader(FileHandle& h);

  // Inode keys change on rename: read them under inodes_mu_.
  std::string key_locked(const Inode& node) const;
  std::string node_key(const Inode& node);
  void drop_inode_if_unused_locked(const std::shared_ptr<Inode>& node);
  std::shared_ptr<FileHandle> file_handle(uint64_t fh);
  uint64_t add_handle(std::shared_ptr<FileHandle> h);

  // What this mount knows better than the store about `key` (semantics.md §2.3, §2.6):
  // created here and not yet committed (kLocal, info filled), unlinked here while open (kHidden).
  Overlay overlay(const std::string& key, store::FileInfo* info);
  void apply_staged(const Staged& s, store::FileInfo* info) const;
  // Attributes through the overlay: kNotFound for hidden keys.
  Result<store::FileInfo> attr_of(const std::string& key, std::chrono::nanoseconds* remaining,
                                  bool fresh);
  Listing merge_overlay(const std::string& dir_key, Listing listing);
  bool has_local_children(const std::string& dir_key);

  // Write path (write_path.cc).
  Result<std::shared_ptr<Staged>> acquire_staged(const std::shared_ptr<Inode>& node);
  void release_writer(const std::shared_ptr<Staged>& s);
  Status materialize_locked(Staged& s, const std::string& key);
  Status resize_locked(Staged& s, uint64_t size);
  Status commit_locked(Staged& s, bool final_attempt);
  Status commit_inode(const std::shared_ptr<Inode>& node);
  void finish_staged(const std::shared_ptr<Staged>& s);
  void detach_locked(Staged& s);
  Status truncate(const std::shared_ptr<Inode>& node, uint64_t size, uint64_t fh);
  Status apply_attributes(const std::shared_ptr<Inode>& node, const SetAttr& attr);

  // Store requests behind metadata misses (metadata_fetch.cc): concurrent misses of one key
  // share one request; the result is cached unless an invalidation happened meanwhile.
  Result<store::FileInfo> stat_coalesced(const std::string& key);
  Result<Listing> list_coalesced(const std::string& key);

  // Namespace helpers (namespace_ops.cc).
  Result<std::string> child_key_checked(uint64_t parent, const std::string& name, bool creating,
                                        std::shared_ptr<Inode>* dir);
  void flush_deferred_remove(const std::string& key);
  void rekey_locked(const std::string& src, const std::string& dst, bool dir);
  void mark_unlinked_locked(const std::shared_ptr<Inode>& node);
  // Drops the cached pages of the file that `key` names before this mount replaces or removes
  // it: the version in `info` (its last known attributes) and the one `node` last served.
  // Versions are (mtime in ms, size), so a file that arrives at the same key in the same
  // millisecond with the same size would otherwise be served the old file's pages.
  void drop_pages_of(const std::string& key, const store::FileInfo* info,
                     const std::shared_ptr<Inode>& node);
  // Drops the cached pages of versions `a` and `b` of `key` (either may be empty).
  void drop_cached_versions(const std::string& key, const std::string& a, const std::string& b);
  void notify_inode(uint64_t ino);
  void notify_entry(uint64_t parent, const std::string& name);

  Options options_;
  store::Store& store_;
  const common::Clock& clock_;
  cache::PageCache* page_cache_;
  cache::FetchPool* fetch_pool_;
  // Page buffers of readahead fetches, reused (at most 8 idle: 8 × page_size).
  cache::BufferPool readahead_buffers_;
  MetadataCache meta_;
  FsStats stats_;
  // Keyed "<cache generation>:<key>", so a miss after an invalidation never joins a flight that
  // started before it.
  common::SingleFlight<Result<store::FileInfo>> stat_flights_;
  common::SingleFlight<Result<Listing>> list_flights_;
  std::atomic<uint64_t> kept_bytes_{0};  // bytes of KeptPage buffers alive, ≤ memory_budget
  std::atomic<bool> refusing_opens_{false};

  std::mutex inodes_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Inode>> by_ino_;  // GUARDED_BY(inodes_mu_)
  std::unordered_map<std::string, uint64_t> by_key_;             // GUARDED_BY(inodes_mu_)
  uint64_t next_ino_ = kRootIno + 1;                             // GUARDED_BY(inodes_mu_)

  // Overlay of this mount's own uncommitted changes (semantics.md §2.3, §2.6).
  std::unordered_map<std::string, uint64_t> local_files_;  // GUARDED_BY(inodes_mu_)
  std::unordered_map<std::string, uint64_t> hidden_;       // GUARDED_BY(inodes_mu_)

  std::mutex handles_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<DirHandle>> dirs_;    // GUARDED_BY(handles_mu_)
  std::unordered_map<uint64_t, std::shared_ptr<FileHandle>> files_;  // GUARDED_BY(handles_mu_)
  uint64_t next_fh_ = 1;                                             // GUARDED_BY(handles_mu_)

  std::unique_ptr<StagingArea> staging_;
  std::shared_mutex notifier_mu_;       // a leaf: held only around a notifier call
  KernelNotifier* notifier_ = nullptr;  // GUARDED_BY(notifier_mu_)
  const bool as_root_;
  std::unique_ptr<Background> background_;  // last member: stopped first
};

}  // namespace alluxio_fuse::fs
