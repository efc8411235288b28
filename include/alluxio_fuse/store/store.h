#pragma once
// The one contract between the filesystem core and its backends (Alluxio workers through the
// router, the local-directory UFS, S3). Stores speak keys (normalised full UFS URIs,
// common/uri.h), never inodes or file handles, and return common::Status codes, never errno.
//
// Every implementation must pass tests/unit/store_conformance (one test body, every store).
// Thread-safety: every method may be called concurrently from many threads.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::store {

using common::Result;
using common::Status;

enum class FileType { kFile, kDirectory };

// Metadata of one file or directory, as a backend reports it (worker-rest.md §5.1).
struct FileInfo {
  std::string name;  // last path component; "" for the root
  FileType type = FileType::kFile;
  uint64_t size = 0;             // directories report 0
  bool size_exact = true;        // false: approximate or unknown (worker-rest.md §5.3)
  int64_t mtime_ms = 0;          // <= 0: unknown
  int64_t mtime_ns = 0;          // full precision when the backend has it (local UFS); else 0
  int64_t atime_ms = 0;          // <= 0: same as mtime
  std::optional<uint32_t> mode;  // permission bits (& 07777) when the backend gives them
  std::string owner;             // user name, when given
  std::string group;             // group name, when given
  std::optional<uint32_t> uid;   // numeric owner (local UFS)
  std::optional<uint32_t> gid;
  std::string content_hash;        // opaque version token; empty = none
  bool completed = true;           // false: being written elsewhere; reads fail until complete
  int in_alluxio_percentage = -1;  // -1 = not reported

  bool is_dir() const { return type == FileType::kDirectory; }
};

// The version tag of page-cache.md §3: "h:<hash>", "m:<mtime>:l:<len>", or "" (no version:
// bypass the local page cache).
std::string version_tag(const FileInfo& info);

// Where bytes came from, for alluxio_fuse_read_bytes_total{source}.
enum class Source { kWorker, kUfs };

struct ReadRequest {
  std::string key;
  uint64_t offset = 0;
  size_t length = 0;
  // The file size the caller believes, or nullopt when unknown. Lets a store check a reply's
  // length (a short body below a known size means the file changed: kIo).
  std::optional<uint64_t> known_size;
};

struct ReadReply {
  size_t bytes = 0;  // < length only at end of file
  Source source = Source::kUfs;
};

class Store {
 public:
  virtual ~Store() = default;

  // Metadata of `key`. kNotFound when absent. The returned name is the key's last component.
  virtual Result<FileInfo> stat(const std::string& key) = 0;

  // Children of directory `key` (never "." or ".."; invalid names are dropped by the store).
  // kNotFound when absent, kNotDir when `key` is a file.
  virtual Result<std::vector<FileInfo>> list(const std::string& key) = 0;

  // Up to `length` bytes at `offset` into `buf` (capacity >= length). Short only at EOF;
  // 0 bytes at or past EOF. kNotFound when the file is absent, kIsDir for a directory.
  virtual Result<ReadReply> read(const ReadRequest& request, char* buf) = 0;

  // Replace the whole file at `key` with the first `size` bytes of the local file `fd`
  // (read with pread; the offset of fd is not used). Durable in the backend when it returns OK.
  virtual Status write_file(const std::string& key, int fd, uint64_t size) = 0;

  // Create one directory level. kExists if present, kNotFound if the parent is absent.
  virtual Status mkdir(const std::string& key) = 0;

  // Remove a file (directory = false) or an empty directory (directory = true; kNotEmpty
  // otherwise). kNotFound when absent.
  virtual Status remove(const std::string& key, bool directory) = 0;

  // Rename a file or directory. The destination must not exist (the core removes it first).
  virtual Status rename(const std::string& src, const std::string& dst) = 0;

  // Optional: attribute pass-through for a POSIX backend (standalone mode over a file:// UFS,
  // semantics.md §2.5). Other stores keep these defaults: no attribute changes (kNotPermitted).
  // True when set_mode/set_owner/set_times change the backend's attributes.
  virtual bool posix_attributes() const { return false; }
  // Permission bits (& 07777) of `key`.
  virtual Status set_mode(const std::string& /*key*/, uint32_t /*mode*/) {
    return Status(common::Code::kNotPermitted, "this store cannot change modes");
  }
  // Owner and/or group of `key` (nullopt leaves it).
  virtual Status set_owner(const std::string& /*key*/, std::optional<uint32_t> /*uid*/,
                           std::optional<uint32_t> /*gid*/) {
    return Status(common::Code::kNotPermitted, "this store cannot change owners");
  }
  // Access and/or modification time of `key` in nanoseconds since the epoch (nullopt leaves it).
  virtual Status set_times(const std::string& /*key*/, std::optional<int64_t> /*atime_ns*/,
                           std::optional<int64_t> /*mtime_ns*/) {
    return Status(common::Code::kNotPermitted, "this store cannot change times");
  }
};

}  // namespace alluxio_fuse::store
