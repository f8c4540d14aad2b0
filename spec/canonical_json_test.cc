#include "spec/canonical_json.h"

#include <cmath>
#include <limits>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace infrakit::spec {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

Value Parse(const std::string& json) {
  Value value;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &value);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << json;
  return value;
}

Value Number(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

TEST(CanonicalJsonTest, SortsKeysAtEveryLevelAndDropsWhitespace) {
  EXPECT_EQ(
      CanonicalJson(Parse(R"( { "b" : 1, "a" : { "z": [ 1, {"y": 2, "x": 3} ], "c": null } } )")),
      R"({"a":{"c":null,"z":[1,{"x":3,"y":2}]},"b":1})");
}

TEST(CanonicalJsonTest, SameContentInAnyOrderGivesSameText) {
  const std::string a =
      CanonicalJson(Parse(R"({"k1":1,"k2":2,"k3":{"x":true,"y":false},"k4":"s"})"));
  const std::string b =
      CanonicalJson(Parse(R"({"k4":"s","k3":{"y":false,"x":true},"k2":2,"k1":1})"));
  EXPECT_EQ(a, b);
}

TEST(CanonicalJsonTest, KeysSortByBytes) {
  // Upper case sorts before lower case, as in Go's encoding/json and in Python's sort_keys.
  EXPECT_EQ(CanonicalJson(Parse(R"({"b":1,"B":2,"a":3,"_":4})")), R"({"B":2,"_":4,"a":3,"b":1})");
}

TEST(CanonicalJsonTest, Numbers) {
  struct Case {
    double number;
    std::string text;
  };
  for (const Case& c : {Case{5, "5"}, Case{5.0, "5"}, Case{-1, "-1"}, Case{0, "0"}, Case{-0.0, "0"},
                        Case{0.1, "0.1"}, Case{2.5, "2.5"}, Case{1e-7, "1e-07"},
                        Case{9007199254740992.0, "9007199254740992"}, Case{1e21, "1e+21"},
                        Case{123456.789, "123456.789"}}) {
    EXPECT_EQ(CanonicalJson(Number(c.number)), c.text) << c.number;
    // The text reads back as the same number.
    EXPECT_EQ(Parse(c.text).number_value(), c.number) << c.text;
  }
  EXPECT_EQ(CanonicalJson(Number(std::nan(""))), "\"NaN\"");
  EXPECT_EQ(CanonicalJson(Number(std::numeric_limits<double>::infinity())), "\"Infinity\"");
  EXPECT_EQ(CanonicalJson(Number(-std::numeric_limits<double>::infinity())), "\"-Infinity\"");
}

TEST(CanonicalJsonTest, StringEscaping) {
  Value v;
  v.set_string_value("q\"b\\n\nt\tr\rb\bf\f\x01\x1f/ü<&");
  EXPECT_EQ(CanonicalJson(v), "\"q\\\"b\\\\n\\nt\\tr\\rb\\bf\\f\\u0001\\u001f/ü<&\"");
  // Whatever it escapes, protobuf's parser reads it back unchanged.
  EXPECT_EQ(Parse(CanonicalJson(v)).string_value(), v.string_value());
}

TEST(CanonicalJsonTest, EmptyAndUnsetValues) {
  EXPECT_EQ(CanonicalJson(Value()), "null");
  EXPECT_EQ(CanonicalJson(Struct()), "{}");
  EXPECT_EQ(CanonicalJson(Parse("[]")), "[]");
  EXPECT_EQ(CanonicalJson(Parse(R"({"a":{},"b":[]})")), R"({"a":{},"b":[]})");
  EXPECT_EQ(CanonicalJson(Parse("true")), "true");
  EXPECT_EQ(CanonicalJson(Parse("false")), "false");
}

TEST(CanonicalJsonTest, StructOverloadMatchesValue) {
  const Value v = Parse(R"({"b":[1,"x"],"a":false})");
  EXPECT_EQ(CanonicalJson(v.struct_value()), CanonicalJson(v));
}

TEST(CanonicalJsonTest, PrettyIsIndentedSortedAndReadsBack) {
  const Value v = Parse(R"({"b":[1,{"d":null,"c":"x"}],"a":{},"e":[]})");
  const std::string expected =
      "{\n"
      "  \"a\": {},\n"
      "  \"b\": [\n"
      "    1,\n"
      "    {\n"
      "      \"c\": \"x\",\n"
      "      \"d\": null\n"
      "    }\n"
      "  ],\n"
      "  \"e\": []\n"
      "}";
  EXPECT_EQ(PrettyJson(v), expected);
  EXPECT_EQ(CanonicalJson(Parse(PrettyJson(v))), CanonicalJson(v));
}

TEST(CanonicalJsonTest, PrettyHonoursBaseIndent) {
  const Value v = Parse(R"({"a":[1]})");
  EXPECT_EQ(PrettyJson(v, /*base_indent=*/4), "{\n      \"a\": [\n        1\n      ]\n    }");
  EXPECT_EQ(PrettyJson(v, 0, /*indent_step=*/1), "{\n \"a\": [\n  1\n ]\n}");
}

TEST(CanonicalJsonTest, JsonStringQuotesAndJsonNumberIsCanonical) {
  EXPECT_EQ(JsonString("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
  EXPECT_EQ(JsonNumber(5.0), "5");
  EXPECT_EQ(JsonNumber(-0.0), "0");
  EXPECT_EQ(JsonNumber(0.25), "0.25");
}

}  // namespace
}  // namespace infrakit::spec
