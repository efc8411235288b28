// Design note: everything about *sending* an S3 request lives here — root parsing, addressing
// (path style or virtual-hosted), key validation, SigV4 signing, the bounded retry loop, and
// the configuration glue — so s3_store.cc and s3_write.cc speak only in object keys and
// Calls. Each attempt is signed afresh (x-amz-date moves on) and observed by the http::Client's
// metrics under the Call's `ufs_*` label. The path and query are encoded once, and those exact
// bytes are both signed and sent.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <thread>

#include "alluxio_fuse/common/hash.h"
#include "alluxio_fuse/common/uri.h"
#include "alluxio_fuse/ufs/s3_errors.h"
#include "alluxio_fuse/ufs/s3_store.h"

namespace alluxio_fuse::ufs {

using common::Code;
using common::Result;
using common::Status;

namespace {

// Bound on a server-side copy or multipart complete (S3 keeps such a reply open while it works).
constexpr std::chrono::milliseconds kLongCallTimeout = std::chrono::minutes(15);

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "****ABCD": the access key id is not a secret, but only its tail is needed to identify it.
std::string masked_key_id(const std::string& id) {
  return id.size() <= 4 ? std::string("****") : "****" + id.substr(id.size() - 4);
}

struct Endpoint {
  std::string scheme;     // "http" or "https"
  std::string authority;  // host[:port], default port dropped
};

Result<Endpoint> parse_endpoint(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    return Status(Code::kInvalid, "endpoint_url must start with http:// or https://");
  }
  Endpoint e{lower(url.substr(0, sep)), ""};
  if (e.scheme != "http" && e.scheme != "https") {
    return Status(Code::kInvalid, "endpoint_url must start with http:// or https://");
  }
  std::string_view rest = url.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return Status(Code::kInvalid,
                  "endpoint_url must be scheme://host[:port] (no path, query or user info)");
  }
  std::string authority = lower(rest);
  const std::string default_port = e.scheme == "https" ? ":443" : ":80";
  if (authority.size() > default_port.size() && authority.ends_with(default_port)) {
    authority.resize(authority.size() - default_port.size());
  }
  e.authority = std::move(authority);
  return e;
}

std::chrono::milliseconds to_ms(config::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

std::chrono::milliseconds backoff(const S3Options& o, int attempt) {
  double ms = static_cast<double>(o.backoff_initial.count());
  for (int i = 0; i < attempt; ++i) ms *= 2;
  ms = std::min(ms, static_cast<double>(o.backoff_max.count()));
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::chrono::milliseconds(static_cast<int64_t>(ms * jitter(rng)));
}

}  // namespace

Result<S3Location> parse_s3_root(std::string_view root) {
  S3Location loc;
  loc.scheme = std::string(common::uri_scheme(root));
  if (loc.scheme != "s3" && loc.scheme != "s3a") {
    return Status(Code::kInvalid, "not an s3:// or s3a:// URI");
  }
  std::string_view rest = root.substr(loc.scheme.size() + 3);
  auto slash = rest.find('/');
  std::string_view bucket = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  bool ok = bucket.size() >= 3 && bucket.size() <= 63;
  for (char c : bucket) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_');
  }
  if (!ok) {
    return Status(Code::kInvalid,
                  "s3 bucket name must be 3-63 characters of letters, digits, "
                  "'.', '-' or '_' (no user info, port or query)");
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.find_first_of("?#") != std::string_view::npos) {
    return Status(Code::kInvalid, "s3 root must not carry a query or fragment");
  }
  loc.bucket = std::string(bucket);
  loc.prefix = std::string(path);
  return loc;
}

S3Store::S3Store(S3Options options, S3Location location, http::Client& client)
    : options_(std::move(options)), location_(std::move(location)), client_(client) {
  if (!options_.wall_clock) options_.wall_clock = [] { return std::chrono::system_clock::now(); };
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
  if (options_.endpoint.empty()) {
    options_.endpoint = "https://s3." + options_.region + ".amazonaws.com";
  }
  if (location_.bucket.find('.') != std::string::npos &&
      options_.endpoint.starts_with("https://")) {
    // A dotted bucket as a host name breaks TLS name checks (*.s3... covers one label).
    options_.path_style = true;
  }
}

Result<std::string> S3Store::object_key(const std::string& key) const {
  const std::string& root = options_.root;
  if (key.size() > common::kMaxKeyBytes) return Status(Code::kNameTooLong, "key too long");
  if (key == root) return location_.prefix;
  if (key.size() <= root.size() + 1 || key.compare(0, root.size(), root) != 0 ||
      key[root.size()] != '/') {
    return Status(Code::kInvalid, "key outside the s3 root: " + key);
  }
  std::string_view rel(key);
  rel.remove_prefix(root.size() + 1);
  size_t start = 0;
  while (start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string_view::npos) end = rel.size();
    std::string_view comp = rel.substr(start, end - start);
    if (comp.size() > options_.max_component_bytes) {
      return Status(Code::kNameTooLong, "name component over " +
                                            std::to_string(options_.max_component_bytes) +
                                            " bytes in " + key);
    }
    if (comp.empty() || comp == "." || comp == ".." || !common::is_valid_utf8(comp) ||
        comp.find('\0') != std::string_view::npos) {
      return Status(Code::kInvalid, "invalid key for s3: " + key);
    }
    start = end + 1;
  }
  return location_.prefix.empty() ? std::string(rel) : location_.prefix + "/" + std::string(rel);
}

std::string S3Store::directory_prefix(const std::string& object_key) const {
  return object_key.empty() ? std::string() : object_key + "/";
}

std::string S3Store::host_for() const {
  std::string_view authority(options_.endpoint);
  authority.remove_prefix(authority.find("://") + 3);
  if (options_.path_style) return std::string(authority);
  return location_.bucket + "." + std::string(authority);
}

std::string S3Store::path_for(const std::string& object_key) const {
  std::string path = options_.path_style ? "/" + location_.bucket : "";
  if (!object_key.empty() || !options_.path_style) path += "/" + aws_uri_encode(object_key, true);
  return path;
}

S3Store::CallResult S3Store::perform(const Call& call, const std::string& what) {
  CallResult result;
  const std::string query = canonical_query_string(call.query);
  const std::string path = path_for(call.object_key);
  const std::string url = options_.endpoint.substr(0, options_.endpoint.find("://")) + "://" +
                          host_for() + path + (query.empty() ? "" : "?" + query);
  const std::string payload_hash = call.upload_fd >= 0 ? std::string(kUnsignedPayload)
                                   : call.body.empty() ? std::string(kEmptyPayloadSha256)
                                                       : common::sha256_hex(call.body);
  S3Outcome outcome;
  const int attempts = 1 + static_cast<int>(options_.retries);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    http::Request req;
    req.method = call.method;
    req.url = url;
    req.headers = call.headers;
    req.headers.emplace_back("x-amz-content-sha256", payload_hash);
    const std::string amz_date = format_amz_date(options_.wall_clock());
    req.headers.emplace_back("x-amz-date", amz_date);
    if (options_.credentials) {
      if (!options_.credentials->session_token.empty()) {
        req.headers.emplace_back("x-amz-security-token", options_.credentials->session_token);
      }
      SigV4Request sr{call.method, path, query, req.headers, payload_hash};
      sr.headers.emplace_back("host", host_for());
      req.headers.emplace_back(
          "Authorization",
          sign_v4(sr, *options_.credentials, options_.region, "s3", amz_date).authorization);
    }
    req.body = call.body;
    req.upload_fd = call.upload_fd;
    req.upload_size = call.upload_size;
    req.out = call.out;
    req.out_cap = call.out_cap;
    req.max_body = call.max_body;
    req.metric_method = call.metric;
    req.connect_timeout = options_.connect_timeout;
    switch (call.deadline) {
      case Call::Deadline::kMetadata:
        req.total_timeout = options_.metadata_timeout;
        break;
      case Call::Deadline::kData:
        req.total_timeout = options_.data_timeout;
        break;
      case Call::Deadline::kStream:
        req.total_timeout = std::chrono::milliseconds(0);
        req.stall_timeout = options_.stall_timeout;
        break;
      case Call::Deadline::kLong:
        req.total_timeout = kLongCallTimeout;
        break;
    }
    result.attempts = attempt + 1;
    result.response = client_.perform(req);
    outcome = classify_s3(result.response);
    if (outcome.code == Code::kOk) {
      result.status = Status::Ok();
      return result;
    }
    if (!outcome.retry || attempt + 1 == attempts) break;
    options_.sleep(backoff(options_, attempt));
  }
  result.status = Status(outcome.code, "s3 " + what + ": " + outcome.detail);
  if (outcome.code == Code::kPermission) log_denied(what, outcome.detail);
  return result;
}

void S3Store::log_denied(const std::string& what, const std::string& detail) {
  const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  int64_t last = last_denied_log_ns_.load();
  if (last != 0 && now - last < std::chrono::nanoseconds(std::chrono::minutes(1)).count()) return;
  if (!last_denied_log_ns_.compare_exchange_strong(last, now)) return;
  spdlog::error(
      "s3: access denied ({}) on {} — bucket {}, region {}, endpoint {}, {}; check the "
      "credentials (target_options.key/secret or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), the "
      "region and the bucket policy",
      detail, what, location_.bucket, options_.region, options_.endpoint,
      options_.credentials ? "access key id " + masked_key_id(options_.credentials->access_key_id)
                           : std::string("anonymous"));
}

Result<S3Options> s3_options_from_config(const config::Config& config) {
  auto loc = parse_s3_root(config.ufs_root);
  if (!loc.ok()) return Status(Code::kInvalid, "ufs_root: " + loc.status().message());
  const config::TargetOptions& t = config.target_options;
  S3Options o;
  o.root = config.ufs_root;
  o.region = t.effective_region();
  if (auto endpoint = t.effective_endpoint_url()) {
    auto e = parse_endpoint(*endpoint);
    if (!e.ok()) {
      return Status(Code::kInvalid, "target_options." + e.status().message() + ": " +
                                        config::redact_url(*endpoint));
    }
    o.endpoint = e->scheme + "://" + e->authority;
  }
  o.path_style = t.use_path_style();
  if (t.addressing_style == config::AddressingStyle::kAuto &&
      loc->bucket.find('.') != std::string::npos) {
    o.path_style = true;
  }
  if (!t.anon) {
    auto creds = t.effective_credentials();
    if (!creds) {
      return Status(Code::kPermission,
                    "no S3 credentials for " + config.ufs_root +
                        ": set target_options.key/secret, AWS_ACCESS_KEY_ID/"
                        "AWS_SECRET_ACCESS_KEY, or target_options.anon: true for a public bucket");
    }
    o.credentials =
        SigV4Credentials{creds->access_key_id, creds->secret_access_key, creds->session_token};
  }
  const config::RoutingConfig& r = config.routing;
  o.connect_timeout = to_ms(r.connect_timeout);
  o.metadata_timeout = to_ms(r.metadata_timeout);
  o.data_timeout = to_ms(r.data_timeout);
  o.stall_timeout = to_ms(r.stall_timeout);
  o.retries = r.retries;
  o.backoff_initial = to_ms(r.backoff_initial);
  o.backoff_max = to_ms(r.backoff_max);
  return o;
}

http::ClientOptions s3_client_options(const config::Config& config) {
  http::ClientOptions o;
  const config::ClientKwargs& k = config.target_options.client_kwargs;
  if (k.verify.has_value()) o.verify_tls = *k.verify;
  if (k.verify_ca_bundle.has_value()) o.ca_file = *k.verify_ca_bundle;
  o.max_connections_per_host = std::max<uint32_t>(1, config.routing.max_connections_per_worker);
  return o;
}

Result<std::unique_ptr<store::Store>> make_s3_store(const config::Config& config,
                                                    http::Client& client) {
  auto options = s3_options_from_config(config);
  if (!options.ok()) return options.status();
  auto loc = parse_s3_root(config.ufs_root);
  if (!loc.ok()) return loc.status();
  return std::unique_ptr<store::Store>(new S3Store(std::move(*options), std::move(*loc), client));
}

}  // namespace alluxio_fuse::ufs
