// etcd membership. Design:
// - All network I/O happens with no lock held; state_mu_ guards only the endpoint order, the
//   auth token and the last records, each touched for a copy in or out.
// - A refresh compares the canonical (identity-sorted) worker lists: equal -> "unchanged"; same
//   identities with new addresses -> a ring that shares the old entries (keys do not move);
//   otherwise a full rebuild. Errors and empty replies keep the last good snapshot.
// - The refresh thread sleeps on a condition variable so stop() wakes it at once; an etcd
//   request in flight finishes within etcd.timeout.
#include "alluxio_fuse/cluster/etcd_membership.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "alluxio_fuse/common/thread_name.h"

namespace alluxio_fuse::cluster {
namespace {

using common::Code;
using common::make_status;
using common::Result;
using common::Status;

// Local copy of the state names so this module needs only the http interface header.
const char* state_name(http::State s) {
  switch (s) {
    case http::State::kOk:
      return "ok";
    case http::State::kNotFound:
      return "not_found";
    case http::State::kHttp4xx:
      return "http_4xx";
    case http::State::kHttp5xx:
      return "http_5xx";
    case http::State::kRefused:
      return "refused";
    case http::State::kTimeout:
      return "timeout";
    case http::State::kNoReply:
      return "no_reply";
    case http::State::kBadResponse:
      return "bad_response";
  }
  return "unknown";
}

std::string describe(const http::Response& r) {
  std::string s = state_name(r.state);
  if (r.status != 0) s += " (HTTP " + std::to_string(r.status) + ")";
  if (!r.error.empty()) s += ": " + r.error;
  return s;
}

constexpr size_t kMaxEtcdReply = 64U << 20;

}  // namespace

Result<std::unique_ptr<EtcdMembership>> EtcdMembership::create(EtcdOptions options,
                                                               http::Client& client,
                                                               common::Clock& clock, WaitFn wait) {
  if (options.hosts.empty()) return make_status(Code::kInvalid, "etcd.hosts: no endpoint given");
  if (options.prefix.empty() || options.prefix.back() != '/') {
    return make_status(Code::kInvalid, "etcd.prefix: must end with '/'");
  }
  if (options.username.empty() != options.password.empty()) {
    return make_status(Code::kInvalid, "etcd.username and etcd.password: give both or neither");
  }
  std::vector<std::string> endpoints;
  for (const std::string& item : options.hosts) {
    auto url = etcd_endpoint_url(item, options.default_port);
    if (!url.ok()) return url.status();
    endpoints.push_back(std::move(url).value());
  }
  std::mt19937_64 rng(options.shuffle_seed != 0 ? options.shuffle_seed : std::random_device{}());
  std::shuffle(endpoints.begin(), endpoints.end(), rng);
  return std::unique_ptr<EtcdMembership>(
      new EtcdMembership(std::move(options), std::move(endpoints), client, clock, std::move(wait)));
}

EtcdMembership::EtcdMembership(EtcdOptions options, std::vector<std::string> endpoints,
                               http::Client& client, common::Clock& clock, WaitFn wait)
    : options_(std::move(options)),
      client_(client),
      clock_(clock),
      wait_(std::move(wait)),
      endpoints_(std::move(endpoints)) {
  if (!wait_) wait_ = [this](common::Duration d) { default_wait(d); };
}

EtcdMembership::~EtcdMembership() { stop(); }

std::vector<std::string> EtcdMembership::endpoint_order() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  std::vector<std::string> out;
  for (size_t k = 0; k < endpoints_.size(); ++k) {
    out.push_back(endpoints_[(preferred_ + k) % endpoints_.size()]);
  }
  return out;
}

std::vector<WorkerRecord> EtcdMembership::records() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return records_;
}

http::Response EtcdMembership::post(const std::string& url, std::string body,
                                    std::string_view metric, const std::string& token) {
  http::Request req;
  req.method = "POST";
  req.url = url;
  req.body = std::move(body);
  req.headers.emplace_back("Content-Type", "application/json");
  if (!token.empty()) req.headers.emplace_back("Authorization", token);
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout);
  if (timeout.count() <= 0) timeout = std::chrono::milliseconds(5000);
  req.connect_timeout = std::min(timeout, std::chrono::milliseconds(2000));
  req.total_timeout = timeout;
  req.max_body = kMaxEtcdReply;
  req.metric_method = metric;
  return client_.perform(req);
}

Status EtcdMembership::authenticate(const std::string& base) {
  http::Response r = post(base + "/v3/auth/authenticate",
                          auth_request_body(options_.username, options_.password), "etcd_auth",
                          /*token=*/"");
  if (!r.ok()) {
    // The reply body may echo the request; it is not copied into the message.
    Code code = r.state == http::State::kHttp4xx ? Code::kPermission : Code::kUnavailable;
    return make_status(code,
                       "etcd " + base + ": authenticate as etcd.username failed: " + describe(r));
  }
  auto token = parse_auth_reply(r.body);
  if (!token.ok())
    return make_status(Code::kBadResponse, "etcd " + base + ": " + token.status().message());
  std::lock_guard<std::mutex> lock(state_mu_);
  token_ = std::move(token).value();
  return Status::Ok();
}

Result<std::vector<WorkerRecord>> EtcdMembership::fetch_from(const std::string& base) {
  const bool auth = !options_.username.empty();
  std::string token;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    token = token_;
  }
  if (auth && token.empty()) {
    AF_RETURN_IF_ERROR(authenticate(base));
    std::lock_guard<std::mutex> lock(state_mu_);
    token = token_;
  }
  const std::string url = base + "/v3/kv/range";
  http::Response r = post(url, range_request_body(options_.prefix), "etcd_range", token);
  if (is_auth_error(r)) {
    if (!auth) {
      return make_status(Code::kPermission, "etcd " + base +
                                                ": authentication required; set etcd.username "
                                                "and etcd.password");
    }
    // The token expired or the member restarted: authenticate once more, then give up.
    AF_RETURN_IF_ERROR(authenticate(base));
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      token = token_;
    }
    r = post(url, range_request_body(options_.prefix), "etcd_range", token);
    if (is_auth_error(r)) {
      return make_status(Code::kPermission, "etcd " + base + ": token rejected after re-auth");
    }
  }
  if (!r.ok()) return make_status(Code::kUnavailable, "etcd " + base + ": range: " + describe(r));
  auto reply = parse_range_reply(r.body);
  if (!reply.ok())
    return make_status(Code::kBadResponse, "etcd " + base + ": " + reply.status().message());
  return workers_from_kvs(reply->kvs);
}

Result<std::vector<WorkerRecord>> EtcdMembership::fetch() {
  std::vector<std::string> endpoints;
  size_t preferred = 0;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    endpoints = endpoints_;
    preferred = preferred_;
  }
  Status last;
  for (size_t k = 0; k < endpoints.size(); ++k) {
    size_t idx = (preferred + k) % endpoints.size();
    auto records = fetch_from(endpoints[idx]);
    if (records.ok()) {
      std::lock_guard<std::mutex> lock(state_mu_);
      preferred_ = idx;
      return records;
    }
    last = records.status();
    // Re-authentication already failed once: the refresh fails (routing.md §4).
    if (last.code() == Code::kPermission) return last;
  }
  return last;
}

RefreshResult EtcdMembership::refresh_once() {
  auto records = fetch();
  if (!records.ok() || records->empty()) {
    std::string why = records.ok()
                          ? "etcd returned zero workers under prefix \"" + options_.prefix + "\""
                          : records.status().to_string();
    spdlog::warn("etcd membership refresh failed, keeping the last ring: {}", why);
    mutable_stats().refresh_error.fetch_add(1);
    std::lock_guard<std::mutex> lock(state_mu_);
    last_error_ = std::move(why);
    return RefreshResult::kError;
  }
  std::vector<Worker> workers;
  workers.reserve(records->size());
  for (const WorkerRecord& r : *records) workers.push_back(r.worker());
  workers = canonical_workers(std::move(workers));
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    records_ = std::move(records).value();
  }

  auto current = snapshot();
  if (current->workers() == workers && current->ring.virtual_nodes() == options_.virtual_nodes) {
    mutable_stats().refresh_unchanged.fetch_add(1);
    return RefreshResult::kUnchanged;
  }
  if (auto moved = current->ring.with_addresses(workers);
      moved && current->ring.virtual_nodes() == options_.virtual_nodes) {
    spdlog::info("etcd membership: worker addresses changed ({} workers, ring unchanged)",
                 workers.size());
    publish(std::move(*moved));
  } else {
    spdlog::info("etcd membership: {} workers, {} virtual nodes each", workers.size(),
                 options_.virtual_nodes);
    publish(HashRing(std::move(workers), options_.virtual_nodes));
  }
  mutable_stats().refresh_changed.fetch_add(1);
  return RefreshResult::kChanged;
}

Status EtcdMembership::start() {
  const common::TimePoint deadline = clock_.now() + options_.startup_timeout;
  common::Duration backoff = options_.startup_backoff_initial;
  while (true) {
    if (refresh_once() != RefreshResult::kError && !snapshot()->ring.empty()) break;
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      if (stopping_) return make_status(Code::kInterrupted, "etcd membership: stopped");
    }
    common::TimePoint now = clock_.now();
    if (now >= deadline) {
      std::string last;
      {
        std::lock_guard<std::mutex> lock(state_mu_);
        last = last_error_;
      }
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(options_.startup_timeout);
      return make_status(Code::kUnavailable,
                         "etcd.hosts: no endpoint returned at least one worker within "
                         "etcd.startup_timeout (" +
                             std::to_string(secs.count()) + " s); last error: " + last);
    }
    wait_(std::min(backoff, deadline - now));
    backoff = std::min(backoff * 2, options_.startup_backoff_max);
  }
  if (options_.refresh_interval > common::Duration::zero()) {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (!stopping_ && !thread_.joinable()) {
      thread_ = common::named_thread("af-etcd", [this] { refresh_loop(); });
    }
  }
  return Status::Ok();
}

void EtcdMembership::stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EtcdMembership::default_wait(common::Duration d) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  stop_cv_.wait_for(lock, d, [this] { return stopping_; });
}

void EtcdMembership::refresh_loop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(stop_mu_);
      if (stop_cv_.wait_for(lock, options_.refresh_interval, [this] { return stopping_; })) {
        return;
      }
    }
    refresh_once();
  }
}

}  // namespace alluxio_fuse::cluster
