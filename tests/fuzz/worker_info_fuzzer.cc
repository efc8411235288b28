// Fuzzes the /v1/info reply parser (worker-rest.md §5) and the helpers it relies on: the
// surrogate/UTF-8 sanitiser and mHumanReadableFileSize. Input: "<key>\n<body>".
// Invariants: no crash; a parsed entry is named after the key; sanitize_json is idempotent;
// an exact human size is "<bytes>B".
#include <string>

#include "alluxio_fuse/worker/wire.h"
#include "fuzz_util.h"

using namespace alluxio_fuse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [key, body] = fuzz::split_line(fuzz::as_text(data, size));
  auto info = worker::parse_info(body, key);
  if (info.ok()) {
    AF_FUZZ_CHECK(info->name == worker::key_name(key));
    if (info->is_dir()) AF_FUZZ_CHECK(info->size == 0);
  } else {
    auto code = info.status().code();
    AF_FUZZ_CHECK(code == common::Code::kBadResponse || code == common::Code::kNotFound);
  }
  auto once = worker::sanitize_json(body);
  if (once.ok()) {
    auto twice = worker::sanitize_json(once.value());
    AF_FUZZ_CHECK(twice.ok() && twice.value() == once.value());
  }
  auto human = worker::parse_human_size(key);
  if (human && human->exact) AF_FUZZ_CHECK(!key.empty() && key.back() == 'B');
  return 0;
}
