#pragma once
// Worker identity and address (routing.md §2): the identity places a worker on the ring, the
// address is where the daemon connects. The address is not part of the identity, so a worker
// keeps its ring positions when its IP changes.
// Thread-safety: value types.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::cluster {

// (version, identifier bytes). Version 1: 16-byte RFC 4122 UUID (big-endian). Version 0
// (legacy): 8-byte big-endian integer. A default-constructed identity is empty (`valid()` is
// false); server-mode candidates carry no identity.
struct WorkerIdentity {
  int32_t version = 0;
  std::string identifier;  // raw bytes

  bool valid() const { return !identifier.empty(); }

  // Version 1 identity of a host name: Java UUID.nameUUIDFromBytes(utf8(host)) (UUID v3 over
  // MD5). The host is used as given; callers trim it.
  static WorkerIdentity from_host(std::string_view host);
  // From the hex of the identifier: version 1 needs 32 hex digits, version 0 needs 16 (either
  // case). kInvalid for other versions or lengths.
  static common::Result<WorkerIdentity> from_hex(int32_t version, std::string_view hex);
  // The etcd JSON form {"version":1,"identifier":"<32 hex>"}. kInvalid when malformed.
  static common::Result<WorkerIdentity> from_json(std::string_view json);
  // A string form: "worker-<uuid with dashes>", a dashed UUID or 32 hex digits (version 1), or
  // 16 hex digits (version 0).
  static common::Result<WorkerIdentity> parse(std::string_view text);

  // Lowercase hex of the identifier (32 digits for version 1).
  std::string hex() const;
  // "worker-<uuid with dashes>" for version 1; "worker-<hex>" for version 0.
  std::string to_string() const;

  // Ring insertion order: ascending (version, identifier bytes as unsigned).
  friend std::strong_ordering operator<=>(const WorkerIdentity& a, const WorkerIdentity& b);
  friend bool operator==(const WorkerIdentity& a, const WorkerIdentity& b) = default;
};

struct WorkerAddress {
  std::string host;  // name or IP; IPv6 without brackets
  int port = 28080;  // HttpServerPort

  // "host:port", with an IPv6 host in brackets.
  std::string to_string() const;
  friend bool operator==(const WorkerAddress&, const WorkerAddress&) = default;
  friend auto operator<=>(const WorkerAddress&, const WorkerAddress&) = default;
};

struct Worker {
  WorkerIdentity identity;
  WorkerAddress address;
  friend bool operator==(const Worker&, const Worker&) = default;
};

// One `worker_hosts` / `etcd.hosts` item "host", "host:port", "[v6]" or "[v6]:port" (trimmed of
// spaces). kInvalid for an empty item, an unbracketed IPv6 literal with a port, or a bad port.
common::Result<WorkerAddress> parse_host_port(std::string_view item, int default_port);

}  // namespace alluxio_fuse::cluster
