// Fuzzes the /v1/files listing parser (worker-rest.md §5). Invariants: no crash; every kept
// entry has a valid, unique name (hostile names are dropped, never served).
#include <set>
#include <string>

#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/worker/wire.h"
#include "fuzz_util.h"

using namespace alluxio_fuse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto listing = worker::parse_listing(fuzz::as_text(data, size));
  if (!listing.ok()) {
    AF_FUZZ_CHECK(listing.status().code() == common::Code::kBadResponse);
    return 0;
  }
  std::set<std::string> names;
  for (const auto& entry : listing->entries) {
    AF_FUZZ_CHECK(common::is_valid_name(entry.name));
    AF_FUZZ_CHECK(names.insert(entry.name).second);
    if (entry.is_dir()) AF_FUZZ_CHECK(entry.size == 0);
    AF_FUZZ_CHECK(entry.mode <= 07777);
  }
  return 0;
}
