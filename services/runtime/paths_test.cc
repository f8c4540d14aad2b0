#include "services/runtime/paths.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::services::runtime {
namespace {

using ::infrakit::testing::TempDir;

// Sets (or, with nullptr, unsets) an environment variable for one test, restoring it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_.has_value()) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(ResolvePluginsDirTest, Precedence) {
  TempDir tmp;
  const std::string writable_system = tmp.Join("run/infrakit/plugins");  // creatable
  std::ofstream(tmp.Join("file")) << "x";
  const std::string unusable_system = tmp.Join("file/plugins");  // under a regular file

  ScopedEnv home("HOME", "/home/someone");
  ScopedEnv infrakit_home("INFRAKIT_HOME", nullptr);
  ScopedEnv xdg("XDG_RUNTIME_DIR", "/run/user/1000");
  ScopedEnv plugins("INFRAKIT_PLUGINS_DIR", "/env/plugins");

  // 1. the flag
  EXPECT_EQ(ResolvePluginsDirWithSystemDir("/flag/dir", writable_system), "/flag/dir");
  // 2. $INFRAKIT_PLUGINS_DIR
  EXPECT_EQ(ResolvePluginsDirWithSystemDir("", writable_system), "/env/plugins");
  unsetenv("INFRAKIT_PLUGINS_DIR");
  // 3. the system directory when writable or creatable
  EXPECT_EQ(ResolvePluginsDirWithSystemDir("", writable_system), writable_system);
  ASSERT_EQ(mkdir(tmp.Join("run").c_str(), 0700), 0);
  EXPECT_EQ(ResolvePluginsDirWithSystemDir("", writable_system), writable_system);
  // 4. $XDG_RUNTIME_DIR/infrakit/plugins
  EXPECT_EQ(ResolvePluginsDirWithSystemDir("", unusable_system), "/run/user/1000/infrakit/plugins");
  // 5. ~/.infrakit/plugins
  unsetenv("XDG_RUNTIME_DIR");
  EXPECT_EQ(ResolvePluginsDirWithSystemDir("", unusable_system), "/home/someone/.infrakit/plugins");
  setenv("INFRAKIT_HOME", "/srv/ik", 1);
  EXPECT_EQ(ResolvePluginsDirWithSystemDir("", unusable_system), "/srv/ik/plugins");
  // The real system directory only wins over XDG when usable; the flag always wins.
  EXPECT_EQ(ResolvePluginsDir("/flag/dir"), "/flag/dir");
}

TEST(InfrakitHomeTest, EnvironmentThenHome) {
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv infrakit_home("INFRAKIT_HOME", "/srv/ik");
    EXPECT_EQ(InfrakitHome(), "/srv/ik");
  }
  ScopedEnv infrakit_home("INFRAKIT_HOME", nullptr);
  EXPECT_EQ(InfrakitHome(), "/home/someone/.infrakit");
}

}  // namespace
}  // namespace infrakit::services::runtime
