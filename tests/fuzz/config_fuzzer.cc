// Fuzzes conf.yaml loading (config::load_config_string), the `-o` option parser and the unit
// parsers. Input: a YAML document; its first line also serves as a `-o` list and as a size,
// duration and log-level text.
// Invariants: no crash and no exception; a config exactly when there are no errors; secrets
// from the environment never appear in errors, warnings or the rendered config; the rendered
// config loads again and renders the same.
#include <string>

#include "alluxio_fuse/config/config.h"
#include "alluxio_fuse/config/units.h"
#include "fuzz_util.h"

using namespace alluxio_fuse;

namespace {

constexpr std::string_view kSecret = "QxSeCrEtQx";

const config::Environment& env() {
  static const config::Environment e = config::map_environment({
      {"AWS_SECRET_ACCESS_KEY", std::string(kSecret)},
      {"AWS_SESSION_TOKEN", std::string(kSecret) + "tok"},
      {"ALLUXIO_FUSE_ETCD_PASSWORD", std::string(kSecret) + "pw"},
      {"AWS_ACCESS_KEY_ID", "AKIDFUZZ"},
  });
  return e;
}

bool leaks(const std::string& s) { return s.find(kSecret) != std::string::npos; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  const bool input_has_secret = text.find(kSecret) != std::string_view::npos;
  auto result = config::load_config_string(text, "fuzz.yaml", env());
  AF_FUZZ_CHECK(result.config.has_value() == result.errors.empty());
  if (!input_has_secret) {
    for (const auto& e : result.errors) AF_FUZZ_CHECK(!leaks(e));
    for (const auto& w : result.warnings) AF_FUZZ_CHECK(!leaks(w));
  }
  auto [first, rest] = fuzz::split_line(text);
  if (result.config) {
    config::Config cfg = *result.config;
    config::resolve_paths(cfg, "/mnt/fuzz");
    std::string rendered = config::render_effective(cfg);
    if (!input_has_secret) AF_FUZZ_CHECK(!leaks(rendered));
    (void)config::describe_mode(cfg);
    // check-config output is itself a valid configuration that renders the same.
    auto again = config::load_config_string(rendered, "rendered.yaml", env());
    if (again.config.has_value()) {
      config::Config cfg2 = *again.config;
      config::resolve_paths(cfg2, "/mnt/fuzz");
      AF_FUZZ_CHECK(config::render_effective(cfg2) == rendered);
    } else {
      for (const auto& e : again.errors) std::fprintf(stderr, "reload: %s\n", e.c_str());
      AF_FUZZ_CHECK(again.errors.empty());
    }
    std::vector<std::string> opts{std::string(first)};
    auto errors = config::apply_mount_options(cfg, opts);
    if (!input_has_secret) {
      for (const auto& e : errors) AF_FUZZ_CHECK(!leaks(e));
    }
  }
  (void)config::find_config_option({std::string(first)});
  (void)config::parse_size(first);
  (void)config::parse_duration(first);
  (void)config::parse_log_level(first);
  (void)config::redact_url(first);
  return 0;
}
