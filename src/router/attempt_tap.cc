// Design note: the current Scope is a thread_local pointer, because WorkerClient performs its
// one HTTP call synchronously on the caller's thread; that keeps worker_client.h unchanged and
// needs no per-call plumbing. Clamping happens here rather than in WorkerClient so one place
// owns "how long may this attempt still take".
#include "alluxio_fuse/router/attempt_tap.h"

#include <algorithm>
#include <chrono>

namespace alluxio_fuse::router {
namespace {

thread_local AttemptTap::Scope* t_scope = nullptr;

}  // namespace

AttemptTap::Scope::Scope(common::TimePoint deadline) : deadline_(deadline), outer_(t_scope) {
  t_scope = this;
}

AttemptTap::Scope::~Scope() { t_scope = outer_; }

std::optional<http::State> AttemptTap::Scope::take() {
  std::optional<http::State> out = last_;
  last_.reset();
  return out;
}

AttemptTap::AttemptTap(http::Client& inner, const common::Clock& clock)
    : inner_(inner), clock_(clock) {}

http::Response AttemptTap::perform(const http::Request& request) {
  Scope* scope = t_scope;
  if (scope == nullptr) return inner_.perform(request);
  http::Response resp;
  if (scope->deadline_ == common::TimePoint::max()) {
    resp = inner_.perform(request);
  } else {
    using std::chrono::milliseconds;
    const auto left = std::chrono::duration_cast<milliseconds>(scope->deadline_ - clock_.now());
    if (left < milliseconds(1)) {
      // Not recorded: the worker was never asked, so it must not become suspect.
      resp.state = http::State::kTimeout;
      resp.error = "operation deadline passed before the attempt";
      return resp;
    }
    {
      http::Request clamped = request;
      clamped.connect_timeout = std::min(clamped.connect_timeout, left);
      // A stream (total 0) keeps its stall timeout and gains the deadline as its total.
      clamped.total_timeout =
          clamped.total_timeout.count() == 0 ? left : std::min(clamped.total_timeout, left);
      resp = inner_.perform(clamped);
    }
  }
  scope->last_ = resp.state;
  return resp;
}

}  // namespace alluxio_fuse::router
