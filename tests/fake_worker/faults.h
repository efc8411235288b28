#pragma once
// Fault injection for the fake worker (spec/worker-rest.md §6 "Fault knobs"): latency, error
// statuses, dropped/hung/truncated replies, malformed JSON, hostile listing names, and the
// deterministic `fail_next` queue that tests prefer over rates.
//
// Thread-safety: all methods are safe for concurrent use (one mutex guards the knobs and the
// PRNG, so a seeded run draws the same sequence for the same request order).

#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "http_server.h"

namespace alluxio_fuse::fake_worker {

struct FaultDecision {
  ReplyAction action = ReplyAction::kNormal;
  int status = 0;  // > 0: answer this status with a JSON error instead of serving
  int latency_ms = 0;
  bool malformed_json = false;
};

class Faults {
 public:
  explicit Faults(uint64_t seed) : rng_(seed) {}

  // Replaces every knob with the JSON object `text` ("{}" clears all). Returns an error
  // message naming the bad knob, empty on success (the knobs are unchanged on error).
  std::string set(const std::string& text);
  // The current knobs as JSON.
  std::string to_json();
  // Decides the fate of one request to `endpoint` (a metrics.md §1 method name, or "" for an
  // unknown route). Consumes one `fail_next` count when it matches.
  FaultDecision decide(const std::string& endpoint);
  bool hostile_names();

 private:
  struct FailNext {
    std::string endpoint;  // "" or "*": any endpoint
    int count = 0;
    std::string action;  // "drop", "hang", "truncate", "status:<code>"
  };
  struct Knobs {
    int latency_ms = 0;
    std::map<std::string, int> latency_by_endpoint;
    double error_rate = 0;
    int error_status = 503;
    double drop_rate = 0;
    bool hang = false;
    double truncate_rate = 0;
    double malformed_json_rate = 0;
    bool hostile_names = false;
    std::vector<FailNext> fail_next;
  };
  bool draw(double rate);  // REQUIRES(mu_)

  std::mutex mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(mu_)
  Knobs knobs_;          // GUARDED_BY(mu_)
};

}  // namespace alluxio_fuse::fake_worker
