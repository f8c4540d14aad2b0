#include "common/yaml_value.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

// OK, or an error at `node` when its scalar is not UTF-8: yaml-cpp decodes some escapes of
// double-quoted strings (e.g. \_ and \N) to a single byte instead of the character's
// UTF-8, which JSON, and so the canonical form, cannot hold.
absl::Status CheckScalarIsUtf8(const YAML::Node& node);

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
    // A copy: the iterator's `->` yields a temporary pair, which a reference would outlive.
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      return YamlError(key.Mark(), "a key must be a string, not a mapping, a list or null");
    }
    if (absl::Status utf8 = CheckScalarIsUtf8(key); !utf8.ok()) return utf8;
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
      if (absl::Status utf8 = CheckScalarIsUtf8(node); !utf8.ok()) return utf8;
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

// The length of the UTF-8 sequence starting at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when it is not one.
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b = byte(i);
  if (b < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xBF;  // The range of the second byte.
  if (b >= 0xC2 && b <= 0xDF) {
    length = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    length = 3;
    if (b == 0xE0) low = 0xA0;
    if (b == 0xED) high = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    length = 4;
    if (b == 0xF0) low = 0x90;
    if (b == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

absl::Status CheckScalarIsUtf8(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  for (size_t i = 0; i < text.size();) {
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      return YamlError(node.Mark(),
                       "a string with an escape this reader cannot decode (e.g. \\_ or \\N: write "
                       "the character itself)");
    }
    i += length;
  }
  return absl::OkStatus();
}

// OK, or where `text` stops being UTF-8 or holds a control character other than tab, line
// feed and carriage return (YAML allows none of them unescaped). yaml-cpp does not check: it
// passes bytes that are not UTF-8 into strings (which JSON, and so the canonical form, cannot
// hold), and on some of them, and on a NUL, it loops allocating without end.
absl::Status CheckUtf8(absl::string_view text) {
  YAML::Mark mark;
  mark.line = 0;
  mark.column = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return YamlError(mark, "not UTF-8");
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
      return YamlError(mark, absl::StrFormat("a control character (U+%04X), which YAML does not "
                                             "allow (write it as an escape in a quoted string)",
                                             c));
    }
    if (text[i] == '\n') {
      ++mark.line;
      mark.column = 0;
    } else {
      ++mark.column;
    }
    i += length;
  }
  return absl::OkStatus();
}

// Counts the documents the event parser reports, keeping where the second one's content starts
// (where its "---" is when it has none).
class DocumentCounter : public YAML::EventHandler {
 public:
  int count() const { return count_; }
  const YAML::Mark& second_start() const { return second_start_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++count_ == 2) second_start_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Content(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Content(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Content(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnMapEnd() override {}

 private:
  void Content(const YAML::Mark& mark) {
    if (count_ == 2 && !second_content_seen_) {
      second_start_ = mark;
      second_content_seen_ = true;
    }
  }

  int count_ = 0;
  YAML::Mark second_start_;
  bool second_content_seen_ = false;
};

}  // namespace

absl::StatusOr<Value> ParseYamlValue(absl::string_view text) {
  if (absl::Status utf8 = CheckUtf8(text); !utf8.ok()) return utf8;
  // The documents are counted by a pass of the event parser that stops at the second, then the
  // first is loaded. (YAML::LoadAll is not used: on some invalid text, e.g. a line starting
  // with ",", it yields empty documents without end.)
  YAML::Node document;
  try {
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    DocumentCounter counter;
    while (counter.count() < 2 && parser.HandleNextDocument(counter)) {
    }
    if (counter.count() == 0) {
      Value null;
      null.set_null_value(google::protobuf::NULL_VALUE);
      return null;
    }
    if (counter.count() > 1) {
      return YamlError(counter.second_start(),
                       "a second document: give one config (one document) per file");
    }
    document = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    return YamlError(e.mark, e.msg);
  } catch (const YAML::Exception& e) {
    return YamlError(e.mark, e.msg);
  }
  Converter converter;
  return converter.Convert(document, 0);
}

}  // namespace infrakit::common
