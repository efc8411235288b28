// fake_worker: command line (spec/worker-rest.md §6), signal handling and start-up.
// SIGTERM/SIGINT are blocked in every thread and taken by one sigwait thread, which stops the
// server; stop() wakes every blocked connection (hangs included), so shutdown is prompt.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "alluxio_fuse/cluster/worker.h"
#include "http_server.h"
#include "worker.h"

namespace {

using alluxio_fuse::fake_worker::FakeWorker;
using alluxio_fuse::fake_worker::HttpServer;
using alluxio_fuse::fake_worker::Peer;
using alluxio_fuse::fake_worker::UfsMapping;
using alluxio_fuse::fake_worker::WorkerOptions;
using nlohmann::json;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

int fail(const std::string& message) {
  std::cerr << "fake_worker: " << message << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fake Alluxio worker for alluxio-fuse tests (spec/worker-rest.md section 6)"};
  std::string bind = "127.0.0.1";
  int port = 0;
  std::string mode = "enterprise";
  std::vector<std::string> maps;
  std::string page_size = "1MB";
  std::string capacity = "2GiB";
  std::string peers;
  int vnodes = 5;
  uint64_t seed = 0;
  std::string faults_json, latency, fail_next;
  double error_rate = -1, drop_rate = -1, truncate_rate = -1, malformed_rate = -1;
  int error_status = 0;
  bool hang = false, hostile = false;

  app.add_option("--bind", bind, "IPv4 address to listen on");
  app.add_option("--port", port, "port (0 picks a free one)");
  app.add_option("--mode", mode, "enterprise or oss")->check(CLI::IsMember({"enterprise", "oss"}));
  app.add_option("--ufs-map", maps, "<uri prefix>=<local dir>, repeatable");
  app.add_option("--page-size", page_size, "worker page size, e.g. 1MB");
  app.add_option("--page-store-capacity", capacity, "memory bound of the page store");
  app.add_option("--peers", peers, "h:p,... workers of the ring for /v1/node");
  app.add_option("--vnodes", vnodes, "virtual nodes per worker")->check(CLI::Range(1, 100000));
  app.add_option("--seed", seed, "PRNG seed for random faults");
  app.add_option("--faults", faults_json, "fault knobs as a JSON object");
  app.add_option("--latency-ms", latency, "ms, or a JSON object per endpoint");
  app.add_option("--error-rate", error_rate);
  app.add_option("--error-status", error_status);
  app.add_option("--drop-rate", drop_rate);
  app.add_flag("--hang", hang);
  app.add_option("--truncate-rate", truncate_rate);
  app.add_option("--malformed-json-rate", malformed_rate);
  app.add_flag("--hostile-names", hostile);
  app.add_option("--fail-next", fail_next, "JSON object or array");
  CLI11_PARSE(app, argc, argv);

  WorkerOptions opt;
  opt.bind = bind;
  opt.oss = mode == "oss";
  opt.vnodes = vnodes;
  opt.seed = seed;
  opt.page_size = alluxio_fuse::fake_worker::parse_size(page_size);
  if (opt.page_size < 1) return fail("bad --page-size " + page_size);
  opt.page_store_capacity = alluxio_fuse::fake_worker::parse_size(capacity);
  if (opt.page_store_capacity < 0) return fail("bad --page-store-capacity " + capacity);
  for (const auto& m : maps) {
    size_t eq = m.find('=');
    if (eq == std::string::npos || eq == 0) return fail("bad --ufs-map (want prefix=dir): " + m);
    UfsMapping u{m.substr(0, eq), m.substr(eq + 1)};
    while (!u.prefix.empty() && u.prefix.back() == '/' && !u.prefix.ends_with("://")) {
      u.prefix.pop_back();
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(u.dir, ec)) return fail("not a directory: " + u.dir);
    u.dir = std::filesystem::absolute(u.dir, ec).lexically_normal().string();
    while (u.dir.size() > 1 && u.dir.back() == '/') u.dir.pop_back();
    opt.ufs_maps.push_back(u);
  }
  std::stringstream ps(peers);
  for (std::string item; std::getline(ps, item, ',');) {
    item = trim(item);
    if (item.empty()) continue;
    auto addr = alluxio_fuse::cluster::parse_host_port(item, 28080);
    if (!addr.ok()) return fail("bad --peers item " + item + ": " + addr.status().message());
    Peer p{addr->host, addr->port};
    opt.peers.push_back(p);
  }

  json knobs = json::object();
  try {
    if (!faults_json.empty()) knobs = json::parse(faults_json);
    if (!latency.empty()) knobs["latency_ms"] = json::parse(latency);
    if (!fail_next.empty()) knobs["fail_next"] = json::parse(fail_next);
  } catch (const std::exception& e) {
    return fail(std::string("bad fault JSON: ") + e.what());
  }
  if (error_rate >= 0) knobs["error_rate"] = error_rate;
  if (error_status > 0) knobs["error_status"] = error_status;
  if (drop_rate >= 0) knobs["drop_rate"] = drop_rate;
  if (truncate_rate >= 0) knobs["truncate_rate"] = truncate_rate;
  if (malformed_rate >= 0) knobs["malformed_json_rate"] = malformed_rate;
  if (hang) knobs["hang"] = true;
  if (hostile) knobs["hostile_names"] = true;

  // Block the signals before any thread starts so only the sigwait thread receives them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  FakeWorker worker(opt);
  if (std::string err = worker.faults().set(knobs.dump()); !err.empty()) return fail(err);
  HttpServer server([&worker](const auto& req, auto& resp) { worker.handle(req, resp); });
  if (std::string err = server.listen(bind, port); !err.empty()) return fail(err);
  worker.set_port(server.port());

  std::thread signals([&server, sigs] {
    int sig = 0;
    sigwait(&sigs, &sig);
    server.stop();
  });
  std::printf("LISTENING %d\n", server.port());
  std::fflush(stdout);
  server.serve();
  signals.join();
  return 0;
}
