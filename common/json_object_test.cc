#include "common/json_object.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace infrakit::common {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

Value MustParse(absl::string_view text) {
  absl::StatusOr<Value> value = ParseJsonValue(text);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : Value();
}

TEST(ParseJsonValueTest, ReadsAnyJsonValue) {
  const Value object = MustParse(R"({"a": [1, "x", true, null], "b": {}})");
  ASSERT_TRUE(object.has_struct_value());
  const Value& list = object.struct_value().fields().at("a");
  ASSERT_EQ(list.list_value().values_size(), 4);
  EXPECT_EQ(list.list_value().values(0).number_value(), 1);
  EXPECT_EQ(list.list_value().values(1).string_value(), "x");
  EXPECT_TRUE(list.list_value().values(2).bool_value());
  EXPECT_TRUE(list.list_value().values(3).has_null_value());
  EXPECT_TRUE(MustParse("[1, 2]").has_list_value());
  EXPECT_EQ(MustParse(" \"text\" ").string_value(), "text");
}

TEST(ParseJsonValueTest, SyntaxErrorsSayWhere) {
  // The third line lacks a comma after the value: the parser stops at "Properties".
  absl::StatusOr<Value> value =
      ParseJsonValue("{\n  \"ID\": \"cattle\"\n  \"Properties\": {}\n}\n");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(value.status().message(), "not valid JSON: ")) << value.status();
  EXPECT_TRUE(absl::EndsWith(value.status().message(), " at line 3, column 3")) << value.status();
}

TEST(DescribeJsonSyntaxErrorTest, LocatesTheExcerpt) {
  EXPECT_EQ(DescribeJsonSyntaxError("{\n \"a\": x}", "Unexpected token.\n\"a\": x}\n     ^"),
            "Unexpected token at line 2, column 7");
  EXPECT_EQ(DescribeJsonSyntaxError("{}", "Something odd"), "Something odd");
  // An excerpt that occurs twice cannot say which place: just the problem.
  EXPECT_EQ(DescribeJsonSyntaxError("[x, x]", "Unexpected token.\nx\n^"), "Unexpected token.");
}

TEST(JsonKindNameTest, NamesEveryKind) {
  const Value all = MustParse(R"([1, "s", false, {}, [], null])");
  std::vector<std::string> names;
  for (const Value& v : all.list_value().values()) names.push_back(JsonKindName(v));
  EXPECT_EQ(names, (std::vector<std::string>{"a number", "a string", "a boolean", "an object",
                                             "an array", "null"}));
  EXPECT_STREQ(JsonKindName(Value()), "null");
}

TEST(SortedMembersTest, ByteOrderOfTheKeys) {
  const Value object = MustParse(R"({"b": 2, "a": 1, "B": 3, "aa": 4})");
  std::vector<std::string> keys;
  std::vector<double> values;
  for (const JsonMember& m : SortedMembers(object.struct_value())) {
    keys.push_back(*m.key);
    values.push_back(m.value->number_value());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"B", "a", "aa", "b"}));
  EXPECT_EQ(values, (std::vector<double>{3, 1, 4, 2}));
  EXPECT_TRUE(SortedMembers(Struct()).empty());
}

TEST(JsonPathTest, PathsAndErrorsNameTheField) {
  EXPECT_EQ(JsonPath("", "ID"), "ID");
  EXPECT_EQ(JsonPath("Properties", "Size"), "Properties.Size");
  EXPECT_EQ(JsonIndexPath("Properties.LogicalIDs", 2), "Properties.LogicalIDs[2]");
  EXPECT_EQ(InvalidAt("Properties.Size", "must be >= 0"),
            absl::InvalidArgumentError("Properties.Size: must be >= 0"));
  EXPECT_EQ(InvalidAt("", "expected a JSON object"),
            absl::InvalidArgumentError("expected a JSON object"));
}

}  // namespace
}  // namespace infrakit::common
