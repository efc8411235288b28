#include "alluxio_fuse/store/store.h"

namespace alluxio_fuse::store {

std::string version_tag(const FileInfo& info) {
  if (!info.content_hash.empty()) return "h:" + info.content_hash;
  if (info.mtime_ms > 0 && info.size_exact) {
    return "m:" + std::to_string(info.mtime_ms) + ":l:" + std::to_string(info.size);
  }
  return "";
}

}  // namespace alluxio_fuse::store
