// Fuzzes the small worker replies that carry addresses and credentials: /v1/node (§3.7),
// /v1/ufsInfo, and the error text taken from any reply body. Invariants: no crash; a parsed
// node has a non-empty host and a port in 1..65535; error text has no control characters.
#include <string>

#include "alluxio_fuse/worker/wire.h"
#include "fuzz_util.h"

using namespace alluxio_fuse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = fuzz::as_text(data, size);
  auto node = worker::parse_node(body, worker::kDefaultWorkerPort);
  if (node.ok()) {
    AF_FUZZ_CHECK(!node->host.empty());
    AF_FUZZ_CHECK(node->port > 0 && node->port <= 65535);
    (void)worker::base_url(node.value());
  }
  auto mounts = worker::parse_ufs_info(body);
  if (mounts.ok()) {
    for (const auto& m : mounts.value()) {
      AF_FUZZ_CHECK(m.ufs_uri.empty() || m.ufs_uri.back() != '/' || m.ufs_uri.size() == 1 ||
                    m.ufs_uri.ends_with("://") || m.ufs_uri.ends_with(":///"));
    }
  }
  std::string text = worker::error_text(body);
  for (char c : text) AF_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  return 0;
}
