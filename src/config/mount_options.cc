// Design: `-o` values go through the same mount.* key table as conf.yaml, so a mount key has one
// type and range whichever way it is given. Options arrive comma-joined from mount(8) and fstab,
// so every item is split on ','. The fstab-only words are accepted and ignored; anything else
// is a usage error naming the option (config.md §4).
#include "alluxio_fuse/common/hash.h"
#include "fields.h"

namespace alluxio_fuse::config {
namespace {

std::vector<std::string> split_items(const std::vector<std::string>& opts) {
  std::vector<std::string> out;
  for (const auto& o : opts) {
    size_t start = 0;
    while (true) {
      size_t comma = o.find(',', start);
      std::string_view item = internal::trim(std::string_view(o).substr(start, comma - start));
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

bool ignored(std::string_view name) {
  return name == "defaults" || name == "_netdev" || name == "nofail" || name == "noauto" ||
         name == "user" || name == "users" || name.substr(0, 2) == "x-";
}

// Generic VFS flags that mount(8) and mount.fuse3 add on their own (fstab entries): passed to
// the kernel through libfuse, which knows them all.
bool vfs_flag(std::string_view name) {
  static constexpr std::string_view kFlags[] = {
      "dev",      "nodev",      "suid",        "nosuid",        "exec",     "noexec",
      "async",    "sync",       "dirsync",     "atime",         "noatime",  "nodiratime",
      "relatime", "norelatime", "strictatime", "nostrictatime", "lazytime", "nolazytime"};
  for (auto f : kFlags) {
    if (f == name) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> find_config_option(const std::vector<std::string>& opts) {
  std::optional<std::string> found;
  for (const auto& item : split_items(opts)) {
    if (item.rfind("config=", 0) == 0) found = item.substr(7);
  }
  return found;
}

std::vector<std::string> apply_mount_options(Config& config, const std::vector<std::string>& opts,
                                             std::string* config_file) {
  std::vector<std::string> errors;
  const auto& fields = internal::mount_fields();
  for (const auto& item : split_items(opts)) {
    const size_t eq = item.find('=');
    const std::string given = item.substr(0, eq);  // messages name the option, not its value
    std::string name = given;
    const std::optional<std::string> value =
        eq == std::string::npos ? std::nullopt : std::optional<std::string>(item.substr(eq + 1));
    if (ignored(name)) continue;
    if (!value && vfs_flag(name)) {
      config.mount.fuse_options.push_back(name);
      continue;
    }
    if (name == "config") {
      if (!value || value->empty()) {
        errors.push_back("-o config: expected config=<file>");
      } else if (config_file != nullptr) {
        *config_file = *value;
      }
      continue;
    }
    if (name == "rw" && !value) {
      config.mount.ro = false;
      continue;
    }
    if (name.rfind("mount.", 0) == 0) name = name.substr(6);
    if (name == "fuse_options") {
      if (!value || value->empty()) {
        errors.push_back("-o " + given + ": expected fuse_options=<libfuse option>");
      } else {
        config.mount.fuse_options.push_back(*value);
      }
      continue;
    }
    const internal::Field<MountConfig>* field = nullptr;
    for (const auto& f : fields) {
      if (f.name == name) field = &f;
    }
    if (field == nullptr) {
      std::string msg = "-o " + given + ": unknown mount option \"";
      msg += name + "\"";
      std::string best;
      size_t best_d = 4;
      for (const auto& f : fields) {
        const size_t d = internal::edit_distance(name, f.name);
        if (d < best_d) {
          best_d = d;
          best = f.name;
        }
      }
      if (!best.empty()) msg += "; did you mean \"" + best + "\"?";
      errors.push_back(msg +
                       " (accepted: ro, rw, allow_other, default_permissions, "
                       "config=<file>, <mount key>=<value>)");
      continue;
    }
    const bool is_bool = field->form == "true or false";
    if (!value && !is_bool) {
      std::string msg = "-o " + given + ": mount.";
      msg += name + " needs a value (" + field->form + ")";
      errors.push_back(std::move(msg));
      continue;
    }
    if (!field->set(config.mount, value.value_or("true"))) {
      std::string msg = "-o " + given + ": mount.";
      msg += name + ": expected " + field->form + ", got " + internal::echo(*value);
      errors.push_back(std::move(msg));
    }
  }
  return errors;
}

std::string mount_id(const std::string& absolute_mountpoint) {
  return common::sha256_hex(absolute_mountpoint).substr(0, 12);
}

void resolve_paths(Config& config, const std::string& absolute_mountpoint) {
  const std::string id = mount_id(absolute_mountpoint);
  if (config.page_cache.dir.empty()) config.page_cache.dir = "/var/cache/alluxio-fuse/" + id;
  if (config.write.staging_dir.empty()) {
    config.write.staging_dir = "/var/lib/alluxio-fuse/" + id + "/staging";
  }
}

std::vector<std::string> mount_security_warnings(const Config& config) {
  std::vector<std::string> out;
  if (config.mount.allow_other && !config.mount.default_permissions) {
    out.push_back(
        "mount.allow_other is on and mount.default_permissions is off: the kernel does not "
        "check mode bits, so every local user can read (and, unless ro, change) every file "
        "the daemon can reach, whatever its owner and mode; turn default_permissions back on "
        "unless the backend enforces access itself");
  }
  return out;
}

}  // namespace alluxio_fuse::config
