// Fuzzes the /v1/load replies (worker-rest.md §3.14): progress and submit/stop acks.
// Invariants: no crash; a FAILED state is reported as kFailed; errors are kBadResponse or kIo.
#include <string>

#include "alluxio_fuse/worker/wire.h"
#include "fuzz_util.h"

using namespace alluxio_fuse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = fuzz::as_text(data, size);
  auto progress = worker::parse_load_progress(body);
  if (progress.ok()) {
    if (progress->raw_state.find("FAILED") != std::string::npos) {
      AF_FUZZ_CHECK(progress->state == worker::LoadState::kFailed);
    }
    (void)worker::to_string(progress->state);
  } else {
    AF_FUZZ_CHECK(progress.status().code() == common::Code::kBadResponse);
  }
  auto ack = worker::parse_load_ack(body);
  if (!ack.ok()) {
    auto code = ack.status().code();
    AF_FUZZ_CHECK(code == common::Code::kBadResponse || code == common::Code::kIo);
  }
  return 0;
}
