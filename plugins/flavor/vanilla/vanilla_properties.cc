#include "plugins/flavor/vanilla/vanilla_properties.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "plugins/flavor/vanilla/health_probe.h"

namespace infrakit::plugins::flavor::vanilla {
namespace {

using ::google::protobuf::Value;

constexpr double kMaxTimeoutSeconds = 3600;

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// The keys VanillaPropertyKeys() lists for `section`. Only called with the sections listed
// there: another is a bug in this file.
const std::vector<std::string>& KeysOf(absl::string_view section) {
  for (const PropertySection& s : VanillaPropertyKeys()) {
    if (s.path == section) return s.keys;
  }
  std::abort();
}

// The documented spelling of `key` among `known`, or nullptr.
const std::string* Canonical(const std::string& key, const std::vector<std::string>& known) {
  for (const std::string& k : known) {
    if (absl::EqualsIgnoreCase(key, k)) return &k;
  }
  return nullptr;
}

// The fields of `object` by documented key (the keys of `section`), sorted for stable error
// messages. Unknown keys and keys given twice in different case are errors.
absl::StatusOr<std::map<std::string, const Value*>> Fields(const google::protobuf::Struct& object,
                                                           absl::string_view section,
                                                           absl::string_view prefix) {
  const std::vector<std::string>& known = KeysOf(section);
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.fields()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  std::map<std::string, const Value*> out;
  for (const std::string& key : keys) {
    const std::string* canonical = Canonical(key, known);
    if (canonical == nullptr) {
      return Invalid(absl::StrCat(prefix, key),
                     absl::StrCat("unknown key (want one of ", absl::StrJoin(known, ", "), ")"));
    }
    if (!out.emplace(*canonical, &object.fields().at(key)).second) {
      return Invalid(absl::StrCat(prefix, *canonical), "given twice (keys are case-insensitive)");
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> StringList(const Value& value, absl::string_view field) {
  if (value.kind_case() != Value::kListValue) return Invalid(field, "want a list of strings");
  std::vector<std::string> out;
  for (int i = 0; i < value.list_value().values_size(); ++i) {
    const Value& item = value.list_value().values(i);
    if (item.kind_case() != Value::kStringValue) {
      return Invalid(absl::StrCat(field, "[", i, "]"), "want a string");
    }
    out.push_back(item.string_value());
  }
  return out;
}

absl::Status StringMap(const Value& value, absl::string_view field,
                       std::map<std::string, std::string>* out) {
  if (value.kind_case() != Value::kStructValue) {
    return Invalid(field, "want an object of strings");
  }
  for (const auto& [key, item] : value.struct_value().fields()) {
    if (key.empty()) return Invalid(field, "empty tag name");
    if (item.kind_case() != Value::kStringValue) {
      return Invalid(absl::StrCat(field, ".", key), "want a string");
    }
    (*out)[key] = item.string_value();
  }
  return absl::OkStatus();
}

absl::Status ParseAttachments(const Value& value,
                              std::vector<::infrakit::instance::v1::Attachment>* out) {
  if (value.kind_case() != Value::kListValue) {
    return Invalid("Attachments", "want a list of {\"ID\", \"Type\"}");
  }
  for (int i = 0; i < value.list_value().values_size(); ++i) {
    const Value& item = value.list_value().values(i);
    const std::string where = absl::StrCat("Attachments[", i, "]");
    if (item.kind_case() != Value::kStructValue) return Invalid(where, "want an object");
    auto fields = Fields(item.struct_value(), "Attachments", where + ".");
    if (!fields.ok()) return fields.status();
    ::infrakit::instance::v1::Attachment attachment;
    for (const auto& [key, field] : *fields) {
      if (field->kind_case() != Value::kStringValue) {
        return Invalid(absl::StrCat(where, ".", key), "want a string");
      }
      if (key == "ID") {
        attachment.set_id(field->string_value());
      } else {
        attachment.set_type(field->string_value());
      }
    }
    if (attachment.id().empty()) return Invalid(absl::StrCat(where, ".ID"), "missing");
    out->push_back(std::move(attachment));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ParseSize(const Value& value) {
  if (value.kind_case() != Value::kNumberValue) return Invalid("Size", "want a number");
  const double size = value.number_value();
  if (!(size >= 0) || size > 1e9 || std::floor(size) != size) {
    return Invalid("Size", absl::StrCat(size, " is not a whole number of members >= 0"));
  }
  return static_cast<int64_t>(size);
}

absl::StatusOr<std::vector<std::string>> ParseLogicalIds(const Value& value) {
  auto ids = StringList(value, "LogicalIDs");
  if (!ids.ok()) return ids.status();
  std::set<std::string> seen;
  for (size_t i = 0; i < ids->size(); ++i) {
    if ((*ids)[i].empty()) return Invalid(absl::StrCat("LogicalIDs[", i, "]"), "empty");
    if (!seen.insert((*ids)[i]).second) {
      return Invalid(absl::StrCat("LogicalIDs[", i, "]"),
                     absl::StrCat("\"", (*ids)[i], "\" given twice"));
    }
  }
  return ids;
}

absl::Status CheckHttpUrl(absl::string_view url) {
  absl::string_view rest;
  const std::string lower = absl::AsciiStrToLower(url.substr(0, 8));
  if (absl::StartsWith(lower, "http://")) {
    rest = url.substr(7);
  } else if (absl::StartsWith(lower, "https://")) {
    rest = url.substr(8);
  } else {
    return Invalid("HealthCheck.HTTP",
                   absl::StrCat("\"", url, "\" is not an http:// or https:// URL"));
  }
  const absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) {
    return Invalid("HealthCheck.HTTP", absl::StrCat("\"", url, "\" has no host"));
  }
  if (authority.find_first_of(" \t\r\n") != absl::string_view::npos) {
    return Invalid("HealthCheck.HTTP", absl::StrCat("\"", url, "\" has a blank in its host"));
  }
  return absl::OkStatus();
}

absl::StatusOr<HealthCheck> ParseHealthCheck(const Value& value) {
  if (value.kind_case() != Value::kStructValue) {
    return Invalid("HealthCheck", "want an object with one of Command, TCP, HTTP");
  }
  auto fields = Fields(value.struct_value(), "HealthCheck", "HealthCheck.");
  if (!fields.ok()) return fields.status();
  HealthCheck check;
  int probes = 0;
  for (const auto& [key, field] : *fields) {
    const std::string name = absl::StrCat("HealthCheck.", key);
    if (key == "TimeoutSeconds") {
      if (field->kind_case() != Value::kNumberValue) return Invalid(name, "want a number");
      const double seconds = field->number_value();
      if (!(seconds > 0) || seconds > kMaxTimeoutSeconds) {
        return Invalid(name, absl::StrCat(seconds, " is not in (0, ", kMaxTimeoutSeconds, "]"));
      }
      check.timeout = absl::Seconds(seconds);
      continue;
    }
    ++probes;
    if (field->kind_case() != Value::kStringValue || field->string_value().empty()) {
      return Invalid(name, "want a non-empty string");
    }
    check.target = field->string_value();
    if (key == "Command") {
      check.kind = HealthCheck::Kind::kCommand;
      continue;
    }
    // Check the shape with stand-in values for the placeholders.
    auto expanded = ExpandPlaceholders(check.target, "instance-0", "127.0.0.1");
    if (!expanded.ok()) return Invalid(name, expanded.status().message());
    if (key == "TCP") {
      check.kind = HealthCheck::Kind::kTcp;
      auto host_port = SplitHostPort(*expanded);
      if (!host_port.ok()) return Invalid(name, host_port.status().message());
    } else {
      check.kind = HealthCheck::Kind::kHttp;
      if (absl::Status s = CheckHttpUrl(*expanded); !s.ok()) return s;
    }
  }
  if (probes != 1) {
    return Invalid("HealthCheck",
                   absl::StrCat("want exactly one of Command, TCP, HTTP; got ", probes));
  }
  return check;
}

}  // namespace

const std::vector<PropertySection>& VanillaPropertyKeys() {
  static const auto* const kSections = new std::vector<PropertySection>{
      {"",
       {"UserData", "Init", "Labels", "Tags", "Attachments", "Size", "LogicalIDs", "HealthCheck"}},
      {"HealthCheck", {"Command", "TCP", "HTTP", "TimeoutSeconds"}},
      {"Attachments", {"ID", "Type"}},
  };
  return *kSections;
}

absl::StatusOr<VanillaProperties> ParseVanillaProperties(
    const google::protobuf::Struct& properties) {
  auto fields = Fields(properties, "", "");
  if (!fields.ok()) return fields.status();
  if (fields->count("UserData") && fields->count("Init")) {
    return Invalid("Init", "UserData is given too; they are synonyms, give one");
  }
  if (fields->count("Labels") && fields->count("Tags")) {
    return Invalid("Tags", "Labels is given too; they are synonyms, give one");
  }
  VanillaProperties out;
  for (const auto& [key, value] : *fields) {
    if (key == "UserData" || key == "Init") {
      auto lines = StringList(*value, key);
      if (!lines.ok()) return lines.status();
      out.init_lines = *std::move(lines);
    } else if (key == "Labels" || key == "Tags") {
      if (absl::Status s = StringMap(*value, key, &out.tags); !s.ok()) return s;
    } else if (key == "Attachments") {
      if (absl::Status s = ParseAttachments(*value, &out.attachments); !s.ok()) return s;
    } else if (key == "Size") {
      auto size = ParseSize(*value);
      if (!size.ok()) return size.status();
      out.size = *size;
    } else if (key == "LogicalIDs") {
      auto ids = ParseLogicalIds(*value);
      if (!ids.ok()) return ids.status();
      out.logical_ids = *std::move(ids);
    } else if (key == "HealthCheck") {
      auto check = ParseHealthCheck(*value);
      if (!check.ok()) return check.status();
      out.health_check = *std::move(check);
    }
  }
  return out;
}

absl::Status CheckAllocation(const VanillaProperties& properties,
                             const ::infrakit::flavor::v1::Allocation& allocation) {
  using ::infrakit::flavor::v1::Allocation;
  switch (allocation.kind_case()) {
    case Allocation::kSize:
      if (properties.size && *properties.size != allocation.size()) {
        return Invalid("Size", absl::StrCat(*properties.size, " does not match the group's size ",
                                            allocation.size()));
      }
      if (properties.logical_ids) {
        return Invalid("LogicalIDs", absl::StrCat("given, but the group has a size (",
                                                  allocation.size(), "), not logical IDs"));
      }
      return absl::OkStatus();
    case Allocation::kLogicalIds: {
      const auto& ids = allocation.logical_ids().ids();
      if (properties.size && *properties.size != ids.size()) {
        return Invalid("Size", absl::StrCat(*properties.size, " does not match the group's ",
                                            ids.size(), " logical IDs"));
      }
      if (properties.logical_ids) {
        const std::set<std::string> mine(properties.logical_ids->begin(),
                                         properties.logical_ids->end());
        const std::set<std::string> theirs(ids.begin(), ids.end());
        if (mine != theirs) {
          return Invalid("LogicalIDs", absl::StrCat("[", absl::StrJoin(mine, ", "),
                                                    "] do not match the group's logical IDs [",
                                                    absl::StrJoin(theirs, ", "), "]"));
        }
      }
      return absl::OkStatus();
    }
    case Allocation::KIND_NOT_SET:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ExpandPlaceholders(absl::string_view text, absl::string_view id,
                                               absl::string_view logical_id) {
  std::string out;
  while (true) {
    const size_t open = text.find("{{");
    if (open == absl::string_view::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unclosed placeholder in \"", text, "\""));
    }
    const absl::string_view name =
        absl::StripAsciiWhitespace(text.substr(open + 2, close - open - 2));
    absl::StrAppend(&out, text.substr(0, open));
    if (name == ".LogicalID") {
      if (logical_id.empty()) {
        return absl::FailedPreconditionError(
            "the address uses {{.LogicalID}} and the instance has no logical ID");
      }
      absl::StrAppend(&out, logical_id);
    } else if (name == ".ID") {
      if (id.empty()) {
        return absl::FailedPreconditionError("the address uses {{.ID}} and the instance has no ID");
      }
      absl::StrAppend(&out, id);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown placeholder {{", name, "}} (want {{.LogicalID}} or {{.ID}})"));
    }
    text.remove_prefix(close + 2);
  }
  absl::StrAppend(&out, text);
  return out;
}

}  // namespace infrakit::plugins::flavor::vanilla
