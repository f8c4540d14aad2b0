#include "plugins/instance/process/properties.h"

#include <signal.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace infrakit::plugins::instance::process {
namespace {

using google::protobuf::Value;

constexpr std::pair<const char*, int> kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM},
};

const char* KindName(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kNumberValue:
      return "number";
    case Value::kStringValue:
      return "string";
    case Value::kBoolValue:
      return "bool";
    case Value::kStructValue:
      return "object";
    case Value::kListValue:
      return "list";
    default:
      return "nothing";
  }
}

absl::Status WrongType(absl::string_view field, absl::string_view want, const Value& got) {
  return absl::InvalidArgumentError(
      absl::StrCat("properties.", field, ": must be ", want, ", got ", KindName(got)));
}

// POSIX portable environment names: letters, digits, underscore, not starting with a digit.
bool IsEnvName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

}  // namespace

ProcessProperties::ProcessProperties() : stop_signal(SIGTERM), stop_grace(absl::Seconds(10)) {}

absl::StatusOr<int> ParseSignalName(absl::string_view name) {
  absl::string_view bare = name;
  absl::ConsumePrefix(&bare, "SIG");
  std::vector<std::string> known;
  for (const auto& [signal_name, number] : kSignals) {
    if (bare == signal_name) return number;
    known.push_back(signal_name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown signal \"", name, "\" (one of ", absl::StrJoin(known, ", "), ")"));
}

absl::StatusOr<ProcessProperties> ParseProcessProperties(
    const google::protobuf::Struct& properties) {
  ProcessProperties parsed;
  // Sorted, so that the first error reported does not depend on map order.
  const std::map<std::string, Value> fields(properties.fields().begin(), properties.fields().end());
  for (const auto& [key, value] : fields) {
    if (key == "Command") {
      if (value.kind_case() != Value::kStringValue) return WrongType(key, "a string", value);
      parsed.command = value.string_value();
    } else if (key == "Dir") {
      if (value.kind_case() != Value::kStringValue) return WrongType(key, "a string", value);
      if (value.string_value().empty()) {
        return absl::InvalidArgumentError("properties.Dir: must not be empty");
      }
      parsed.dir = value.string_value();
    } else if (key == "Env") {
      if (value.kind_case() != Value::kStructValue) {
        return WrongType(key, "an object of strings", value);
      }
      const std::map<std::string, Value> vars(value.struct_value().fields().begin(),
                                              value.struct_value().fields().end());
      for (const auto& [name, var] : vars) {
        const std::string field = absl::StrCat("Env.", name);
        if (!IsEnvName(name)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "properties.", field,
              ": not a valid variable name (letters, digits, _; not starting with a digit)"));
        }
        if (absl::StartsWith(name, "INFRAKIT_")) {
          return absl::InvalidArgumentError(
              absl::StrCat("properties.", field, ": INFRAKIT_ variables are set by the plugin"));
        }
        if (var.kind_case() != Value::kStringValue) return WrongType(field, "a string", var);
        parsed.env[name] = var.string_value();
      }
    } else if (key == "StopSignal") {
      if (value.kind_case() != Value::kStringValue) return WrongType(key, "a string", value);
      absl::StatusOr<int> signal = ParseSignalName(value.string_value());
      if (!signal.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("properties.StopSignal: ", signal.status().message()));
      }
      parsed.stop_signal = *signal;
    } else if (key == "StopGraceSeconds") {
      if (value.kind_case() != Value::kNumberValue) return WrongType(key, "a number", value);
      const double seconds = value.number_value();
      if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxStopGraceSeconds) {
        return absl::InvalidArgumentError(
            absl::StrCat("properties.StopGraceSeconds: must be between 0 and ",
                         kMaxStopGraceSeconds, ", got ", seconds));
      }
      parsed.stop_grace = absl::Seconds(seconds);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "properties.", key,
          ": unknown property (known: Command, Dir, Env, StopSignal, StopGraceSeconds)"));
    }
  }
  return parsed;
}

}  // namespace infrakit::plugins::instance::process
