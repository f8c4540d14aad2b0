#include "common/yaml_value.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/json_object.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/canonical_json.h"

namespace infrakit::common {
namespace {

using ::testing::HasSubstr;

// The canonical JSON of the YAML, or "ERROR: <message>".
std::string Canon(const std::string& yaml) {
  absl::StatusOr<google::protobuf::Value> value = ParseYamlValue(yaml);
  if (!value.ok()) return absl::StrCat("ERROR: ", value.status().message());
  return spec::CanonicalJson(*value);
}

std::string JsonCanon(const std::string& json) {
  absl::StatusOr<google::protobuf::Value> value = ParseJsonValue(json);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? spec::CanonicalJson(*value) : "";
}

TEST(YamlValueTest, ScalarsFollowTheCoreSchema) {
  EXPECT_EQ(Canon("a: 5"), R"({"a":5})");
  EXPECT_EQ(Canon("a: -5"), R"({"a":-5})");
  EXPECT_EQ(Canon("a: +5"), R"({"a":5})");
  EXPECT_EQ(Canon("a: 010"), R"({"a":10})");
  EXPECT_EQ(Canon("a: 0o17"), R"({"a":15})");
  EXPECT_EQ(Canon("a: 0x1F"), R"({"a":31})");
  EXPECT_EQ(Canon("a: 1.5"), R"({"a":1.5})");
  EXPECT_EQ(Canon("a: .5"), R"({"a":0.5})");
  EXPECT_EQ(Canon("a: 1e3"), R"({"a":1000})");
  EXPECT_EQ(Canon("a: 2.50E-1"), R"({"a":0.25})");
  EXPECT_EQ(Canon("a: true\nb: False\nc: TRUE"), R"({"a":true,"b":false,"c":true})");
  EXPECT_EQ(Canon("a: yes\nb: no\nc: on\nd: off\ne: y"),
            R"({"a":"yes","b":"no","c":"on","d":"off","e":"y"})");
  EXPECT_EQ(Canon("a: null\nb: ~\nc:\nd: Null"), R"({"a":null,"b":null,"c":null,"d":null})");
  EXPECT_EQ(Canon("a: hello world\nb: 1.2.3\nc: 0x\nd: 12:30\ne: 1_000"),
            R"({"a":"hello world","b":"1.2.3","c":"0x","d":"12:30","e":"1_000"})");
}

TEST(YamlValueTest, QuotedAndBlockScalarsAreStrings) {
  EXPECT_EQ(Canon("a: \"5\"\nb: 'true'\nc: \"null\"\nd: ''"),
            R"({"a":"5","b":"true","c":"null","d":""})");
  EXPECT_EQ(Canon("a: |\n  line 1\n  line 2\nb: >\n  folded\n  text\n"),
            R"({"a":"line 1\nline 2\n","b":"folded text\n"})");
  EXPECT_EQ(Canon("a: \"tab\\there \\u00e9\""), "{\"a\":\"tab\\there \xC3\xA9\"}");
}

TEST(YamlValueTest, TagsForceAKind) {
  EXPECT_EQ(Canon("a: !!str 5\nb: !!str true\nc: !!str"), R"({"a":"5","b":"true","c":""})");
  EXPECT_EQ(Canon("a: !!int \"7\"\nb: !!float '1.5'\nc: !!bool \"true\"\nd: !!null ''"),
            R"({"a":7,"b":1.5,"c":true,"d":null})");
  EXPECT_THAT(Canon("a: !!int x"), HasSubstr("\"x\" is not a number at line 1, column 4"));
  EXPECT_THAT(Canon("a: !!bool yes"), HasSubstr("\"yes\" is not a boolean"));
  EXPECT_THAT(Canon("a: !custom 5"), HasSubstr("unsupported tag \"!custom\""));
}

TEST(YamlValueTest, KeysAreStrings) {
  EXPECT_EQ(Canon("1: a\ntrue: b\n\"x y\": c"), R"({"1":"a","true":"b","x y":"c"})");
  EXPECT_THAT(Canon("? [a]\n: b\n"), HasSubstr("a key must be a string"));
}

TEST(YamlValueTest, TheSameDocumentAsJsonGivesTheSameValue) {
  const std::string json = R"({"ID": "cattle", "Properties": {"Size": 5, "Ratio": 0.25,
      "Tags": {"tier": "web", "n": "1"}, "List": [1, "two", true, null, {"k": []}],
      "Empty": {}, "Big": 12345678901234567890, "Neg": -0.0, "Text": "a\nb"}})";
  const std::string yaml = R"(ID: cattle
Properties:
  Size: 5
  Ratio: 0.25
  Tags: {tier: web, n: "1"}
  List:
    - 1
    - two
    - true
    - null
    - k: []
  Empty: {}
  Big: 12345678901234567890
  Neg: -0.0
  Text: "a\nb"
)";
  EXPECT_EQ(Canon(yaml), JsonCanon(json));
  // JSON is YAML: the same text read as YAML gives the same value.
  EXPECT_EQ(Canon(json), JsonCanon(json));
}

TEST(YamlValueTest, AnchorsAliasesAndMerges) {
  EXPECT_EQ(Canon("base: &b {x: 1, y: 2}\nuse: *b\nmerged:\n  <<: *b\n  y: 3\n"),
            R"({"base":{"x":1,"y":2},"merged":{"x":1,"y":3},"use":{"x":1,"y":2}})");
  EXPECT_EQ(Canon("a: &a {x: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n"),
            R"({"a":{"x":1},"b":{"x":2,"z":2},"c":{"x":1,"z":2}})");
  EXPECT_THAT(Canon("a:\n  <<: 5\n"), HasSubstr("\"<<\" must be given a mapping"));
}

TEST(YamlValueTest, ErrorsNameTheLineAndColumn) {
  EXPECT_EQ(Canon("a: [1\nb: 2\n"),
            "ERROR: not valid YAML: end of sequence flow not found at line 2, column 2");
  EXPECT_EQ(Canon("a: 1\n  b: 2\n"),
            "ERROR: not valid YAML: illegal map value at line 2, column 4");
  EXPECT_EQ(Canon("a: 1\nb: 2\na: 3\n"),
            "ERROR: not valid YAML: duplicate key \"a\" (first at line 1, column 1) at line 3, "
            "column 1");
  EXPECT_EQ(Canon("a: .inf"),
            "ERROR: not valid YAML: \".inf\" is infinite or not a number, which JSON cannot carry "
            "(quote it for a string) at line 1, column 4");
  EXPECT_THAT(Canon("a: 1e999"), HasSubstr("infinite"));
  EXPECT_EQ(Canon("a: 1\n---\nb: 2\n"),
            "ERROR: not valid YAML: a second document: give one config (one document) per file "
            "at line 3, column 1");
}

// Inputs found by tests/fuzz: yaml-cpp would pass bytes that are not UTF-8 into strings, and
// on some texts (a NUL, a line starting with ",") loop without end.
TEST(YamlValueTest, TextThatIsNotUtf8OrHasControlCharactersIsRefused) {
  EXPECT_EQ(Canon("a: b\nc: \xb6x\n"), "ERROR: not valid YAML: not UTF-8 at line 2, column 4");
  EXPECT_EQ(Canon("a: \xc0\xaf"), "ERROR: not valid YAML: not UTF-8 at line 1, column 4");
  EXPECT_EQ(Canon("a: \xed\xa0\x80"), "ERROR: not valid YAML: not UTF-8 at line 1, column 4");
  EXPECT_THAT(Canon(std::string("a: b\0c", 7)), HasSubstr("a control character (U+0000)"));
  EXPECT_THAT(Canon("a: \x01"), HasSubstr("a control character (U+0001)"));
  EXPECT_EQ(Canon("a: \"\xc3\xa9\t\xe2\x82\xac\xf0\x9f\x98\x80\"\r\n"),
            "{\"a\":\"\xc3\xa9\\t\xe2\x82\xac\xf0\x9f\x98\x80\"}");
  EXPECT_THAT(Canon("a: \"x\\_y\""), HasSubstr("an escape this reader cannot decode"));
  EXPECT_THAT(Canon("# c\n, x: y\n"), HasSubstr("ERROR: not valid YAML"));
}

TEST(YamlValueTest, EmptyTextIsNull) {
  EXPECT_EQ(Canon(""), "null");
  EXPECT_EQ(Canon("# only a comment\n"), "null");
}

TEST(YamlValueTest, RunawayStructuresAreRefused) {
  EXPECT_THAT(Canon("&a [*a]"), HasSubstr("nested deeper than 100 levels"));
  std::string deep;
  for (int i = 0; i < 150; ++i) deep += "[";
  EXPECT_THAT(Canon(deep + std::string(150, ']')), HasSubstr("nested deeper than 100 levels"));
  // Ten levels of ten aliases each: 10^10 values once expanded.
  std::string laughs = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 10; ++i) {
    const std::string p = absl::StrCat("*l", i - 1);
    laughs += absl::StrCat("l", i, ": &l", i, " [", p, ", ", p, ", ", p, ", ", p, ", ", p, ", ", p,
                           ", ", p, ", ", p, ", ", p, ", ", p, "]\n");
  }
  EXPECT_THAT(Canon(laughs), HasSubstr("more than 1000000 values"));
}

}  // namespace
}  // namespace infrakit::common
