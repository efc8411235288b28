#pragma once
// Internal to the config module: the diagnostics collector shared by the YAML walk
// (loader.cc) and the cross-key checks and environment overrides (validate.cc).
// Thread-safety: none; one instance per load.

#include <map>
#include <string>
#include <vector>

#include "alluxio_fuse/config/config.h"

namespace alluxio_fuse::config::internal {

// Collects "<file>:<line>: <message>" lines. Messages never carry secret values: callers pass
// key names and redacted text only.
class Diagnostics {
 public:
  explicit Diagnostics(std::string name) : name_(std::move(name)) {}

  void error_at(int line, const std::string& msg);
  void warn_at(int line, const std::string& msg);
  // At the line of `key`, else of its nearest recorded parent, else line 1.
  void error(const std::string& key, const std::string& msg);
  void warn(const std::string& key, const std::string& msg);

  void record(const std::string& key, int line) { lines_.emplace(key, line); }
  bool has(const std::string& key) const { return lines_.count(key) > 0; }
  int line_of(const std::string& key) const;

  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  std::vector<std::string> debug_notes;

 private:
  std::string name_;
  std::map<std::string, int> lines_;  // full dotted key -> 1-based line of the key
};

// What the YAML walk learned beyond the Config fields.
struct ParseFacts {
  std::string scheme;            // of ufs_root; empty when ufs_root is missing or bad
  bool file_has_secret = false;  // a secret value (or URL userinfo) is written in the file
};

// Environment overrides (config.md §3); records "VAR -> key" in *used.
void apply_environment(Config& config, const ParseFacts& facts, const Environment& env,
                       Diagnostics& diag, std::vector<std::string>* used);

// Cross-key rules, derived defaults and the mode (config.md §2).
void validate(Config& config, const ParseFacts& facts, Diagnostics& diag);

}  // namespace alluxio_fuse::config::internal
