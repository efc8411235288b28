#pragma once
// AttemptTap: an http::Client decorator that lets the router see each worker attempt the way
// the wire saw it, and bounds each attempt by the operation's deadline.
//
// WorkerClient reports outcomes as common::Status codes, which fold "connection refused" and
// "HTTP 503" into one kUnavailable; only the former makes a worker suspect (worker-rest.md §4.1).
// The tap records the http::State of the last attempt made on the calling thread inside a
// Scope, and clamps every attempt's connect and total timeouts to what is left of the Scope's
// deadline (an attempt with nothing left fails as kTimeout without touching the network), so a
// whole operation — retries and failovers included — ends by its deadline.
//
// Calls made on a thread with no Scope (etcd refreshes, node lookups outside an operation)
// pass through unchanged.
// Thread-safety: perform() may be called from many threads; a Scope belongs to one thread.
// Ownership: the inner Client and the Clock are non-owning and must outlive the tap.

#include <optional>

#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::router {

class AttemptTap final : public http::Client {
 public:
  AttemptTap(http::Client& inner, const common::Clock& clock);

  http::Response perform(const http::Request& request) override;
  void cancel_all() override { inner_.cancel_all(); }

  // While alive, calls on this thread are bounded by `deadline` (TimePoint::max(): no bound)
  // and their states recorded. Scopes nest; the inner one wins until it ends.
  class Scope {
   public:
    explicit Scope(common::TimePoint deadline);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

    // The state of the last attempt made in this scope since the previous take(), or nullopt
    // when no attempt reached the tap (e.g. WorkerClient refused an enterprise-only call).
    std::optional<http::State> take();
    common::TimePoint deadline() const { return deadline_; }

   private:
    friend class AttemptTap;
    common::TimePoint deadline_;
    std::optional<http::State> last_;
    Scope* outer_;
  };

 private:
  http::Client& inner_;
  const common::Clock& clock_;
};

}  // namespace alluxio_fuse::router
