#include "tools/infrakitctl/completion.h"

#include <stdio.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/runfiles.h"
#include "tests/testing/temp_dir.h"
#include "tools/infrakitctl/cli.h"

namespace infrakit::tools::infrakitctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs a bash command and returns its stdout.
std::string Bash(const std::string& script) {
  std::string command = absl::StrCat("bash -c '", script, "' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

class CompletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    script_ = dir_.Join("infrakitctl.bash");
    std::ofstream(script_) << BashCompletion(BuildCommandTable());
  }

  // The completions bash offers for `line` (the cursor at its end). `path` is $PATH.
  std::vector<std::string> Complete(const std::string& line, const std::string& path = "/bin") {
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    std::vector<std::string> quoted;
    for (const std::string& w : words) quoted.push_back(absl::StrCat("\"", w, "\""));
    const std::string out = Bash(absl::StrCat(
        "cd ", dir_.path(), " && PATH=", path, " && source ", script_, " && COMP_WORDS=(",
        absl::StrJoin(quoted, " "), ") && COMP_CWORD=", words.size() - 1,
        " && _infrakitctl && printf \"%s\\n\" \"${COMPREPLY[@]}\""));
    std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
    return lines;
  }

  infrakit::testing::TempDir dir_;
  std::string script_;
};

TEST_F(CompletionTest, TheCheckedInScriptIsTheGeneratedOne) {
  EXPECT_EQ(ReadFile(infrakit::testing::RunfilePath("tools/infrakitctl/infrakitctl.bash")),
            BashCompletion(BuildCommandTable()))
      << "regenerate it: bazel-bin/tools/infrakitctl/infrakitctl completion bash > "
         "tools/infrakitctl/infrakitctl.bash";
}

TEST_F(CompletionTest, IsValidBash) {
  EXPECT_EQ(Bash(absl::StrCat("bash -n ", script_, " && echo ok")), "ok\n");
  EXPECT_THAT(Bash(absl::StrCat("source ", script_, " && complete -p infrakitctl")),
              HasSubstr("complete -F _infrakitctl infrakitctl"));
}

TEST_F(CompletionTest, CommandsVerbsAndFlags) {
  EXPECT_THAT(Complete("infrakitctl gr"), ElementsAre("group"));
  EXPECT_THAT(Complete("infrakitctl plugin "), ElementsAre("ls", "start"));
  EXPECT_THAT(Complete("infrakitctl group --name group ins"), ElementsAre("inspect"));
  EXPECT_THAT(Complete("infrakitctl --plugins-dir /x group destroy"),
              ElementsAre("destroy", "destroy-instances"));
  EXPECT_THAT(Complete("infrakitctl group inspect --l"), ElementsAre("--long"));
  EXPECT_THAT(Complete("infrakitctl instance describe --p"),
              ElementsAre("--plugins-dir", "--properties"));
  EXPECT_THAT(Complete("infrakitctl group ls -o j"), ElementsAre("json"));
  EXPECT_THAT(
      Complete("infrakitctl plugin start group instance-"),
      ElementsAre("instance-file", "instance-process", "instance-terraform", "instance-vagrant"));
  EXPECT_THAT(Complete("infrakitctl completion "), ElementsAre("bash"));
}

TEST_F(CompletionTest, FilesForConfigs) {
  std::ofstream(dir_.Join("cattle.json")) << "{}";
  EXPECT_THAT(Complete("infrakitctl group watch catt"), ElementsAre("cattle.json"));
  // One FILE only: nothing after it.
  EXPECT_THAT(Complete("infrakitctl group watch cattle.json catt"), ElementsAre());
}

TEST_F(CompletionTest, PluginNamesAndGroupIdsComeFromTheCliItself) {
  // A stand-in infrakitctl on $PATH that answers `plugin ls -q` / `group ls -q` and shows the
  // plugins dir it was given.
  const std::string bin = dir_.Join("bin");
  ASSERT_EQ(mkdir(bin.c_str(), 0700), 0);
  std::ofstream(bin + "/infrakitctl")
      << "#!/bin/sh\n"
         "if [ \"$1\" = --plugins-dir ]; then echo \"dir:$2\"; shift 2; fi\n"
         "case \"$1 $2\" in\n"
         "  \"plugin ls\") echo group; echo instance-file ;;\n"
         "  \"group ls\") echo cattle; echo zk ;;\n"
         "esac\n";
  ASSERT_EQ(chmod((bin + "/infrakitctl").c_str(), 0700), 0);
  const std::string path = bin + ":/bin:/usr/bin";
  EXPECT_THAT(Complete("infrakitctl group --name ", path), ElementsAre("group", "instance-file"));
  EXPECT_THAT(Complete("infrakitctl group inspect ", path), ElementsAre("cattle", "zk"));
  EXPECT_THAT(Complete("infrakitctl --plugins-dir /p group inspect ", path),
              ElementsAre("dir:/p", "cattle", "zk"));
}

}  // namespace
}  // namespace infrakit::tools::infrakitctl
