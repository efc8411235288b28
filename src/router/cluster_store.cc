// Design note: every operation is one candidate search (run / run_mutation) followed by one
// decision: the worker's answer, the UFS, or an error. The search owns failover order, the
// round backoff and the deadline; the operations only say what one attempt is, so the rules of
// routing.md §6 live in one loop. The http::State of each attempt comes from the AttemptTap (a
// Status alone cannot tell "refused" from "503"), feeds Router::report (suspicion), and the
// tap also clamps each attempt to the time the operation has left.
//
// Mutations differ in one way: after timeout, no_reply or 5xx the worker may have done the
// change, so run_mutation verifies with a fresh /v1/info before it tries elsewhere
// (semantics.md §4). The parent check (worker-rest.md §3.1) and the read/range choice live in
// the operations. No lock is held across a worker or UFS call.
#include "alluxio_fuse/router/cluster_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "alluxio_fuse/worker/wire.h"

namespace alluxio_fuse::router {
namespace {

using common::Code;
using common::Duration;
using common::TimePoint;

// The directory key holding `key`, or nullopt for a root ("s3://bkt", "file:///").
std::optional<std::string> parent_key(const std::string& key) {
  const size_t sep = key.find("://");
  if (sep == std::string::npos) return std::nullopt;
  const size_t path_start = sep + 3;
  const size_t slash = key.rfind('/');
  if (slash == std::string::npos || slash < path_start) return std::nullopt;
  if (slash + 1 == key.size())
    return std::nullopt;  // "file:///" (normalised keys end so only here)
  if (slash == path_start) return key.substr(0, slash + 1);  // "file:///a" -> "file:///"
  return key.substr(0, slash);
}

}  // namespace

ClusterStore::ClusterStore(cluster::Router& router, worker::WorkerClient& workers,
                           store::Store* ufs, ClusterStoreOptions options,
                           const common::Clock& clock, SleepFn sleep)
    : router_(router),
      workers_(workers),
      ufs_(ufs),
      options_(std::move(options)),
      clock_(clock),
      sleep_(std::move(sleep)),
      worker_errors_(clock),
      rng_(options_.jitter_seed != 0 ? options_.jitter_seed : std::random_device{}()) {
  if (!sleep_) sleep_ = [](Duration d) { std::this_thread::sleep_for(d); };
}

TimePoint ClusterStore::deadline_after(Duration d) const {
  if (d <= Duration::zero()) return TimePoint::max();
  return clock_.now() + d;
}

Duration ClusterStore::backoff(uint32_t round) {
  Duration d = options_.backoff_initial;
  for (uint32_t i = 0; i < round && d < options_.backoff_max; ++i) d *= 2;
  double factor = 1.0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    factor = std::uniform_real_distribution<double>(0.8, 1.2)(rng_);
  }
  auto jittered = std::chrono::duration_cast<Duration>(d * factor);
  return std::min(jittered, options_.backoff_max);
}

void ClusterStore::note_answer() {
  if (in_fallback_.load(std::memory_order_relaxed) && in_fallback_.exchange(false)) {
    spdlog::info("workers answer again: UFS fallback episode over");
  }
}

void ClusterStore::note_oss(const worker::WorkerAddress& addr) {
  if (options_.oss || !workers_.treats_as_oss(addr)) return;
  const std::string id = addr.host + ":" + std::to_string(addr.port);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!oss_logged_.insert(id).second) return;
  }
  spdlog::warn(
      "worker {} answers like an open-source worker: enterprise-only calls to it go "
      "elsewhere or to the UFS for 10 minutes",
      id);
}

bool ClusterStore::may_fall_back(Code failure, bool mutation) const {
  if (ufs_ == nullptr || !options_.fallback_enabled) return false;
  if (!common::is_fallback_class(failure) || options_.fallback_on.count(failure) == 0) return false;
  return !mutation || options_.fallback_writes;
}

void ClusterStore::note_fallback(Code failure, const std::string& key) {
  switch (failure) {
    case Code::kUnavailable:
      stats_.fallback_unavailable.fetch_add(1);
      break;
    case Code::kTimeout:
      stats_.fallback_timeout.fetch_add(1);
      break;
    case Code::kMiss:
      stats_.fallback_miss.fetch_add(1);
      break;
    case Code::kServerError:
      stats_.fallback_server_error.fetch_add(1);
      break;
    default:
      stats_.fallback_unsupported.fetch_add(1);
  }
  // An open-source miss is normal traffic, not an episode of failing workers.
  if (failure == Code::kMiss) return;
  if (!in_fallback_.load(std::memory_order_relaxed) && !in_fallback_.exchange(true)) {
    spdlog::warn("workers fail ({}), serving from the UFS until they answer again; first key {}",
                 common::fallback_class_name(failure), key);
  }
}

Status ClusterStore::failure_status(const Status& failure, bool mutation) const {
  if (mutation && (options_.oss || failure.code() == Code::kUnsupported)) {
    return Status(Code::kReadOnly, "open-source workers cannot write and fallback.writes is off: " +
                                       failure.message());
  }
  return Status(Code::kIo, "no worker answered (" + std::string(common::to_string(failure.code())) +
                               "), no UFS fallback: " + failure.message());
}

ClusterStore::Outcome ClusterStore::run(const std::string& key, Kind kind, TimePoint deadline,
                                        const Attempt& attempt) {
  Status last(Code::kUnavailable, "no worker in the membership for " + key);
  bool moved_after_error = false;  // the one extra candidate after 500 / bad_response
  for (uint32_t round = 0; round <= options_.retries; ++round) {
    if (round > 0) {
      const TimePoint now = clock_.now();
      if (now >= deadline) break;
      stats_.rounds.fetch_add(1);
      sleep_(std::min<Duration>(backoff(round - 1), deadline - now));
    }
    std::vector<cluster::Worker> candidates = router_.candidates(key);
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (clock_.now() >= deadline) {
        return {Status(Code::kTimeout, "deadline passed for " + key + "; last: " + last.message()),
                false};
      }
      if (i > 0) stats_.failovers.fetch_add(1);
      const cluster::WorkerAddress& where = candidates[i].address;
      const worker::WorkerAddress addr{where.host, where.port};
      Status st;
      std::optional<http::State> state;
      {
        // Share what is left among the candidates still to try in this round, so one hanging
        // worker cannot eat the whole deadline and leave nothing for failover; the last
        // candidate gets all of it.
        TimePoint attempt_deadline = deadline;
        if (deadline != TimePoint::max()) {
          const TimePoint now = clock_.now();
          attempt_deadline = now + (deadline - now) / static_cast<int64_t>(candidates.size() - i);
        }
        AttemptTap::Scope scope(attempt_deadline);
        stats_.attempts.fetch_add(1);
        st = attempt(addr);
        state = scope.take();
      }
      if (state) router_.report(where, *state);
      switch (st.code()) {
        case Code::kUnavailable:
        case Code::kTimeout:
          if (router_.server_mode()) router_.forget(key);
          last = std::move(st);
          continue;
        case Code::kUnsupported:
          note_oss(addr);
          last = std::move(st);
          continue;
        case Code::kMiss:
          note_oss(addr);
          // Other workers are not the owner and do not hold it either (routing.md §6.3).
          if (kind != Kind::kMutation) return {std::move(st), false};
          last = std::move(st);
          continue;
        case Code::kServerError:
        case Code::kBadResponse:
          if (uint64_t quiet = 0;
              worker_errors_.should_log(addr.host + ":" + std::to_string(addr.port) + " " +
                                            std::string(common::to_string(st.code())),
                                        &quiet)) {
            spdlog::warn("worker {}:{}: {} ({} similar lines suppressed)", addr.host, addr.port,
                         st.message(), quiet);
          }
          if (moved_after_error) return {std::move(st), false};
          moved_after_error = true;
          last = std::move(st);
          continue;
        default:
          note_answer();
          return {std::move(st), true};
      }
    }
  }
  if (clock_.now() >= deadline) {
    return {Status(Code::kTimeout, "deadline passed for " + key + "; last: " + last.message()),
            false};
  }
  return {std::move(last), false};
}

ClusterStore::Outcome ClusterStore::run_mutation(const std::string& key, TimePoint deadline,
                                                 const Attempt& attempt, const Verify& verify) {
  bool retried = false;
  Attempt guarded = [&](const worker::WorkerAddress& addr) -> Status {
    Status st = attempt(addr);
    switch (st.code()) {
      case Code::kTimeout:
      case Code::kMiss:
      case Code::kServerError:
      case Code::kBadResponse: {
        auto done = verify();
        if (!done.ok()) return Status(Code::kIo, done.status().message());
        if (*done) return Status::Ok();
        if (retried) {
          return Status(Code::kIo, "outcome unknown after one retry: " + st.message());
        }
        retried = true;
        // Known not done: safe to try the next candidate as if refused.
        return Status(Code::kUnavailable, st.message());
      }
      default:
        return st;
    }
  };
  return run(key, Kind::kMutation, deadline, guarded);
}

Result<store::FileInfo> ClusterStore::fresh_info(const std::string& key, TimePoint deadline) {
  store::FileInfo info;
  Outcome o = run(key, Kind::kInfo, deadline, [&](const worker::WorkerAddress& addr) {
    auto r = workers_.info(addr, key);
    if (!r.ok()) return r.status();
    info = std::move(r).value();
    return Status::Ok();
  });
  if (!o.status.ok()) return o.status;
  return info;
}

Result<store::FileInfo> ClusterStore::stat_on_workers(const std::string& key, TimePoint deadline,
                                                      Outcome* outcome) {
  store::FileInfo info;
  *outcome = run(key, Kind::kInfo, deadline, [&](const worker::WorkerAddress& addr) {
    auto r = workers_.info(addr, key);
    if (!r.ok()) return r.status();
    info = std::move(r).value();
    return Status::Ok();
  });
  if (outcome->answered) {
    if (outcome->status.ok()) return info;
    return outcome->status;
  }
  if (outcome->status.code() != Code::kMiss) return outcome->status;

  // Parent check (worker-rest.md §3.1): an open-source worker closes the connection for an
  // absent path and for a path it never cached alike; the parent's listing tells them apart.
  auto parent = parent_key(key);
  if (!parent) return outcome->status;
  worker::Listing listing;
  Outcome lo = run(*parent, Kind::kList, deadline, [&](const worker::WorkerAddress& addr) {
    auto r = workers_.list(addr, *parent);
    if (!r.ok()) return r.status();
    listing = std::move(r).value();
    return Status::Ok();
  });
  if (!lo.answered) {
    *outcome = std::move(lo);
    return outcome->status;
  }
  outcome->answered = true;
  if (!lo.status.ok()) {
    outcome->status = lo.status.code() == Code::kNotFound
                          ? Status(Code::kNotFound, key + ": parent " + *parent + " is absent")
                          : lo.status;
    return outcome->status;
  }
  if (listing.rejected > 0) stats_.bad_entries.fetch_add(listing.rejected);
  const std::string name = worker::key_name(key);
  for (store::FileInfo& e : listing.entries) {
    if (e.name == name) {
      outcome->status = Status::Ok();
      return std::move(e);
    }
  }
  outcome->status = Status(Code::kNotFound, key + ": not in the listing of " + *parent);
  return outcome->status;
}

Result<store::FileInfo> ClusterStore::stat(const std::string& key) {
  Outcome o;
  auto r = stat_on_workers(key, deadline_after(options_.metadata_timeout), &o);
  if (o.answered) return r;
  if (may_fall_back(o.status.code(), false)) {
    note_fallback(o.status.code(), key);
    return ufs_->stat(key);
  }
  return failure_status(o.status, false);
}

Result<std::vector<store::FileInfo>> ClusterStore::list(const std::string& key) {
  worker::Listing listing;
  Outcome o = run(key, Kind::kList, deadline_after(options_.metadata_timeout),
                  [&](const worker::WorkerAddress& addr) {
                    auto r = workers_.list(addr, key);
                    if (!r.ok()) return r.status();
                    listing = std::move(r).value();
                    return Status::Ok();
                  });
  if (o.answered) {
    if (!o.status.ok()) return o.status;
    if (listing.rejected > 0) {
      stats_.bad_entries.fetch_add(listing.rejected);
      spdlog::warn("listing {}: skipped {} invalid entries (bad names or schema)", key,
                   listing.rejected);
    }
    return std::move(listing.entries);
  }
  if (may_fall_back(o.status.code(), false)) {
    note_fallback(o.status.code(), key);
    return ufs_->list(key);
  }
  return failure_status(o.status, false);
}

Result<store::ReadReply> ClusterStore::read(const store::ReadRequest& request, char* buf) {
  if (request.length == 0) return store::ReadReply{0, store::Source::kWorker};
  const uint64_t p = options_.page_size;
  const uint64_t first = request.offset / p;
  const bool one_page = first == (request.offset + request.length - 1) / p;
  size_t got = 0;
  Outcome o = run(request.key, Kind::kRead, deadline_after(options_.data_timeout),
                  [&](const worker::WorkerAddress& addr) {
                    auto r = one_page
                                 ? workers_.read_page(addr, request.key, first, request.offset % p,
                                                      request.length, buf, request.known_size)
                                 : workers_.read_range(addr, request.key, request.offset,
                                                       request.length, buf, request.known_size);
                    if (!r.ok()) return r.status();
                    got = *r;
                    return Status::Ok();
                  });
  if (o.answered) {
    if (!o.status.ok()) return o.status;
    return store::ReadReply{got, store::Source::kWorker};
  }
  if (may_fall_back(o.status.code(), false)) {
    note_fallback(o.status.code(), request.key);
    auto r = ufs_->read(request, buf);
    if (!r.ok()) return r.status();
    r->source = store::Source::kUfs;
    return r;
  }
  return failure_status(o.status, false);
}

}  // namespace alluxio_fuse::router
