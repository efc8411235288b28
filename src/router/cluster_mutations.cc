// Design note: the namespace mutations and the commit upload, kept apart from the read side
// because they change for different reasons (semantics.md §4 verification, write fallback).
// Each one names its attempt, how to verify an unknown outcome, and its UFS form; `mutate`
// applies routing.md §6 and worker-rest.md §4.3/§4.4 the same way for all of them.
#include "alluxio_fuse/router/cluster_store.h"

namespace alluxio_fuse::router {

using common::Code;

Status ClusterStore::mutate(const std::string& key, common::TimePoint deadline,
                            const Attempt& attempt, const Verify& verify,
                            const std::function<Status()>& on_ufs) {
  if (options_.oss) {
    // Open-source workers cannot write: never contact them (worker-rest.md §4.4).
    if (may_fall_back(Code::kUnsupported, true)) {
      note_fallback(Code::kUnsupported, key);
      return on_ufs();
    }
    return failure_status(Status(Code::kUnsupported, "mutation of " + key), true);
  }
  Outcome o = run_mutation(key, deadline, attempt, verify);
  if (o.answered) return o.status;
  if (may_fall_back(o.status.code(), true)) {
    note_fallback(o.status.code(), key);
    return on_ufs();
  }
  return failure_status(o.status, true);
}

Status ClusterStore::mkdir(const std::string& key) {
  const common::TimePoint deadline = deadline_after(options_.metadata_timeout);
  return mutate(
      key, deadline, [&](const worker::WorkerAddress& addr) { return workers_.mkdir(addr, key); },
      [&]() -> Result<bool> {
        auto info = fresh_info(key, deadline);
        return info.ok() && info->is_dir();
      },
      [&] { return ufs_->mkdir(key); });
}

Status ClusterStore::remove(const std::string& key, bool directory) {
  const common::TimePoint deadline = deadline_after(options_.metadata_timeout);
  // rmdir's emptiness is the worker's check, so the call is never recursive (§3.11).
  return mutate(
      key, deadline,
      [&](const worker::WorkerAddress& addr) { return workers_.rm(addr, key, false); },
      [&]() -> Result<bool> {
        auto info = fresh_info(key, deadline);
        return !info.ok() && info.status().code() == Code::kNotFound;
      },
      [&] { return ufs_->remove(key, directory); });
}

Status ClusterStore::rename(const std::string& src, const std::string& dst) {
  const common::TimePoint deadline = deadline_after(options_.metadata_timeout);
  return mutate(
      src, deadline, [&](const worker::WorkerAddress& addr) { return workers_.mv(addr, src, dst); },
      [&]() -> Result<bool> {
        auto s = fresh_info(src, deadline);
        auto d = fresh_info(dst, deadline);
        const bool src_absent = !s.ok() && s.status().code() == Code::kNotFound;
        if (src_absent && d.ok()) return true;
        if (s.ok() && d.ok()) {
          return Status(Code::kIo, "rename " + src + " -> " + dst +
                                       ": source and destination both exist after an unknown "
                                       "outcome (partial move)");
        }
        // Source still there and destination absent, or verification failed: one retry is
        // safe (mv refuses an existing destination).
        return false;
      },
      [&] { return ufs_->rename(src, dst); });
}

Status ClusterStore::write_file(const std::string& key, int fd, uint64_t size) {
  // An upload is a stream bounded by its stall timeout, not by the metadata deadline.
  return mutate(
      key, common::TimePoint::max(),
      [&](const worker::WorkerAddress& addr) { return workers_.upload(addr, key, fd, size); },
      // Never inferred from metadata: an upload replaces the file, so repeating it is safe.
      []() -> Result<bool> { return false; }, [&] { return ufs_->write_file(key, fd, size); });
}

}  // namespace alluxio_fuse::router
