#include "common/config_text.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "common/json_object.h"
#include "common/yaml_value.h"

namespace infrakit::common {

ConfigFormat FormatForPath(absl::string_view path) {
  const size_t slash = path.rfind('/');
  const absl::string_view name = slash == absl::string_view::npos ? path : path.substr(slash + 1);
  if (absl::EndsWithIgnoreCase(name, ".json")) return ConfigFormat::kJson;
  if (absl::EndsWithIgnoreCase(name, ".yaml") || absl::EndsWithIgnoreCase(name, ".yml")) {
    return ConfigFormat::kYaml;
  }
  return ConfigFormat::kDetect;
}

ConfigFormat DetectFormat(absl::string_view text) {
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
  text = absl::StripLeadingAsciiWhitespace(text);
  if (text.empty() || text[0] == '{' || text[0] == '[') return ConfigFormat::kJson;
  return ConfigFormat::kYaml;
}

absl::StatusOr<google::protobuf::Value> ParseConfigValue(absl::string_view text,
                                                         ConfigFormat format) {
  // Editors on some systems start UTF-8 files with a byte order mark; it is not content.
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
  if (format == ConfigFormat::kDetect) format = DetectFormat(text);
  return format == ConfigFormat::kYaml ? ParseYamlValue(text) : ParseJsonValue(text);
}

}  // namespace infrakit::common
