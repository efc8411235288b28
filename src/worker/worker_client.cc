// Design note: WorkerClient turns one typed call into one http::Request (URL from urls.cc,
// timeouts by call class per config.md §2.7, size limits per worker-rest.md §1), performs it
// once, and turns the reply into a Status through map_reply (the only mapping) or into a value
// through the strict parsers of wire.h. It never retries or fails over: that is the router's
// job, which needs to see each attempt's class.
//
// Auto mode (§4.4) keeps, per worker, the streak of no_reply answers to enterprise-only
// endpoints; any HTTP status resets it. The small map is guarded by mu_, never held across I/O.
#include "alluxio_fuse/worker/worker_client.h"

#include <utility>

namespace alluxio_fuse::worker {
namespace {

using common::Code;
using common::Result;
using common::Status;

constexpr int kOssDetectStreak = 3;
constexpr auto kOssDetectFor = std::chrono::minutes(10);

std::string peer_key(const WorkerAddress& addr) {
  return addr.host + ":" + std::to_string(addr.port);
}

}  // namespace

WorkerClient::WorkerClient(http::Client& client, WorkerClientOptions options,
                           const common::Clock& clock)
    : client_(client), options_(options), clock_(clock) {}

bool WorkerClient::treats_as_oss(const WorkerAddress& addr) const {
  if (options_.api == WorkerApi::kOss) return true;
  if (options_.api == WorkerApi::kEnterprise) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(peer_key(addr));
  return it != peers_.end() && clock_.now() < it->second.oss_until;
}

http::Request WorkerClient::make_request(std::string method, std::string url,
                                         std::string_view metric, std::chrono::milliseconds total,
                                         size_t max_body) const {
  http::Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  // urls.cc builds http:// URLs; with routing.tls the one scheme switch is here, so no call
  // can reach a worker in clear text.
  if (options_.tls && r.url.starts_with("http://")) r.url.replace(0, 4, "https");
  r.connect_timeout = options_.connect_timeout;
  r.total_timeout = total;
  r.max_body = max_body;
  r.metric_method = metric;
  return r;
}

http::Response WorkerClient::call(const WorkerAddress& addr, const http::Request& request,
                                  bool enterprise_only) {
  http::Response resp = client_.perform(request);
  if (options_.api != WorkerApi::kAuto) return resp;
  const bool counts = enterprise_only && resp.state == http::State::kNoReply;
  if (!counts && resp.status == 0) return resp;  // no evidence either way
  std::lock_guard<std::mutex> lock(mu_);
  PeerState& peer = peers_[peer_key(addr)];
  if (!counts) {
    peer.no_reply_streak = 0;
  } else if (++peer.no_reply_streak >= kOssDetectStreak) {
    peer.no_reply_streak = 0;
    peer.oss_until = clock_.now() + kOssDetectFor;
  }
  return resp;
}

Status WorkerClient::check(const http::Response& response, std::string_view op,
                           std::string_view key) const {
  if (response.state == http::State::kOk) return Status::Ok();
  return map_reply(response, options_.api == WorkerApi::kEnterprise, op, key);
}

Status WorkerClient::require_enterprise(const WorkerAddress& addr, std::string_view op) const {
  if (!treats_as_oss(addr)) return Status::Ok();
  return Status(Code::kUnsupported, std::string(op) + ": enterprise-only endpoint, worker " +
                                        peer_key(addr) + " is treated as open-source");
}

Result<std::string> WorkerClient::get_json(const WorkerAddress& addr, std::string url,
                                           std::string_view op, std::string_view key, size_t limit,
                                           bool enterprise_only) {
  http::Request req = make_request("GET", std::move(url), op, options_.metadata_timeout, limit);
  http::Response resp = call(addr, req, enterprise_only);
  AF_RETURN_IF_ERROR(check(resp, op, key));
  return std::move(resp.body);
}

Result<store::FileInfo> WorkerClient::info(const WorkerAddress& addr, const std::string& key) {
  auto body = get_json(addr, info_url(addr, key), "info", key, kMaxJsonReply, false);
  if (!body.ok()) return body.status();
  return parse_info(body.value(), key);
}

Result<Listing> WorkerClient::list(const WorkerAddress& addr, const std::string& key) {
  auto body = get_json(addr, files_url(addr, key), "list", key, kMaxListingReply, false);
  if (!body.ok()) return body.status();
  auto listing = parse_listing(body.value());
  if (!listing.ok())
    return Status(listing.status().code(), key + ": " + listing.status().message());
  return listing;
}

Result<size_t> WorkerClient::read_into(const WorkerAddress& addr, const std::string& url,
                                       std::string_view op, const std::string& key, uint64_t start,
                                       size_t length, char* buf, std::optional<uint64_t> known_size,
                                       bool enterprise_only) {
  http::Request req = make_request("GET", url, op, options_.data_timeout, length);
  req.out = buf;
  req.out_cap = length;  // a body longer than requested is bad_response (§3.3)
  http::Response resp = call(addr, req, enterprise_only);
  AF_RETURN_IF_ERROR(check(resp, op, key));
  if (known_size) {
    const uint64_t expected =
        start >= *known_size ? 0 : std::min<uint64_t>(length, *known_size - start);
    if (resp.body_bytes > expected) {
      return Status(Code::kBadResponse, std::string(op) + " " + key + ": body of " +
                                            std::to_string(resp.body_bytes) + " bytes, expected " +
                                            std::to_string(expected));
    }
    if (resp.body_bytes < expected) {
      return Status(Code::kIo, std::string(op) + " " + key + ": short body of " +
                                   std::to_string(resp.body_bytes) + " bytes, expected " +
                                   std::to_string(expected) +
                                   " (file changed? check alluxio.worker.page.store.page.size)");
    }
  }
  return resp.body_bytes;
}

Result<size_t> WorkerClient::read_page(const WorkerAddress& addr, const std::string& key,
                                       uint64_t page_index, uint64_t offset, size_t length,
                                       char* buf, std::optional<uint64_t> known_size) {
  std::optional<std::pair<uint64_t, uint64_t>> partial;
  if (offset != 0 || length != options_.page_size) partial.emplace(offset, length);
  const std::string url = page_url(addr, key, page_index, partial, !treats_as_oss(addr));
  const uint64_t start = page_index * options_.page_size + offset;
  return read_into(addr, url, "get_page", key, start, length, buf, known_size, false);
}

Result<size_t> WorkerClient::read_range(const WorkerAddress& addr, const std::string& key,
                                        uint64_t offset, size_t length, char* buf,
                                        std::optional<uint64_t> known_size) {
  AF_RETURN_IF_ERROR(require_enterprise(addr, "range"));
  return read_into(addr, range_url(addr, key, offset, length), "range", key, offset, length, buf,
                   known_size, true);
}

Status WorkerClient::upload(const WorkerAddress& addr, const std::string& key, int fd,
                            uint64_t size) {
  AF_RETURN_IF_ERROR(require_enterprise(addr, "chunk_write"));
  http::Request req = make_request("POST", chunk_url(addr, key, options_.upload_chunk_size),
                                   "chunk_write", std::chrono::milliseconds(0), kMaxJsonReply);
  req.stall_timeout = options_.stall_timeout;  // a stream: no total deadline (§1)
  req.upload_fd = fd;
  req.upload_size = size;
  req.chunked = true;
  req.headers = {{"transfer-type", "chunked"}, {"Content-Type", "application/octet-stream"}};
  http::Response resp = call(addr, req, true);
  if (size == 0 && resp.state == http::State::kHttp4xx && resp.status == 400) {
    return touch(addr, key);  // §3.6: some workers refuse an empty chunked upload
  }
  return check(resp, "chunk_write", key);
}

Status WorkerClient::post_empty(const WorkerAddress& addr, std::string url, std::string_view op,
                                std::string_view key) {
  AF_RETURN_IF_ERROR(require_enterprise(addr, op));
  http::Request req =
      make_request("POST", std::move(url), op, options_.metadata_timeout, kMaxJsonReply);
  http::Response resp = call(addr, req, true);
  return check(resp, op, key);
}

Status WorkerClient::mkdir(const WorkerAddress& addr, const std::string& key) {
  return post_empty(addr, mkdir_url(addr, key), "mkdir", key);
}

Status WorkerClient::touch(const WorkerAddress& addr, const std::string& key) {
  return post_empty(addr, touch_url(addr, key), "touch", key);
}

Status WorkerClient::rm(const WorkerAddress& addr, const std::string& key, bool recursive) {
  return post_empty(addr, rm_url(addr, key, recursive), "rm", key);
}

Status WorkerClient::mv(const WorkerAddress& addr, const std::string& src, const std::string& dst) {
  return post_empty(addr, mv_url(addr, src, dst), "mv", src + " -> " + dst);
}

Result<WorkerAddress> WorkerClient::node(const WorkerAddress& addr, const std::string& key) {
  AF_RETURN_IF_ERROR(require_enterprise(addr, "node"));
  auto body = get_json(addr, node_url(addr, key), "node", key, kMaxJsonReply, true);
  if (!body.ok()) return body.status();
  return parse_node(body.value(), addr.port);
}

Result<std::string> WorkerClient::load_submit(const WorkerAddress& addr, const std::string& key) {
  auto body = get_json(addr, load_url(addr, key, "submit"), "load", key, kMaxJsonReply, false);
  if (!body.ok()) return body.status();
  return parse_load_ack(body.value());
}

Result<LoadProgress> WorkerClient::load_progress(const WorkerAddress& addr, const std::string& key,
                                                 bool verbose) {
  auto body =
      get_json(addr, load_url(addr, key, "progress", verbose), "load", key, kMaxJsonReply, false);
  if (!body.ok()) return body.status();
  return parse_load_progress(body.value());
}

Status WorkerClient::load_stop(const WorkerAddress& addr, const std::string& key) {
  auto body = get_json(addr, load_url(addr, key, "stop"), "load", key, kMaxJsonReply, false);
  if (!body.ok()) return body.status();
  auto ack = parse_load_ack(body.value());
  return ack.ok() ? Status::Ok() : ack.status();
}

Result<std::vector<UfsMount>> WorkerClient::ufs_info(const WorkerAddress& addr) {
  AF_RETURN_IF_ERROR(require_enterprise(addr, "ufs_info"));
  auto body = get_json(addr, ufs_info_url(addr), "ufs_info", "", kMaxJsonReply, true);
  if (!body.ok()) return body.status();
  return parse_ufs_info(body.value());
}

}  // namespace alluxio_fuse::worker
