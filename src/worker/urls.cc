// URL building for worker-rest.md §2–§3: parameter order and spelling exactly as the spec
// writes them, every query value through http::encode_query_value, booleans as True/False
// (except /v1/load's verbose, which the spec spells true/false).
#include "alluxio_fuse/common/hash.h"
#include "alluxio_fuse/worker/wire.h"

namespace alluxio_fuse::worker {
namespace {

std::string q(std::string_view value) { return http::encode_query_value(value); }
const char* py_bool(bool b) { return b ? "True" : "False"; }

}  // namespace

std::string path_id(std::string_view key) { return common::sha256_hex(key); }

std::string base_url(const WorkerAddress& addr) {
  std::string out = "http://";
  bool ipv6 = addr.host.find(':') != std::string::npos && addr.host.front() != '[';
  if (ipv6) out.push_back('[');
  out.append(addr.host);
  if (ipv6) out.push_back(']');
  out.append(":").append(std::to_string(addr.port));
  return out;
}

std::string info_url(const WorkerAddress& addr, std::string_view key) {
  return base_url(addr) + "/v1/info?path=" + q(key);
}

std::string files_url(const WorkerAddress& addr, std::string_view key) {
  return base_url(addr) + "/v1/files?path=" + q(key);
}

std::string page_url(const WorkerAddress& addr, std::string_view key, uint64_t page_index,
                     std::optional<std::pair<uint64_t, uint64_t>> partial, bool with_ufs_path) {
  std::string url =
      base_url(addr) + "/v1/file/" + path_id(key) + "/page/" + std::to_string(page_index);
  char sep = '?';
  if (partial) {
    url +=
        "?offset=" + std::to_string(partial->first) + "&length=" + std::to_string(partial->second);
    sep = '&';
  }
  if (with_ufs_path) {
    url.push_back(sep);
    url += "ufsFullPath=" + q(key);
  }
  return url;
}

std::string range_url(const WorkerAddress& addr, std::string_view key, uint64_t offset,
                      uint64_t length) {
  return base_url(addr) + "/v1/range/" + path_id(key) + "?ufsFullPath=" + q(key) +
         "&offset=" + std::to_string(offset) + "&length=" + std::to_string(length);
}

std::string chunk_url(const WorkerAddress& addr, std::string_view key, uint64_t chunk_size) {
  return base_url(addr) + "/v1/chunk/" + path_id(key) + "?ufsFullPath=" + q(key) +
         "&chunkSize=" + std::to_string(chunk_size);
}

std::string mkdir_url(const WorkerAddress& addr, std::string_view key) {
  return base_url(addr) + "/v1/mkdir/" + path_id(key) + "?ufsFullPath=" + q(key);
}

std::string touch_url(const WorkerAddress& addr, std::string_view key) {
  return base_url(addr) + "/v1/touch/" + path_id(key) + "?ufsFullPath=" + q(key);
}

std::string rm_url(const WorkerAddress& addr, std::string_view key, bool recursive) {
  // remove_alluxio_only is always False: a FUSE unlink/rmdir deletes from the UFS too.
  return base_url(addr) + "/v1/rm/" + path_id(key) + "?ufsFullPath=" + q(key) +
         "&recursive=" + py_bool(recursive) + "&recursiveAlias=False" +
         "&sync_parent_next_time=False&remove_unchecked_option=False" +
         "&remove_alluxio_only=False&delete_mount_point=False";
}

std::string mv_url(const WorkerAddress& addr, std::string_view src, std::string_view dst) {
  return base_url(addr) + "/v1/mv/" + path_id(src) + "?srcPath=" + q(src) + "&dstPath=" + q(dst);
}

std::string node_url(const WorkerAddress& addr, std::string_view key) {
  return base_url(addr) + "/v1/node?path=" + q(key);
}

std::string load_url(const WorkerAddress& addr, std::string_view key, std::string_view op,
                     bool verbose) {
  std::string url = base_url(addr) + "/v1/load?path=" + q(key) + "&opType=" + std::string(op);
  if (op == "progress") url += verbose ? "&verbose=true" : "&verbose=false";
  return url;
}

std::string ufs_info_url(const WorkerAddress& addr) { return base_url(addr) + "/v1/ufsInfo"; }

}  // namespace alluxio_fuse::worker
