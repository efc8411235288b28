#pragma once
// The local-directory under-store (`file:///data`): the store contract over POSIX calls.
// Keys map to paths below the root (common::local_path_for_key, which refuses "..").
//
// Thread-safety: stateless apart from immutable options; every method is safe concurrently.
// Writes are durable when they return: data is fsync'ed into a temporary file in the target
// directory, renamed over the target, and the directory is fsync'ed.

#include <optional>
#include <string>

#include "alluxio_fuse/store/store.h"

namespace alluxio_fuse::ufs {

class LocalStore final : public store::Store {
 public:
  // `root` is a normalised file:// URI.
  explicit LocalStore(std::string root);

  common::Result<store::FileInfo> stat(const std::string& key) override;
  common::Result<std::vector<store::FileInfo>> list(const std::string& key) override;
  common::Result<store::ReadReply> read(const store::ReadRequest& request, char* buf) override;
  common::Status write_file(const std::string& key, int fd, uint64_t size) override;
  common::Status mkdir(const std::string& key) override;
  common::Status remove(const std::string& key, bool directory) override;
  common::Status rename(const std::string& src, const std::string& dst) override;

  // The backend is a POSIX file system: chmod, chown and utimens pass through (semantics.md
  // §2.5). write_file keeps the mode (and, as root, the owner) of the file it replaces.
  bool posix_attributes() const override { return true; }
  common::Status set_mode(const std::string& key, uint32_t mode) override;
  common::Status set_owner(const std::string& key, std::optional<uint32_t> uid,
                           std::optional<uint32_t> gid) override;
  common::Status set_times(const std::string& key, std::optional<int64_t> atime_ns,
                           std::optional<int64_t> mtime_ns) override;

  const std::string& root() const { return root_; }

 private:
  common::Result<std::string> path_of(const std::string& key) const;

  std::string root_;
};

}  // namespace alluxio_fuse::ufs
