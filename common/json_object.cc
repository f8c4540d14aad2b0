#include "common/json_object.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"

namespace infrakit::common {

using google::protobuf::Struct;
using google::protobuf::Value;

absl::StatusOr<Value> ParseJsonValue(absl::string_view text) {
  Value value;
  // Protobuf 3.21 has its own string_view type: bridge by pointer and size.
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &value);
  if (!status.ok()) {
    const absl::string_view error(status.message().data(), status.message().size());
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON: ", DescribeJsonSyntaxError(text, error)));
  }
  return value;
}

std::string DescribeJsonSyntaxError(absl::string_view text, absl::string_view error) {
  const size_t first_newline = error.find('\n');
  const size_t last_newline = error.rfind('\n');
  if (first_newline == absl::string_view::npos || first_newline == last_newline) {
    return std::string(error);
  }
  const absl::string_view what = error.substr(0, first_newline);
  const absl::string_view excerpt =
      error.substr(first_newline + 1, last_newline - first_newline - 1);
  const absl::string_view caret = error.substr(last_newline + 1);
  const size_t column_in_excerpt = caret.find('^');
  const size_t at = text.find(excerpt);
  if (excerpt.empty() || column_in_excerpt == absl::string_view::npos ||
      at == absl::string_view::npos || text.find(excerpt, at + 1) != absl::string_view::npos) {
    return std::string(what);
  }
  const size_t offset = std::min(at + column_in_excerpt, text.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::StrCat(absl::StripSuffix(what, "."), " at line ", line, ", column ",
                      offset - line_start + 1);
}

const char* JsonKindName(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNumberValue:
      return "a number";
    case Value::kStringValue:
      return "a string";
    case Value::kBoolValue:
      return "a boolean";
    case Value::kStructValue:
      return "an object";
    case Value::kListValue:
      return "an array";
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      return "null";
  }
  return "null";
}

std::vector<JsonMember> SortedMembers(const Struct& object) {
  std::vector<JsonMember> members;
  members.reserve(object.fields().size());
  for (const auto& [key, value] : object.fields()) members.push_back(JsonMember{&key, &value});
  std::sort(members.begin(), members.end(),
            [](const JsonMember& a, const JsonMember& b) { return *a.key < *b.key; });
  return members;
}

std::string JsonPath(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string JsonIndexPath(absl::string_view path, size_t index) {
  return absl::StrCat(path, "[", index, "]");
}

absl::Status InvalidAt(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(path.empty() ? std::string(problem)
                                                 : absl::StrCat(path, ": ", problem));
}

}  // namespace infrakit::common
