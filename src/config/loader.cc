// Design: the YAML document is walked section by section against the key tables of
// fields.h. Nothing stops at the first problem: every unknown key, bad value and broken rule is
// collected with its line so an operator fixes the file in one pass (config.md §1). Keys are
// looked up by name, not in file order, so defaults that other keys depend on (worker_http_port
// for worker_hosts, etcd.port for etcd.hosts) are known before they are needed. yaml-cpp throws;
// its exceptions are caught here and nowhere else. Values are echoed in messages only through
// redact_url, and secret keys are never echoed at all.
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "walker.h"

namespace alluxio_fuse::config {
namespace internal {

namespace {
std::string locate(const std::string& name, int line, const std::string& msg) {
  return name + ":" + std::to_string(line) + ": " + msg;
}
}  // namespace

void Diagnostics::error_at(int line, const std::string& msg) {
  errors.push_back(locate(name_, line, msg));
}
void Diagnostics::warn_at(int line, const std::string& msg) {
  warnings.push_back(locate(name_, line, msg));
}
void Diagnostics::error(const std::string& key, const std::string& msg) {
  error_at(line_of(key), msg);
}
void Diagnostics::warn(const std::string& key, const std::string& msg) {
  warn_at(line_of(key), msg);
}
int Diagnostics::line_of(const std::string& key) const {
  std::string k = key;
  while (true) {
    auto it = lines_.find(k);
    if (it != lines_.end()) return it->second;
    size_t dot = k.rfind('.');
    if (dot == std::string::npos) return 1;
    k.resize(dot);
  }
}

}  // namespace internal

namespace {

LoadResult finish(internal::Diagnostics& diag, std::optional<Config> config,
                  std::vector<std::string> env_used) {
  LoadResult r;
  r.errors = std::move(diag.errors);
  r.warnings = std::move(diag.warnings);
  r.debug_notes = std::move(diag.debug_notes);
  r.env_keys_used = std::move(env_used);
  if (r.errors.empty()) r.config = std::move(config);
  return r;
}

LoadResult load(std::string_view text, const std::string& name, const Environment& env,
                internal::ParseFacts& facts) {
  internal::Diagnostics diag(name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    // yaml-cpp's messages describe the syntax problem, not the value.
    diag.error_at(e.mark.is_null() ? 1 : e.mark.line + 1, "invalid YAML: " + e.msg);
    return finish(diag, std::nullopt, {});
  }
  Config c;
  std::vector<std::string> env_used;
  try {
    internal::Walker(diag, facts).document(root, c);
  } catch (const YAML::Exception& e) {
    diag.error_at(e.mark.is_null() ? 1 : e.mark.line + 1, "invalid YAML: " + e.msg);
    return finish(diag, std::nullopt, {});
  }
  internal::apply_environment(c, facts, env, diag, &env_used);
  internal::validate(c, facts, diag);
  return finish(diag, std::move(c), std::move(env_used));
}

}  // namespace

LoadResult load_config_string(std::string_view yaml_text, const std::string& name,
                              const Environment& env) {
  internal::ParseFacts facts;
  return load(yaml_text, name, env, facts);
}

LoadResult load_config_file(const std::string& path, const Environment& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(path + ": cannot read the configuration file");
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  internal::ParseFacts facts;
  LoadResult r = load(text.str(), path, env, facts);
  struct stat st {};
  // Any group or other permission bit: read leaks the secret, write lets someone else point
  // the daemon at their own endpoint with our credentials.
  if (facts.file_has_secret && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    r.warnings.push_back(path + ": holds a secret and is readable or writable by group or others" +
                         " (mode " + mode +
                         "); run chmod 600 on it or move the secret to the environment");
  }
  return r;
}

}  // namespace alluxio_fuse::config
