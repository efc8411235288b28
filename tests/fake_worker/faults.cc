// Knobs are parsed from JSON in one place (nlohmann throws; everything is caught here) and
// validated before they replace the current set, so a bad POST /debug/faults changes nothing.
#include "faults.h"

#include <nlohmann/json.hpp>

namespace alluxio_fuse::fake_worker {
namespace {

using nlohmann::json;

double rate_of(const json& j, const char* name) {
  if (!j.contains(name)) return 0;
  double r = j.at(name).get<double>();
  if (r < 0 || r > 1) throw std::invalid_argument(std::string(name) + " must be within [0, 1]");
  return r;
}

bool valid_action(const std::string& a) {
  if (a == "drop" || a == "hang" || a == "truncate") return true;
  if (a.rfind("status:", 0) != 0) return false;
  try {
    int code = std::stoi(a.substr(7));
    return code >= 100 && code <= 599;
  } catch (...) {
    return false;
  }
}

}  // namespace

std::string Faults::set(const std::string& text) {
  Knobs k;
  std::string where = "faults";
  try {
    json j = json::parse(text);
    if (!j.is_object()) return "faults must be a JSON object";
    for (const auto& [name, value] : j.items()) {
      static const char* kKnown[] = {"latency_ms",          "error_rate",    "error_status",
                                     "drop_rate",           "hang",          "truncate_rate",
                                     "malformed_json_rate", "hostile_names", "fail_next"};
      bool known = false;
      for (const char* n : kKnown) known = known || name == n;
      if (!known) return "unknown fault knob: " + name;
      (void)value;
    }
    where = "latency_ms";
    if (j.contains("latency_ms")) {
      const json& l = j.at("latency_ms");
      if (l.is_object()) {
        for (const auto& [ep, ms] : l.items()) k.latency_by_endpoint[ep] = ms.get<int>();
      } else {
        k.latency_ms = l.get<int>();
      }
    }
    where = "rates";
    k.error_rate = rate_of(j, "error_rate");
    k.drop_rate = rate_of(j, "drop_rate");
    k.truncate_rate = rate_of(j, "truncate_rate");
    k.malformed_json_rate = rate_of(j, "malformed_json_rate");
    where = "error_status";
    if (j.contains("error_status")) k.error_status = j.at("error_status").get<int>();
    where = "hang";
    if (j.contains("hang")) k.hang = j.at("hang").get<bool>();
    where = "hostile_names";
    if (j.contains("hostile_names")) k.hostile_names = j.at("hostile_names").get<bool>();
    where = "fail_next";
    if (j.contains("fail_next")) {
      json list = j.at("fail_next");
      if (list.is_object()) list = json::array({list});
      for (const json& f : list) {
        FailNext fn;
        fn.endpoint = f.value("endpoint", std::string());
        fn.count = f.value("count", 1);
        fn.action = f.value("action", std::string("drop"));
        if (!valid_action(fn.action)) return "fail_next: bad action " + fn.action;
        if (fn.count > 0) k.fail_next.push_back(fn);
      }
    }
  } catch (const std::exception& e) {
    return where + ": " + e.what();
  }
  std::lock_guard<std::mutex> lock(mu_);
  knobs_ = std::move(k);
  return "";
}

std::string Faults::to_json() {
  std::lock_guard<std::mutex> lock(mu_);
  json j;
  if (knobs_.latency_by_endpoint.empty()) {
    j["latency_ms"] = knobs_.latency_ms;
  } else {
    j["latency_ms"] = knobs_.latency_by_endpoint;
  }
  j["error_rate"] = knobs_.error_rate;
  j["error_status"] = knobs_.error_status;
  j["drop_rate"] = knobs_.drop_rate;
  j["hang"] = knobs_.hang;
  j["truncate_rate"] = knobs_.truncate_rate;
  j["malformed_json_rate"] = knobs_.malformed_json_rate;
  j["hostile_names"] = knobs_.hostile_names;
  j["fail_next"] = json::array();
  for (const auto& f : knobs_.fail_next) {
    j["fail_next"].push_back({{"endpoint", f.endpoint}, {"count", f.count}, {"action", f.action}});
  }
  return j.dump();
}

bool Faults::draw(double rate) {
  if (rate <= 0) return false;
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < rate;
}

FaultDecision Faults::decide(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  FaultDecision d;
  auto lat = knobs_.latency_by_endpoint.find(endpoint);
  d.latency_ms = lat != knobs_.latency_by_endpoint.end() ? lat->second : knobs_.latency_ms;
  for (auto it = knobs_.fail_next.begin(); it != knobs_.fail_next.end(); ++it) {
    if (!it->endpoint.empty() && it->endpoint != "*" && it->endpoint != endpoint) continue;
    const std::string action = it->action;
    if (--it->count <= 0) knobs_.fail_next.erase(it);
    if (action == "drop") {
      d.action = ReplyAction::kDrop;
    } else if (action == "hang") {
      d.action = ReplyAction::kHang;
    } else if (action == "truncate") {
      d.action = ReplyAction::kTruncate;
    } else {
      d.status = std::stoi(action.substr(7));
    }
    return d;
  }
  if (knobs_.hang) {
    d.action = ReplyAction::kHang;
  } else if (draw(knobs_.drop_rate)) {
    d.action = ReplyAction::kDrop;
  } else if (draw(knobs_.error_rate)) {
    d.status = knobs_.error_status;
  } else if (draw(knobs_.truncate_rate)) {
    d.action = ReplyAction::kTruncate;
  }
  d.malformed_json = draw(knobs_.malformed_json_rate);
  return d;
}

bool Faults::hostile_names() {
  std::lock_guard<std::mutex> lock(mu_);
  return knobs_.hostile_names;
}

}  // namespace alluxio_fuse::fake_worker
