#pragma once
// FakeWorker: the request handler of the fake Alluxio worker. It routes every worker REST call
// of spec/worker-rest.md §3 (enterprise mode) or the five open-source routes (oss mode) to a
// local directory tree through `--ufs-map`, keeps an in-memory page store, counts requests for
// tests and applies the fault knobs.
//
// Thread-safety: handle() is called concurrently from every connection thread; shared state
// (page store, faults, counters, load jobs) is internally synchronised, and no lock is held
// across file I/O. Ownership: owns the page store, faults, ring and counters.

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "faults.h"
#include "http_server.h"
#include "page_store.h"
#include "ring.h"

namespace alluxio_fuse::fake_worker {

struct UfsMapping {
  std::string prefix;  // URI prefix without trailing '/'
  std::string dir;     // local directory
};

struct WorkerOptions {
  std::string bind = "127.0.0.1";
  bool oss = false;
  std::vector<UfsMapping> ufs_maps;
  int64_t page_size = 1 << 20;
  int64_t page_store_capacity = int64_t{2} << 30;
  std::vector<Peer> peers;
  int vnodes = 5;
  uint64_t seed = 0;
};

// Decoded query parameters; the first occurrence of a name wins.
using Query = std::map<std::string, std::string>;

// Where a key lives locally.
struct Resolved {
  std::string local;  // local file-system path
  std::string rel;    // path inside the mapping, "" for the mapping root
  bool is_root = false;
};

class FakeWorker {
 public:
  explicit FakeWorker(WorkerOptions options);

  void set_port(int port) { port_ = port; }
  Faults& faults() { return faults_; }
  void handle(const HttpRequest& req, HttpResponse& resp);

 private:
  struct Route {
    std::string endpoint;  // metrics.md §1 method name; "" for an unknown route
    std::string path_id;   // from the URL, "" when the route has none
    std::string page_index;
  };
  Route route(const HttpRequest& req) const;
  void count(const std::string& endpoint, const std::string& path_id);
  bool handle_debug(const HttpRequest& req, HttpResponse& resp);
  void dispatch(const Route& r, const HttpRequest& req, const Query& q, HttpResponse& resp);

  // Key mapping (file_info.cc). Sets an error reply and returns nullopt when the key is
  // unmapped (404) or escapes its mapping (400).
  std::optional<Resolved> resolve(const std::string& key, HttpResponse& resp) const;
  // Required query parameter; sets a 400 reply when absent.
  static const std::string* require(const Query& q, const char* name, HttpResponse& resp);
  std::string file_info_json(const std::string& key, const std::string& name,
                             const std::string& rel, const struct stat& st);
  // Drops stored pages of the key and, for a directory, of every file below it.
  void drop_pages_tree(const std::string& key, const std::string& local);

  // Data endpoints (worker_data.cc).
  void get_page(const Route& r, const Query& q, HttpResponse& resp);
  void post_page(const Route& r, const HttpRequest& req, const Query& q, HttpResponse& resp);
  void range(const Query& q, HttpResponse& resp);
  void chunk_read(const Query& q, HttpResponse& resp);
  void chunk_write(const HttpRequest& req, const Query& q, HttpResponse& resp);
  void head_tail(bool head, const Query& q, HttpResponse& resp);
  void load(const Query& q, HttpResponse& resp);
  // Reads every page of a local file into the page store; false when it cannot be read.
  bool load_file(const std::string& key, const std::string& local);

  // Namespace endpoints (worker_namespace.cc).
  void info(const Query& q, HttpResponse& resp);
  void list(const Query& q, HttpResponse& resp);
  void mkdir(const Query& q, HttpResponse& resp);
  void touch(const Query& q, HttpResponse& resp);
  void rm(const Query& q, HttpResponse& resp);
  void mv(const Query& q, HttpResponse& resp);
  void copy(const Query& q, HttpResponse& resp);
  void node(const Query& q, HttpResponse& resp);
  void ufs_info(HttpResponse& resp);

  const WorkerOptions opt_;
  int port_ = 0;
  PageStore pages_;
  Faults faults_;
  Ring ring_;

  std::mutex count_mu_;
  int64_t total_ = 0;                                                 // GUARDED_BY(count_mu_)
  std::map<std::string, int64_t> by_endpoint_;                        // GUARDED_BY(count_mu_)
  std::map<std::string, std::map<std::string, int64_t>> by_path_id_;  // GUARDED_BY(count_mu_)

  std::mutex jobs_mu_;
  struct LoadJob {
    std::string id;
    std::string state;
    int64_t files = 0;
    std::string message;
  };
  std::map<std::string, LoadJob> jobs_;  // GUARDED_BY(jobs_mu_), by path
  int64_t next_job_ = 1;                 // GUARDED_BY(jobs_mu_)
};

// Helpers shared by the worker's source files (file_info.cc).
Query parse_query(const std::string& raw);
std::string percent_decode(std::string_view s, bool plus_is_space);
std::string human_size(int64_t bytes);
std::string version_of(const struct stat& st);  // "<size>-<mtime_ns>"
std::string error_json(const std::string& message);
// Parses "1MB", "4 KiB", "1048576" (page-cache.md §1); -1 on error.
int64_t parse_size(const std::string& s);
// Parses True/False (any case) and 1/0; nullopt otherwise.
std::optional<bool> parse_bool(const std::string& s);
// Child key of a directory key.
std::string child_of(const std::string& dir_key, const std::string& name);
// Name of the last component of a key.
std::string last_name(const std::string& key);
// Temp files of chunk uploads are hidden from listings.
inline constexpr const char* kTempPrefix = ".fw-tmp-";

}  // namespace alluxio_fuse::fake_worker
