#include "common/yaml_value.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace infrakit::common {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// Nesting deeper than this is refused, as protobuf's JSON parser refuses it; an alias inside
// its own anchor (which yaml-cpp turns into a cycle) stops here too.
constexpr int kMaxDepth = 100;
// Values after expanding aliases: a few aliases of aliases multiply quickly.
constexpr int kMaxValues = 1000000;

constexpr char kTagPrefix[] = "tag:yaml.org,2002:";

// "not valid YAML: <problem> at line L, column C" (yaml-cpp counts from 0).
absl::Status YamlError(const YAML::Mark& mark, absl::string_view problem) {
  if (mark.line < 0 || mark.column < 0) {
    return absl::InvalidArgumentError(absl::StrCat("not valid YAML: ", problem));
  }
  return absl::InvalidArgumentError(absl::StrCat("not valid YAML: ", problem, " at line ",
                                                 mark.line + 1, ", column ", mark.column + 1));
}

std::string Quoted(absl::string_view s) { return absl::StrCat("\"", absl::CEscape(s), "\""); }

bool IsNullText(absl::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// 1 for true, 0 for false, -1 for neither.
int BoolOf(absl::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return 1;
  if (s == "false" || s == "False" || s == "FALSE") return 0;
  return -1;
}

bool AllDigits(absl::string_view s, int base) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = base == 16 ? absl::ascii_isxdigit(static_cast<unsigned char>(c))
                               : c >= '0' && c < '0' + base;
    if (!ok) return false;
  }
  return true;
}

// [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?, the core schema's
// integers and floats in decimal.
bool IsDecimal(absl::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const size_t integral = digits();
  size_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    fraction = digits();
    if (integral == 0 && fraction == 0) return false;
  } else if (integral == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

enum class NumberForm { kNone, kNumber, kNonFinite };

// Reads a core-schema number (decimal, 0o octal, 0x hex, .inf, .nan) into *out.
NumberForm ReadNumber(absl::string_view s, double* out) {
  absl::string_view unsigned_part = s;
  if (!unsigned_part.empty() && (unsigned_part[0] == '-' || unsigned_part[0] == '+')) {
    unsigned_part.remove_prefix(1);
  }
  if (unsigned_part == ".inf" || unsigned_part == ".Inf" || unsigned_part == ".INF" ||
      s == ".nan" || s == ".NaN" || s == ".NAN") {
    return NumberForm::kNonFinite;
  }
  if (IsDecimal(s)) {
    // absl::SimpleAtod is locale-independent and correctly rounded, like a JSON parser.
    absl::string_view digits = s;
    if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
    if (!absl::SimpleAtod(digits, out)) return NumberForm::kNone;
    return std::isfinite(*out) ? NumberForm::kNumber : NumberForm::kNonFinite;
  }
  const int base = absl::StartsWith(s, "0o") ? 8 : absl::StartsWith(s, "0x") ? 16 : 0;
  if (base == 0 || !AllDigits(s.substr(2), base)) return NumberForm::kNone;
  double value = 0;
  for (char c : s.substr(2)) {
    const int digit = absl::ascii_isdigit(static_cast<unsigned char>(c))
                          ? c - '0'
                          : absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    value = value * base + digit;
  }
  *out = value;
  return std::isfinite(value) ? NumberForm::kNumber : NumberForm::kNonFinite;
}

class Converter {
 public:
  absl::StatusOr<Value> Convert(const YAML::Node& node, int depth);

 private:
  absl::StatusOr<Value> Scalar(const YAML::Node& node);
  absl::StatusOr<Value> Number(const YAML::Node& node, bool forced);
  absl::StatusOr<Value> Map(const YAML::Node& node, int depth);
  absl::Status Merge(const YAML::Node& source, int depth, Struct* into);

  int values_ = 0;
};

absl::StatusOr<Value> Converter::Number(const YAML::Node& node, bool forced) {
  double number = 0;
  switch (ReadNumber(node.Scalar(), &number)) {
    case NumberForm::kNumber: {
      Value value;
      value.set_number_value(number);
      return value;
    }
    case NumberForm::kNonFinite:
      return YamlError(node.Mark(),
                       absl::StrCat(Quoted(node.Scalar()),
                                    " is infinite or not a number, which JSON cannot carry (quote "
                                    "it for a string)"));
    case NumberForm::kNone:
      break;
  }
  if (forced)
    return YamlError(node.Mark(), absl::StrCat(Quoted(node.Scalar()), " is not a number"));
  Value value;
  value.set_string_value(node.Scalar());
  return value;
}

absl::StatusOr<Value> Converter::Scalar(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  const std::string& text = node.Scalar();
  Value value;
  if (tag == "!" || tag == absl::StrCat(kTagPrefix, "str")) {
    value.set_string_value(text);
    return value;
  }
  if (tag == "?") {  // Plain: resolved by the core schema.
    if (IsNullText(text)) {
      value.set_null_value(google::protobuf::NULL_VALUE);
    } else if (const int b = BoolOf(text); b >= 0) {
      value.set_bool_value(b == 1);
    } else {
      return Number(node, /*forced=*/false);
    }
    return value;
  }
  if (tag == absl::StrCat(kTagPrefix, "int") || tag == absl::StrCat(kTagPrefix, "float")) {
    return Number(node, /*forced=*/true);
  }
  if (tag == absl::StrCat(kTagPrefix, "bool")) {
    const int b = BoolOf(text);
    if (b < 0) return YamlError(node.Mark(), absl::StrCat(Quoted(text), " is not a boolean"));
    value.set_bool_value(b == 1);
    return value;
  }
  if (tag == absl::StrCat(kTagPrefix, "null") && IsNullText(text)) {
    value.set_null_value(google::protobuf::NULL_VALUE);
    return value;
  }
  return YamlError(node.Mark(), absl::StrCat("unsupported tag ", Quoted(tag), " on a scalar"));
}

// Merges the mapping `source` (or each mapping of a sequence, earlier ones first) into `into`,
// keeping the keys `into` already has: YAML 1.1's "<<".
absl::Status Converter::Merge(const YAML::Node& source, int depth, Struct* into) {
  std::vector<YAML::Node> maps;
  if (source.IsMap()) {
    maps.push_back(source);
  } else if (source.IsSequence()) {
    for (const YAML::Node& element : source) maps.push_back(element);
  }
  for (const YAML::Node& map : maps) {
    if (!map.IsMap()) {
      return YamlError(source.Mark(), "\"<<\" must be given a mapping or a list of mappings");
    }
    absl::StatusOr<Value> merged = Map(map, depth + 1);
    if (!merged.ok()) return merged.status();
    for (auto& [key, value] : *merged->mutable_struct_value()->mutable_fields()) {
      into->mutable_fields()->insert({key, std::move(value)});
    }
  }
  if (maps.empty()) {
    return YamlError(source.Mark(), "\"<<\" must be given a mapping or a list of mappings");
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> Converter::Map(const YAML::Node& node, int depth) {
  Value value;
  Struct* object = value.mutable_struct_value();
  std::map<std::string, YAML::Mark> seen;
  std::vector<YAML::Node> merges;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node& key = it->first;
    if (!key.IsScalar()) {
      return YamlError(key.Mark(), "a key must be a string, not a mapping, a list or null");
    }
    if (key.Tag() == "?" && key.Scalar() == "<<") {
      merges.push_back(it->second);
      continue;
    }
    auto [previous, inserted] = seen.emplace(key.Scalar(), key.Mark());
    if (!inserted) {
      return YamlError(key.Mark(), absl::StrCat("duplicate key ", Quoted(key.Scalar()),
                                                " (first at line ", previous->second.line + 1,
                                                ", column ", previous->second.column + 1, ")"));
    }
    absl::StatusOr<Value> child = Convert(it->second, depth + 1);
    if (!child.ok()) return child.status();
    (*object->mutable_fields())[key.Scalar()] = *std::move(child);
  }
  for (const YAML::Node& source : merges) {
    if (absl::Status s = Merge(source, depth, object); !s.ok()) return s;
  }
  return value;
}

absl::StatusOr<Value> Converter::Convert(const YAML::Node& node, int depth) {
  if (depth > kMaxDepth) {
    return YamlError(node.Mark(),
                     absl::StrCat("nested deeper than ", kMaxDepth,
                                  " levels (or an alias refers to a node that contains it)"));
  }
  if (++values_ > kMaxValues) {
    return YamlError(node.Mark(),
                     absl::StrCat("more than ", kMaxValues, " values once aliases are expanded"));
  }
  const std::string& tag = node.Tag();
  const bool plain_tag = tag.empty() || tag == "?" || tag == "!";
  switch (node.Type()) {
    case YAML::NodeType::Null: {
      Value value;
      if (tag == absl::StrCat(kTagPrefix, "str")) {
        value.set_string_value("");
      } else {
        value.set_null_value(google::protobuf::NULL_VALUE);
      }
      return value;
    }
    case YAML::NodeType::Scalar:
      return Scalar(node);
    case YAML::NodeType::Sequence: {
      if (!plain_tag && tag != absl::StrCat(kTagPrefix, "seq")) break;
      Value value;
      auto* list = value.mutable_list_value();
      for (const YAML::Node& element : node) {
        absl::StatusOr<Value> child = Convert(element, depth + 1);
        if (!child.ok()) return child.status();
        *list->add_values() = *std::move(child);
      }
      return value;
    }
    case YAML::NodeType::Map:
      if (!plain_tag && tag != absl::StrCat(kTagPrefix, "map")) break;
      return Map(node, depth);
    case YAML::NodeType::Undefined:
      break;
  }
  return YamlError(node.Mark(), absl::StrCat("unsupported tag ", Quoted(tag)));
}

}  // namespace

absl::StatusOr<Value> ParseYamlValue(absl::string_view text) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::ParserException& e) {
    return YamlError(e.mark, e.msg);
  } catch (const YAML::Exception& e) {
    return YamlError(e.mark, e.msg);
  }
  if (documents.empty()) {
    Value null;
    null.set_null_value(google::protobuf::NULL_VALUE);
    return null;
  }
  if (documents.size() > 1) {
    return YamlError(documents[1].Mark(),
                     "a second document: give one config (one document) per file");
  }
  Converter converter;
  return converter.Convert(documents[0], 0);
}

}  // namespace infrakit::common
