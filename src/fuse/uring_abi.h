#pragma once
// The kernel's FUSE-over-io_uring ABI, declared here because Debian 12's linux-libc-dev
// (protocol 7.38) does not have it yet. Changes only with the kernel's protocol; what the
// daemon does with it is in uring.cc.

#include <cstddef>
#include <cstdint>

namespace alluxio_fuse::fuse::uring_abi {

// uapi linux/fuse.h, protocol 7.42.
constexpr uint32_t kFlag2OverIoUring = 1U << (41 - 32);  // FUSE_OVER_IO_URING in flags2
constexpr uint32_t kCmdRegister = 1;                     // FUSE_IO_URING_CMD_REGISTER
constexpr uint32_t kCmdCommitAndFetch = 2;               // FUSE_IO_URING_CMD_COMMIT_AND_FETCH
constexpr size_t kInOutBytes = 128;                      // FUSE_URING_IN_OUT_HEADER_SZ
constexpr size_t kOpInBytes = 128;                       // FUSE_URING_OP_IN_OUT_SZ

struct RingEntInOut {  // struct fuse_uring_ent_in_out
  uint64_t flags;
  uint64_t commit_id;
  uint32_t payload_sz;
  uint32_t padding;
  uint64_t reserved;
};
struct RingHeader {  // struct fuse_uring_req_header
  char in_out[kInOutBytes];
  char op_in[kOpInBytes];
  RingEntInOut ent;
};
struct RingCmdReq {  // struct fuse_uring_cmd_req, in the SQE128 command area
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;
  uint8_t padding[6];
};
static_assert(sizeof(RingEntInOut) == 32);
static_assert(sizeof(RingHeader) == 288);
static_assert(sizeof(RingCmdReq) == 24);

}  // namespace alluxio_fuse::fuse::uring_abi
