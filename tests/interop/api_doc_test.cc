// docs/api.md against the protos: every grpcurl recipe calls a method that exists, names the
// proto file that defines it, and sends JSON that protobuf's JSON parser accepts as that method's
// request (no unknown field, no wrong type or enum name); every RPC of the four services has a
// recipe and a section that states its errors.
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "infrakit/plugin/v1/plugin.pb.h"
#include "tests/testing/runfiles.h"

namespace infrakit::interop {
namespace {

using ::google::protobuf::DescriptorPool;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// One grpcurl command of the page.
struct Recipe {
  int line = 0;                    // Where its code block starts (1-based).
  std::vector<std::string> words;  // The command, as the shell splits it.
  std::string proto;               // -proto, if given.
  std::string import_path;         // -import-path, if given.
  std::string data;                // -d, if given.
  bool has_data = false;
  std::vector<std::string> positional;  // The address and the method (or `list`).
};

// The commands of a shell code block, split as the shell does for what the page uses: words
// separated by blanks, '...' quoting (newlines included), backslash-newline as a blank, a newline
// outside quotes ending a command.
std::vector<std::vector<std::string>> ShellCommands(absl::string_view text) {
  std::vector<std::vector<std::string>> commands(1);
  std::string word;
  bool in_word = false, quoted = false;
  auto end_word = [&] {
    if (in_word) commands.back().push_back(word);
    word.clear();
    in_word = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '\'') {
        quoted = false;
      } else {
        word += c;
      }
    } else if (c == '\'') {
      quoted = in_word = true;
    } else if (c == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
      end_word();
      ++i;
    } else if (c == '\n') {
      end_word();
      if (!commands.back().empty()) commands.emplace_back();
    } else if (c == ' ' || c == '\t') {
      end_word();
    } else {
      word += c;
      in_word = true;
    }
  }
  end_word();
  if (commands.back().empty()) commands.pop_back();
  return commands;
}

// The grpcurl commands of the page's ```shell blocks.
std::vector<Recipe> Recipes(absl::string_view markdown) {
  std::vector<Recipe> out;
  const std::vector<absl::string_view> lines = absl::StrSplit(markdown, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] != "```shell") continue;
    const int start = static_cast<int>(i) + 1;
    std::string block;
    for (++i; i < lines.size() && lines[i] != "```"; ++i) absl::StrAppend(&block, lines[i], "\n");
    for (std::vector<std::string>& words : ShellCommands(block)) {
      if (words.empty() || words[0] != "grpcurl") continue;
      Recipe r;
      r.line = start;
      r.words = words;
      for (size_t w = 1; w < words.size(); ++w) {
        const std::string& word = words[w];
        const bool has_value = w + 1 < words.size();
        if (word == "-proto" && has_value) {
          r.proto = words[++w];
        } else if (word == "-import-path" && has_value) {
          r.import_path = words[++w];
        } else if (word == "-d" && has_value) {
          r.data = words[++w];
          r.has_data = true;
        } else if (word[0] != '-') {
          r.positional.push_back(word);
        }
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

// What is wrong with one recipe, one line per problem; adds the method it calls to `called`.
std::vector<std::string> CheckRecipe(const Recipe& r, std::set<std::string>* called) {
  std::vector<std::string> problems;
  const std::string where = absl::StrCat("line ", r.line, ": ");
  auto has_flag = [&](absl::string_view flag) {
    return std::find(r.words.begin(), r.words.end(), flag) != r.words.end();
  };
  if (!has_flag("-plaintext") || !has_flag("-unix")) {
    problems.push_back(where + "a recipe needs -plaintext -unix (our servers are on unix sockets)");
  }
  if (r.positional.size() < 2) {
    problems.push_back(where + "want a socket and a method (or list)");
    return problems;
  }
  if (!absl::EndsWith(r.positional[0], ".sock")) {
    problems.push_back(where + "the address should be a socket, got " + r.positional[0]);
  }
  if (r.positional[1] == "list") return problems;
  const std::vector<std::string> parts = absl::StrSplit(r.positional[1], '/');
  const MethodDescriptor* method = parts.size() == 2
                                       ? DescriptorPool::generated_pool()->FindMethodByName(
                                             absl::StrCat(parts[0], ".", parts[1]))
                                       : nullptr;
  if (method == nullptr) {
    problems.push_back(where + "no such method: " + r.positional[1]);
    return problems;
  }
  called->insert(method->full_name());
  const std::string& file = method->service()->file()->name();
  if (absl::StartsWith(file, "infrakit/")) {
    if (r.proto != file || r.import_path != "proto") {
      problems.push_back(absl::StrCat(where, r.positional[1], " is in ", file,
                                      ": want -import-path proto -proto ", file));
    }
  } else if (!r.proto.empty()) {
    problems.push_back(where + "-proto names a file outside proto/: " + r.proto);
  }
  if (r.has_data) {
    google::protobuf::DynamicMessageFactory factory;
    std::unique_ptr<google::protobuf::Message> request(
        factory.GetPrototype(method->input_type())->New());
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto parsed = google::protobuf::util::JsonStringToMessage(r.data, request.get(), options);
    if (!parsed.ok()) {
      problems.push_back(absl::StrCat(where, "-d is not a ", method->input_type()->full_name(),
                                      ": ", parsed.ToString(), "\n", r.data));
    }
  }
  return problems;
}

// The proto files whose every RPC the page documents. Referencing their messages links them in,
// so that the generated pool knows them.
std::vector<const FileDescriptor*> DocumentedFiles() {
  return {
      infrakit::plugin::v1::InfoRequest::descriptor()->file(),
      infrakit::group::v1::GroupSpec::descriptor()->file(),
      infrakit::instance::v1::Spec::descriptor()->file(),
      infrakit::flavor::v1::Allocation::descriptor()->file(),
  };
}

std::string ReadDoc() {
  // The health service's recipe uses reflection; its descriptor comes from the same link.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  const std::string path = ::infrakit::testing::RunfilePath("docs/api.md");
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ApiDocTest, EveryRecipeCallsAMethodWithARequestItsProtoAccepts) {
  const std::string doc = ReadDoc();
  const std::vector<Recipe> recipes = Recipes(doc);
  ASSERT_GT(recipes.size(), 28u) << "the page's recipes were not found";
  std::set<std::string> called;
  std::vector<std::string> problems;
  for (const Recipe& r : recipes) {
    for (std::string& p : CheckRecipe(r, &called)) problems.push_back(std::move(p));
  }
  EXPECT_THAT(problems, IsEmpty()) << absl::StrJoin(problems, "\n");
}

TEST(ApiDocTest, EveryRpcHasARecipeAndASectionWithItsErrors) {
  const std::string doc = ReadDoc();
  std::set<std::string> called;
  for (const Recipe& r : Recipes(doc)) CheckRecipe(r, &called);
  for (const FileDescriptor* file : DocumentedFiles()) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      EXPECT_THAT(doc, HasSubstr(absl::StrCat("\n## `", service->full_name(), "`\n")))
          << "no section for " << service->full_name();
      for (int m = 0; m < service->method_count(); ++m) {
        const MethodDescriptor* method = service->method(m);
        EXPECT_TRUE(called.count(method->full_name())) << "no recipe calls " << method->full_name();
        const std::string heading =
            absl::StrCat("\n### `", service->name(), "/", method->name(), "`\n");
        const size_t at = doc.find(heading);
        if (at == std::string::npos) {
          ADD_FAILURE() << "no section " << heading;
          continue;
        }
        const size_t next = doc.find("\n#", at + heading.size());
        EXPECT_THAT(doc.substr(at, next - at), HasSubstr("\nErrors"))
            << "the section of " << method->full_name() << " does not state its errors";
      }
    }
  }
}

// The checks above catch what they are meant to: a field the request does not have, a wrong
// enum name, a method that does not exist, a recipe without the proto that defines its method.
TEST(ApiDocTest, CatchesWrongRecipes) {
  const std::string page = R"(
```shell
grpcurl -plaintext -unix -import-path proto -proto infrakit/group/v1/group.proto \
  -d '{"idd": "cattle"}' \
  /run/infrakit/plugins/group.sock infrakit.group.v1.GroupService/InspectGroup
grpcurl -plaintext -unix -import-path proto -proto infrakit/instance/v1/instance.proto \
  -d '{"id": "i-1",
       "reason": "TERMINATE"}' \
  /run/infrakit/plugins/instance-file.sock infrakit.instance.v1.InstanceService/Destroy
grpcurl -plaintext -unix -import-path proto -proto infrakit/group/v1/group.proto \
  /run/infrakit/plugins/group.sock infrakit.group.v1.GroupService/Inspect
grpcurl -plaintext -unix -d '{}' \
  /run/infrakit/plugins/group.sock infrakit.group.v1.GroupService/ListGroups
grpcurl -plaintext -unix -import-path proto -proto infrakit/group/v1/group.proto \
  -d '{"id": "cattle", "size": 5}' \
  /run/infrakit/plugins/group.sock infrakit.group.v1.GroupService/SetSize
```
)";
  const std::vector<Recipe> recipes = Recipes(page);
  ASSERT_EQ(recipes.size(), 5u);
  EXPECT_EQ(recipes[1].data, "{\"id\": \"i-1\",\n       \"reason\": \"TERMINATE\"}");
  std::set<std::string> called;
  std::vector<std::vector<std::string>> problems;
  for (const Recipe& r : recipes) problems.push_back(CheckRecipe(r, &called));
  EXPECT_THAT(problems[0], ElementsAre(HasSubstr("idd")));
  EXPECT_THAT(problems[1], ElementsAre(HasSubstr("TERMINATE")));
  EXPECT_THAT(problems[2], ElementsAre(HasSubstr("no such method")));
  EXPECT_THAT(problems[3], ElementsAre(HasSubstr("want -import-path proto -proto")));
  EXPECT_THAT(problems[4], IsEmpty());
  EXPECT_THAT(called, ElementsAre("infrakit.group.v1.GroupService.InspectGroup",
                                  "infrakit.group.v1.GroupService.ListGroups",
                                  "infrakit.group.v1.GroupService.SetSize",
                                  "infrakit.instance.v1.InstanceService.Destroy"));
}

}  // namespace
}  // namespace infrakit::interop
