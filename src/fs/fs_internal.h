#pragma once
// Private state of fs::FileSystem shared by its translation units.

#include <mutex>
#include <string>

#include "alluxio_fuse/cache/readahead.h"
#include "alluxio_fuse/fs/file_system.h"

namespace alluxio_fuse::fs {

struct FileSystem::Inode {
  uint64_t ino = 0;
  std::string key;
  uint64_t nlookup = 0;               // GUARDED_BY(FileSystem::inodes_mu_)
  std::string kernel_version;         // GUARDED_BY(FileSystem::inodes_mu_)
  bool kernel_version_known = false;  // GUARDED_BY(FileSystem::inodes_mu_)
};

struct FileSystem::DirHandle {
  uint64_t ino = 0;
  std::string key;
  std::mutex mu;
  Listing snapshot;  // GUARDED_BY(mu); taken at offset 0
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
};

// Key of the parent directory of `key` under `root` (root's parent is root).
std::string parent_key_of(const std::string& root, const std::string& key);

}  // namespace alluxio_fuse::fs
