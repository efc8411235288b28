#pragma once
// The etcd v3 JSON-gateway wire format used for worker discovery (routing.md §4): request
// bodies, reply parsing and the worker records Alluxio workers register. No I/O here, so
// every hostile payload can be unit-tested.
// Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alluxio_fuse/cluster/worker.h"
#include "alluxio_fuse/common/status.h"
#include "alluxio_fuse/http/client.h"

namespace alluxio_fuse::cluster {

std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding; also accepts missing padding. kBadResponse when malformed.
common::Result<std::string> base64_decode(std::string_view text);

// The prefix with its last byte incremented ("/a/" -> "/a0"): the exclusive end of a prefix
// range. Trailing 0xFF bytes are dropped first, as etcd's clientv3.GetPrefixRangeEnd does.
std::string prefix_range_end(std::string_view prefix);
// {"key":"<base64(prefix)>","range_end":"<base64(end)>"}
std::string range_request_body(std::string_view prefix);
// {"name":…,"password":…}
std::string auth_request_body(std::string_view name, std::string_view password);

// A base URL "http(s)://host:port" (no trailing '/') from an `etcd.hosts` item.
common::Result<std::string> etcd_endpoint_url(std::string_view item, int default_port);

struct EtcdKv {
  std::string key;    // decoded bytes
  std::string value;  // decoded bytes
  int64_t mod_revision = 0;
};

struct EtcdRangeReply {
  int64_t revision = 0;
  std::vector<EtcdKv> kvs;  // empty when nothing matched
};

// Parses a /v3/kv/range reply. 64-bit integers may be strings (the gateway's form) or numbers.
common::Result<EtcdRangeReply> parse_range_reply(std::string_view body);
// The token of a /v3/auth/authenticate reply.
common::Result<std::string> parse_auth_reply(std::string_view body);
// Whether a reply means "authenticate (again)": 401, or gRPC code 16 (Unauthenticated) in the
// body, or an etcd auth error message (invalid/expired token, user name is empty).
bool is_auth_error(const http::Response& response);

// WorkerNetAddress with the Java defaults for missing fields; only host and http_server_port
// are used for routing, the rest is kept for diagnostics.
struct WorkerNetAddress {
  std::string host;
  std::string container_host;
  int rpc_port = 29999;
  int data_port = 29997;
  int secure_rpc_port = 0;
  int netty_data_port = 29997;
  int web_port = 30000;
  std::string domain_socket_path;
  int http_server_port = 28080;
};

struct WorkerRecord {
  WorkerIdentity identity;
  WorkerNetAddress net;
  std::string state;  // "AUTHORIZED", ... ("" when absent)
  std::string etcd_key;
  int64_t mod_revision = 0;

  Worker worker() const { return Worker{identity, WorkerAddress{net.host, net.http_server_port}}; }
};

// Parses one registered value (Gson JSON). kBadResponse for a missing or malformed Identity,
// an empty Host or a wrong field type.
common::Result<WorkerRecord> parse_worker_record(std::string_view value_json);

// Every valid record of a range reply, one per identity (the larger mod_revision wins), sorted
// by identity. Bad entries are skipped with a WARN log line and counted in `skipped`.
std::vector<WorkerRecord> workers_from_kvs(const std::vector<EtcdKv>& kvs,
                                           size_t* skipped = nullptr);

}  // namespace alluxio_fuse::cluster
