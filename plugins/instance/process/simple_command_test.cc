#include "plugins/instance/process/simple_command.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::instance::process {
namespace {

namespace fs = std::filesystem;
using ::infrakit::testing::TempDir;
using Words = std::vector<std::string>;

TEST(SplitSimpleCommandTest, PlainWordsAreTheProgramAndItsArguments) {
  EXPECT_EQ(SplitSimpleCommand("exec sleep 3600"), (Words{"sleep", "3600"}));
  EXPECT_EQ(SplitSimpleCommand("  sleep\t3600  "), (Words{"sleep", "3600"}));
  EXPECT_EQ(SplitSimpleCommand("exec /usr/bin/python3 -m http.server 8080"),
            (Words{"/usr/bin/python3", "-m", "http.server", "8080"}));
  EXPECT_EQ(SplitSimpleCommand("./server --port=8080 --peers=a:1,b:2 --user=x@y --p=50% +v"),
            (Words{"./server", "--port=8080", "--peers=a:1,b:2", "--user=x@y", "--p=50%", "+v"}));
  // After exec, a builtin's name is the external program's.
  EXPECT_EQ(SplitSimpleCommand("exec echo hi"), (Words{"echo", "hi"}));
}

TEST(SplitSimpleCommandTest, AnythingTheShellInterpretsKeepsTheShell) {
  for (const char* command :
       {"", "   ", "exec", "echo $HOME", "sleep ${T}", "sleep `x`", "sleep \"1\"", "sleep '1'",
        "sleep 1; sleep 2", "sleep 1 && true", "sleep 1 | cat", "sleep 1 &", "sleep 1 > out",
        "sleep 1 < in", "ls *", "ls a?", "ls [ab]", "cat ~/x", "sleep 1 # comment", "a\\ b",
        "(sleep 1)", "{ sleep 1; }", "sleep 1\nsleep 2", "! sleep 1", "ls {a,b}",
        // Assignments, builtins and reserved words run inside the shell.
        "FOO=bar sleep 1", "exec FOO=bar", "echo hi", "true", "exit 3", "kill 1", "cd /tmp",
        "test -f x", ". ./env", ": nothing", "wait", "if", "while", "printf x",
        // exec's own options.
        "exec -a name sleep 1"}) {
    EXPECT_EQ(SplitSimpleCommand(command), std::nullopt) << command;
  }
}

class FindProgramTest : public ::testing::Test {
 protected:
  std::string File(const std::string& relative, mode_t mode) {
    const std::string path = dir_.Join(relative);
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << "#!/bin/sh\n";
    chmod(path.c_str(), mode);
    return path;
  }

  TempDir dir_;
};

TEST_F(FindProgramTest, TheFirstExecutableRegularFileOnThePath) {
  File("a/tool", 0644);                         // Not executable: skipped, as the shell does.
  fs::create_directories(dir_.Join("b/tool"));  // A directory: skipped.
  const std::string c = File("c/tool", 0755);
  File("d/tool", 0755);
  const std::string path =
      absl::StrCat(dir_.Join("a"), ":", dir_.Join("b"), ":", dir_.Join("c"), ":", dir_.Join("d"));
  EXPECT_EQ(FindProgram("tool", path, "/"), c);
  EXPECT_EQ(FindProgram("missing", path, "/"), std::nullopt);
  EXPECT_EQ(FindProgram("tool", "", "/"), std::nullopt);
}

TEST_F(FindProgramTest, RelativeAndEmptyEntriesAreRelativeToTheWorkingDirectory) {
  const std::string here = File("work/tool", 0755);
  const std::string there = File("work/bin/other", 0755);
  const std::string work = dir_.Join("work");
  EXPECT_EQ(FindProgram("tool", "/nonexistent:", work), here);
  EXPECT_EQ(FindProgram("tool", ".", work), work + "/./tool");
  EXPECT_EQ(FindProgram("other", "/nonexistent:bin", work), work + "/bin/other");
}

TEST_F(FindProgramTest, ANameWithASlashIsAPathNotSearched) {
  EXPECT_EQ(FindProgram("/usr/bin/env", "/nowhere", "/tmp"), "/usr/bin/env");
  EXPECT_EQ(FindProgram("./run", "/usr/bin", "/srv/app"), "/srv/app/./run");
  EXPECT_EQ(FindProgram("", "/usr/bin", "/"), std::nullopt);
}

}  // namespace
}  // namespace infrakit::plugins::instance::process
