#include "services/runtime/paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace infrakit::services::runtime {
namespace {

std::string GetEnv(const char* name) {
  const char* value = getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// True when `path` is a writable directory, or is missing and could be created (its nearest
// existing ancestor is a writable directory).
bool WritableOrCreatable(const std::string& path) {
  std::string p = path;
  while (true) {
    struct stat st;
    if (stat(p.c_str(), &st) == 0) {
      return S_ISDIR(st.st_mode) && access(p.c_str(), W_OK | X_OK) == 0;
    }
    if (errno != ENOENT) return false;
    std::string parent = Parent(p);
    if (parent == p) return false;
    p = parent;
  }
}

}  // namespace

std::string InfrakitHome() {
  std::string home = GetEnv("INFRAKIT_HOME");
  if (!home.empty()) return home;
  std::string user_home = GetEnv("HOME");
  if (user_home.empty()) {
    if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) {
      user_home = pw->pw_dir;
    }
  }
  return absl::StrCat(user_home, "/.infrakit");
}

std::string ResolvePluginsDirWithSystemDir(absl::string_view flag_value,
                                           absl::string_view system_dir) {
  if (!flag_value.empty()) return std::string(flag_value);
  std::string env = GetEnv("INFRAKIT_PLUGINS_DIR");
  if (!env.empty()) return env;
  if (!system_dir.empty() && WritableOrCreatable(std::string(system_dir))) {
    return std::string(system_dir);
  }
  std::string xdg = GetEnv("XDG_RUNTIME_DIR");
  if (!xdg.empty()) return absl::StrCat(xdg, "/infrakit/plugins");
  return absl::StrCat(InfrakitHome(), "/plugins");
}

std::string ResolvePluginsDir(absl::string_view flag_value) {
  return ResolvePluginsDirWithSystemDir(flag_value, kSystemPluginsDir);
}

}  // namespace infrakit::services::runtime
