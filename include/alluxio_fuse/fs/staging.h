#pragma once
// The write staging area (semantics.md §3.3, config.md §2.6 `write.*`): a local directory that
// holds one staged copy per inode open for writing, its capacity accounting, and `failed/`,
// where copies whose commit failed are kept (oldest deleted first when space runs out).
//
// Every staged file has a sidecar "<name>.key" holding its key, so that copies found after a
// crash (kill -9 mid-write) can be moved to failed/ with their key rather than lost or
// silently committed: after a restart only whole, previously committed versions are visible.
//
// Thread-safety: all methods are safe concurrently. One internal mutex (a leaf in the core's
// lock order) guards the accounting; file creation, copies and deletions run outside it.
// Ownership: owns nothing but the files it creates; callers own the descriptors it returns.

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::fs {

struct StagingOptions {
  std::string dir;  // empty: no staging (file writes are refused)
  uint64_t capacity = 20ULL << 30;
  uint64_t max_file_size = 20ULL << 30;
  bool keep_failed = true;
};

class StagingArea {
 public:
  explicit StagingArea(StagingOptions options);
  StagingArea(const StagingArea&) = delete;
  StagingArea& operator=(const StagingArea&) = delete;

  // Creates the directory and failed/; leftovers of a previous run (staged copies that were
  // never committed) go to failed/ when keep_failed, else are deleted. Logs what it did.
  common::Status open();
  bool usable() const { return opened_; }

  // A new empty staged file for `key`: returns its descriptor (O_RDWR, O_CLOEXEC) and path.
  common::Result<int> create(const std::string& key, std::string* path);
  // Deletes a staged file and its sidecar (descriptor ownership stays with the caller).
  void remove(const std::string& path);

  // Accounts `bytes` more of the capacity, deleting the oldest failed/ copies when needed.
  // kNoSpace when the capacity cannot hold them.
  common::Status reserve(uint64_t bytes);
  void unreserve(uint64_t bytes);

  // Keeps the first `size` bytes of staged file `fd` (of `key`) under failed/ as a copy,
  // replacing `*kept` (a previous copy of the same file) if set; `*kept` receives the path.
  // `move_path`: the staged file itself is renamed into failed/ (no copy) and its reservation
  // becomes the failed copy's. No-op returning OK when keep_failed is off.
  common::Status keep_failed(const std::string& key, int fd, uint64_t size,
                             const std::string& move_path, std::string* kept);

  // Deletes a copy kept by keep_failed (its data was committed after all).
  void discard_kept(const std::string& path);

  uint64_t used() const;
  uint64_t failed_bytes() const;
  const StagingOptions& options() const { return options_; }
  std::string failed_dir() const { return options_.dir + "/failed"; }

 private:
  struct Kept {
    std::string path;
    uint64_t bytes;
  };
  void forget_kept_locked(const std::string& path, std::vector<std::string>* victims);

  StagingOptions options_;
  bool opened_ = false;
  mutable std::mutex mu_;
  uint64_t used_ = 0;          // GUARDED_BY(mu_): staged reservations + failed copies
  uint64_t failed_bytes_ = 0;  // GUARDED_BY(mu_)
  uint64_t seq_ = 0;           // GUARDED_BY(mu_)
  std::deque<Kept> failed_;    // GUARDED_BY(mu_), oldest first
};

}  // namespace alluxio_fuse::fs
