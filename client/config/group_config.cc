#include "client/config/group_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/config_text.h"
#include "common/json_object.h"
#include "glog/logging.h"
#include "google/protobuf/struct.pb.h"
#include "spec/canonical_json.h"
#include "spec/group_spec.h"

namespace infrakit::client::config {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;
using infrakit::common::InvalidAt;
using infrakit::common::JsonIndexPath;
using infrakit::common::JsonKindName;
using infrakit::common::JsonPath;
using infrakit::flavor::v1::Allocation;
using infrakit::group::v1::FailureAction;
using infrakit::group::v1::GroupSpec;
using infrakit::group::v1::IntOrPercent;
using infrakit::group::v1::PluginSpec;
using infrakit::group::v1::RemediationPolicy;
using infrakit::group::v1::UpdatePolicy;
using infrakit::spec::JsonNumber;
using infrakit::spec::JsonString;

// Largest integer a JSON number (a double) carries exactly.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// The keys ConfigKeys() lists for the object at `section`. Only called with the paths listed
// there: another is a bug in this file.
const std::vector<std::string>& KeysOf(absl::string_view section) {
  for (const ConfigSection& s : ConfigKeys()) {
    if (s.path == section) return s.keys;
  }
  LOG(FATAL) << "no key list for config section \"" << section << "\"";
}

// ---------------------------------------------------------------------------------------------
// Reading the config.

// A JSON object seen through case-insensitive keys, with the path of the object for messages.
class ObjectView {
 public:
  struct Member {
    std::string key;  // As the user spelled it.
    const Value* value;
  };

  // Fails when two keys differ only in case: which one was meant is unclear.
  static absl::StatusOr<ObjectView> Of(const Struct& object, std::string path) {
    ObjectView view(std::move(path));
    bool all_lower = !object.fields().empty();
    for (const auto& [key, value] : object.fields()) {
      if (!key.empty() && absl::ascii_isupper(static_cast<unsigned char>(key.front()))) {
        all_lower = false;
      }
      auto [it, inserted] = view.members_.emplace(absl::AsciiStrToLower(key), Member{key, &value});
      if (!inserted) {
        // Report the pair in a stable order, whatever order the map iterates in.
        const std::string& a = std::min(key, it->second.key);
        const std::string& b = std::max(key, it->second.key);
        return InvalidAt(JsonPath(view.path_, b), absl::StrCat("duplicate of ", JsonString(a),
                                                               " (keys are case-insensitive)"));
      }
    }
    view.lower_style_ = all_lower;
    return view;
  }

  const Member* Find(absl::string_view lower_key) const {
    auto it = members_.find(std::string(lower_key));
    return it == members_.end() ? nullptr : &it->second;
  }

  // Fails on the first key (in sorted order, so the message is stable) that is not one of the
  // keys ConfigKeys() lists for the object at `section` (matched case-insensitively).
  absl::Status RejectUnknown(absl::string_view section) const {
    const std::vector<std::string>& known = KeysOf(section);
    for (const auto& [lower, member] : members_) {
      bool found = false;
      for (const std::string& k : known) found = found || absl::AsciiStrToLower(k) == lower;
      if (!found) {
        return InvalidAt(
            PathOf(member),
            absl::StrCat("unknown key (expected one of: ", absl::StrJoin(known, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  std::string PathOf(const Member& member) const { return JsonPath(path_, member.key); }

  // The path of a key that is missing, spelled like the object's other keys: "properties.size"
  // in a lower-case config, "Properties.Size" otherwise.
  std::string PathOfMissing(absl::string_view canonical) const {
    if (!lower_style_) return JsonPath(path_, canonical);
    std::string key(canonical);
    if (absl::AsciiStrToUpper(key) == key) return JsonPath(path_, absl::AsciiStrToLower(key));
    key[0] = absl::ascii_tolower(static_cast<unsigned char>(key[0]));
    return JsonPath(path_, key);
  }

  const std::string& path() const { return path_; }

 private:
  explicit ObjectView(std::string path) : path_(std::move(path)) {}

  std::string path_;
  bool lower_style_ = false;
  std::map<std::string, Member> members_;  // By lower-cased key.
};

using Member = ObjectView::Member;

absl::StatusOr<std::string> GetString(const ObjectView& view, const Member& m) {
  if (m.value->kind_case() != Value::kStringValue) {
    return InvalidAt(view.PathOf(m),
                     absl::StrCat("must be a string, got ", JsonKindName(*m.value)));
  }
  return m.value->string_value();
}

absl::StatusOr<const Struct*> GetObject(const std::string& path, const Value& value) {
  if (value.kind_case() != Value::kStructValue) {
    return InvalidAt(path, absl::StrCat("must be an object, got ", JsonKindName(value)));
  }
  return &value.struct_value();
}

// An object, or an empty one for null: plugin properties may be written "null" or left out.
absl::StatusOr<Struct> GetOpaqueObject(const std::string& path, const Value& value) {
  if (value.kind_case() == Value::kNullValue) return Struct();
  absl::StatusOr<const Struct*> object = GetObject(path, value);
  if (!object.ok()) return object.status();
  return **object;
}

absl::StatusOr<double> GetNumber(const std::string& path, const Value& value) {
  if (value.kind_case() != Value::kNumberValue) {
    return InvalidAt(path, absl::StrCat("must be a number, got ", JsonKindName(value)));
  }
  return value.number_value();
}

// An integer in [min, max].
absl::StatusOr<int64_t> GetInteger(const std::string& path, const Value& value, int64_t min,
                                   int64_t max) {
  if (value.kind_case() != Value::kNumberValue) {
    return InvalidAt(path, absl::StrCat("must be an integer, got ", JsonKindName(value)));
  }
  const double number = value.number_value();
  if (number != std::trunc(number) || std::fabs(number) > kMaxExactInteger) {
    return InvalidAt(path, absl::StrCat("must be an integer, got ", JsonNumber(number)));
  }
  if (number < static_cast<double>(min)) {
    return InvalidAt(path, absl::StrCat("must be >= ", min, ", got ", JsonNumber(number)));
  }
  if (number > static_cast<double>(max)) {
    return InvalidAt(path, absl::StrCat("must be <= ", max, ", got ", JsonNumber(number)));
  }
  return static_cast<int64_t>(number);
}

absl::StatusOr<bool> GetBool(const std::string& path, const Value& value) {
  if (value.kind_case() != Value::kBoolValue) {
    return InvalidAt(path, absl::StrCat("must be true or false, got ", JsonKindName(value)));
  }
  return value.bool_value();
}

// A plugin section, "Instance" or "Flavor", in the nested or the flat form.
absl::StatusOr<PluginSpec> ParseSection(const ObjectView& props, absl::string_view section) {
  const std::string lower = absl::AsciiStrToLower(section);
  const Member* nested = props.Find(lower);
  const Member* flat_plugin = props.Find(lower + "plugin");
  const Member* flat_props = props.Find(lower + "pluginproperties");
  PluginSpec spec;

  if (nested != nullptr) {
    const Member* flat = flat_plugin != nullptr ? flat_plugin : flat_props;
    if (flat != nullptr) {
      return InvalidAt(props.PathOf(*flat),
                       absl::StrCat("cannot be combined with ", props.PathOf(*nested),
                                    ": write the section in one form"));
    }
    const std::string path = props.PathOf(*nested);
    absl::StatusOr<const Struct*> object = GetObject(path, *nested->value);
    if (!object.ok()) return object.status();
    absl::StatusOr<ObjectView> view = ObjectView::Of(**object, path);
    if (!view.ok()) return view.status();
    if (absl::Status s = view->RejectUnknown(absl::StrCat("Properties.", section)); !s.ok()) {
      return s;
    }
    const Member* plugin = view->Find("plugin");
    if (plugin == nullptr) {
      return InvalidAt(view->PathOfMissing("Plugin"),
                       absl::StrCat("required: the name of the ", lower, " plugin"));
    }
    absl::StatusOr<std::string> name = GetString(*view, *plugin);
    if (!name.ok()) return name.status();
    if (absl::Status s = spec::ValidateName(view->PathOf(*plugin), *name); !s.ok()) return s;
    spec.set_plugin(*std::move(name));
    Struct properties;
    if (const Member* p = view->Find("properties"); p != nullptr) {
      absl::StatusOr<Struct> object = GetOpaqueObject(view->PathOf(*p), *p->value);
      if (!object.ok()) return object.status();
      properties = *std::move(object);
    }
    *spec.mutable_properties() = std::move(properties);
    return spec;
  }

  if (flat_plugin == nullptr && flat_props != nullptr) {
    return InvalidAt(props.PathOfMissing(absl::StrCat(section, "Plugin")),
                     absl::StrCat("required beside ", props.PathOf(*flat_props),
                                  ": the name of the ", lower, " plugin"));
  }
  if (flat_plugin == nullptr) {
    return InvalidAt(props.PathOfMissing(section),
                     absl::StrCat("required: the ", lower, " plugin (", section,
                                  ": {\"Plugin\": ..., ", "\"Properties\": {...}}, or ", section,
                                  "Plugin and ", section, "PluginProperties)"));
  }
  absl::StatusOr<std::string> name = GetString(props, *flat_plugin);
  if (!name.ok()) return name.status();
  if (absl::Status s = spec::ValidateName(props.PathOf(*flat_plugin), *name); !s.ok()) return s;
  spec.set_plugin(*std::move(name));
  Struct properties;
  if (flat_props != nullptr) {
    absl::StatusOr<Struct> object = GetOpaqueObject(props.PathOf(*flat_props), *flat_props->value);
    if (!object.ok()) return object.status();
    properties = *std::move(object);
  }
  *spec.mutable_properties() = std::move(properties);
  return spec;
}

// One place the allocation was given: its path and value.
struct AllocationSource {
  std::string path;
  bool is_size;  // Size, else logical IDs.
  Value value;
};

absl::StatusOr<std::vector<std::string>> GetLogicalIds(const std::string& path,
                                                       const Value& value) {
  if (value.kind_case() != Value::kListValue) {
    return InvalidAt(path, absl::StrCat("must be an array of strings, got ", JsonKindName(value)));
  }
  std::vector<std::string> ids;
  ids.reserve(value.list_value().values_size());
  for (int i = 0; i < value.list_value().values_size(); ++i) {
    const Value& element = value.list_value().values(i);
    if (element.kind_case() != Value::kStringValue) {
      return InvalidAt(JsonIndexPath(path, i),
                       absl::StrCat("must be a string, got ", JsonKindName(element)));
    }
    ids.push_back(element.string_value());
  }
  if (absl::Status s =
          spec::ValidateLogicalIds(ids, [&](size_t i) { return JsonIndexPath(path, i); });
      !s.ok()) {
    return s;
  }
  return ids;
}

// Collects Size / LogicalIDs / IPs from the keys of `view` (the group's properties, or their
// Allocation object).
void CollectAllocationKeys(const ObjectView& view, std::vector<AllocationSource>* sources) {
  for (absl::string_view key : {"size", "logicalids", "ips"}) {
    const Member* m = view.Find(key);
    if (m != nullptr)
      sources->push_back(AllocationSource{view.PathOf(*m), key == "size", *m->value});
  }
}

// Collects Size / LogicalIDs / IPs from the group's properties: the flat keys, then the original
// InfraKit's "Allocation": {"Size": N} or {"LogicalIDs": [...]}.
absl::Status CollectAllocation(const ObjectView& props, std::vector<AllocationSource>* sources) {
  CollectAllocationKeys(props, sources);
  const Member* allocation = props.Find("allocation");
  if (allocation == nullptr) return absl::OkStatus();
  const std::string path = props.PathOf(*allocation);
  absl::StatusOr<const Struct*> object = GetObject(path, *allocation->value);
  if (!object.ok()) return object.status();
  absl::StatusOr<ObjectView> view = ObjectView::Of(**object, path);
  if (!view.ok()) return view.status();
  if (absl::Status s = view->RejectUnknown("Properties.Allocation"); !s.ok()) return s;
  const size_t before = sources->size();
  CollectAllocationKeys(*view, sources);
  if (sources->size() == before) {
    return InvalidAt(path, "must give Size (cattle) or LogicalIDs (pets)");
  }
  return absl::OkStatus();
}

// Collects Size / LogicalIDs / IPs from the flavor's properties, whose other keys are opaque
// (there "Foo" and "foo" may well both be meant). `lifted` receives the keys as spelled, so
// that the caller can remove them.
absl::Status CollectFlavorAllocation(const Struct& properties, const std::string& path,
                                     std::vector<AllocationSource>* sources,
                                     std::vector<std::string>* lifted) {
  std::map<std::string, const std::string*> found;  // Lower-cased -> as spelled.
  for (const auto& [key, value] : properties.fields()) {
    std::string lower = absl::AsciiStrToLower(key);
    if (!spec::IsAllocationKey(lower)) continue;
    auto [it, inserted] = found.emplace(std::move(lower), &key);
    if (!inserted) {
      const std::string& a = std::min(key, *it->second);
      const std::string& b = std::max(key, *it->second);
      return InvalidAt(JsonPath(path, b), absl::StrCat("duplicate of ", JsonString(a),
                                                       " (keys are case-insensitive)"));
    }
  }
  for (absl::string_view key : {"size", "logicalids", "ips"}) {
    auto it = found.find(std::string(key));
    if (it == found.end()) continue;
    const std::string& spelled = *it->second;
    sources->push_back(
        AllocationSource{JsonPath(path, spelled), key == "size", properties.fields().at(spelled)});
    lifted->push_back(spelled);
  }
  return absl::OkStatus();
}

absl::StatusOr<Allocation> ParseAllocation(const ObjectView& props, PluginSpec* flavor,
                                           const std::string& flavor_props_path) {
  std::vector<AllocationSource> sources;
  if (absl::Status s = CollectAllocation(props, &sources); !s.ok()) return s;
  std::vector<std::string> lifted;
  if (absl::Status s =
          CollectFlavorAllocation(flavor->properties(), flavor_props_path, &sources, &lifted);
      !s.ok()) {
    return s;
  }

  if (sources.empty()) {
    return InvalidAt(
        props.PathOfMissing("Size"),
        absl::StrCat("required: give Size (cattle) or LogicalIDs (pets), in ", props.path(),
                     ", in its Allocation or in the flavor's properties"));
  }
  if (sources.size() > 1) {
    const AllocationSource& first = sources[0];
    const AllocationSource& second = sources[1];
    if (first.is_size && second.is_size) {
      return InvalidAt(second.path,
                       absl::StrCat("the size is given twice (also at ", first.path, ")"));
    }
    if (!first.is_size && !second.is_size) {
      return InvalidAt(second.path,
                       absl::StrCat("the logical IDs are given twice (also at ", first.path, ")"));
    }
    return InvalidAt(second.path,
                     absl::StrCat("cannot be combined with ", first.path,
                                  ": a group has either a size (cattle) or logical IDs (pets)"));
  }

  Allocation allocation;
  const AllocationSource& source = sources[0];
  if (source.is_size) {
    absl::StatusOr<int64_t> size =
        GetInteger(source.path, source.value, 0, static_cast<int64_t>(kMaxExactInteger));
    if (!size.ok()) return size.status();
    allocation.set_size(*size);
  } else {
    absl::StatusOr<std::vector<std::string>> ids = GetLogicalIds(source.path, source.value);
    if (!ids.ok()) return ids.status();
    auto* out = allocation.mutable_logical_ids()->mutable_ids();
    for (std::string& id : *ids) out->Add(std::move(id));
  }
  for (const std::string& key : lifted) flavor->mutable_properties()->mutable_fields()->erase(key);
  return allocation;
}

// A count (1) or a percentage ("25%").
absl::StatusOr<IntOrPercent> ParseIntOrPercent(const std::string& path, const Value& value) {
  IntOrPercent out;
  if (value.kind_case() == Value::kNumberValue) {
    absl::StatusOr<int64_t> count = GetInteger(path, value, 0, INT32_MAX);
    if (!count.ok()) return count.status();
    out.set_count(static_cast<int32_t>(*count));
    return out;
  }
  const std::string problem =
      "must be a count (e.g. 1) or a percentage (e.g. \"25%\") between 0% and 100%, got ";
  if (value.kind_case() != Value::kStringValue) {
    return InvalidAt(path, absl::StrCat(problem, JsonKindName(value)));
  }
  absl::string_view text = absl::StripAsciiWhitespace(value.string_value());
  int32_t percent = 0;
  if (!absl::ConsumeSuffix(&text, "%") || text.empty() ||
      text.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(text, &percent) || percent > 100) {
    return InvalidAt(path, absl::StrCat(problem, JsonString(value.string_value())));
  }
  out.set_percent(percent);
  return out;
}

absl::StatusOr<UpdatePolicy> ParseUpdate(const ObjectView& props, const Member& member) {
  const std::string path = props.PathOf(member);
  absl::StatusOr<const Struct*> object = GetObject(path, *member.value);
  if (!object.ok()) return object.status();
  absl::StatusOr<ObjectView> view = ObjectView::Of(**object, path);
  if (!view.ok()) return view.status();
  if (absl::Status s = view->RejectUnknown("Properties.Update"); !s.ok()) return s;
  UpdatePolicy policy;
  if (const Member* m = view->Find("maxsurge"); m != nullptr) {
    absl::StatusOr<IntOrPercent> v = ParseIntOrPercent(view->PathOf(*m), *m->value);
    if (!v.ok()) return v.status();
    *policy.mutable_max_surge() = *v;
  }
  if (const Member* m = view->Find("maxunavailable"); m != nullptr) {
    absl::StatusOr<IntOrPercent> v = ParseIntOrPercent(view->PathOf(*m), *m->value);
    if (!v.ok()) return v.status();
    *policy.mutable_max_unavailable() = *v;
  }
  if (const Member* m = view->Find("minreadyseconds"); m != nullptr) {
    absl::StatusOr<double> v = GetNumber(view->PathOf(*m), *m->value);
    if (!v.ok()) return v.status();
    if (*v < 0)
      return InvalidAt(view->PathOf(*m), absl::StrCat("must be >= 0, got ", JsonNumber(*v)));
    policy.set_min_ready_seconds(*v);
  }
  if (const Member* m = view->Find("healthdeadlineseconds"); m != nullptr) {
    absl::StatusOr<double> v = GetNumber(view->PathOf(*m), *m->value);
    if (!v.ok()) return v.status();
    // 0 would read as "not set" (the 300 s default) in the spec: refuse it rather than
    // silently turn it into 300.
    if (*v <= 0)
      return InvalidAt(view->PathOf(*m), absl::StrCat("must be > 0, got ", JsonNumber(*v)));
    policy.set_health_deadline_seconds(*v);
  }
  if (const Member* m = view->Find("onfailure"); m != nullptr) {
    absl::StatusOr<std::string> v = GetString(*view, *m);
    if (!v.ok()) return v.status();
    const std::string action = absl::AsciiStrToLower(*v);
    if (action == "pause") {
      policy.set_on_failure(infrakit::group::v1::FAILURE_ACTION_PAUSE);
    } else if (action == "rollback") {
      policy.set_on_failure(infrakit::group::v1::FAILURE_ACTION_ROLLBACK);
    } else {
      return InvalidAt(view->PathOf(*m),
                       absl::StrCat("must be \"pause\" or \"rollback\", got ", JsonString(*v)));
    }
  }
  return policy;
}

// Where the flavor's properties were written (or would be), for messages about keys lifted out
// of them. Call once the flavor section has parsed.
std::string FlavorPropertiesPath(const ObjectView& props) {
  if (const Member* nested = props.Find("flavor"); nested != nullptr) {
    const std::string nested_path = props.PathOf(*nested);
    absl::StatusOr<ObjectView> view = ObjectView::Of(nested->value->struct_value(), nested_path);
    const Member* p = view.ok() ? view->Find("properties") : nullptr;
    return p != nullptr ? view->PathOf(*p) : JsonPath(nested_path, "Properties");
  }
  const Member* p = props.Find("flavorpluginproperties");
  return p != nullptr ? props.PathOf(*p) : props.PathOfMissing("FlavorPluginProperties");
}

absl::StatusOr<RemediationPolicy> ParseRemediation(const ObjectView& props, const Member& member) {
  const std::string path = props.PathOf(member);
  absl::StatusOr<const Struct*> object = GetObject(path, *member.value);
  if (!object.ok()) return object.status();
  absl::StatusOr<ObjectView> view = ObjectView::Of(**object, path);
  if (!view.ok()) return view.status();
  if (absl::Status s = view->RejectUnknown("Properties.Remediation"); !s.ok()) return s;
  RemediationPolicy policy;
  if (const Member* m = view->Find("enabled"); m != nullptr) {
    absl::StatusOr<bool> v = GetBool(view->PathOf(*m), *m->value);
    if (!v.ok()) return v.status();
    policy.set_enabled(*v);
  }
  // Durations: 0 would read as "not set" (the default) in the spec, so it is refused rather
  // than silently turned into the default.
  for (const auto& [key, setter] :
       {std::pair<absl::string_view, void (RemediationPolicy::*)(double)>{
            "unhealthyseconds", &RemediationPolicy::set_unhealthy_seconds},
        {"initialdelayseconds", &RemediationPolicy::set_initial_delay_seconds},
        {"probeintervalseconds", &RemediationPolicy::set_probe_interval_seconds}}) {
    const Member* m = view->Find(key);
    if (m == nullptr) continue;
    absl::StatusOr<double> v = GetNumber(view->PathOf(*m), *m->value);
    if (!v.ok()) return v.status();
    if (*v <= 0)
      return InvalidAt(view->PathOf(*m), absl::StrCat("must be > 0, got ", JsonNumber(*v)));
    (policy.*setter)(*v);
  }
  if (const Member* m = view->Find("maxconcurrent"); m != nullptr) {
    absl::StatusOr<int64_t> v = GetInteger(view->PathOf(*m), *m->value, 1, INT32_MAX);
    if (!v.ok()) return v.status();
    policy.set_max_concurrent(static_cast<int32_t>(*v));
  }
  if (const Member* m = view->Find("maxunhealthypercent"); m != nullptr) {
    absl::StatusOr<int64_t> v = GetInteger(view->PathOf(*m), *m->value, 1, 100);
    if (!v.ok()) return v.status();
    policy.set_max_unhealthy_percent(static_cast<int32_t>(*v));
  }
  return policy;
}

}  // namespace

const std::vector<ConfigSection>& ConfigKeys() {
  // The allocation keys of "Properties" are also those lifted out of the flavor's properties
  // (spec::IsAllocationKey).
  static const auto* const kSections = new std::vector<ConfigSection>{
      {"", {"ID", "Plugin", "Properties"}},
      {"Properties",
       {"Instance", "Flavor", "InstancePlugin", "InstancePluginProperties", "FlavorPlugin",
        "FlavorPluginProperties", "Size", "LogicalIDs", "IPs", "Allocation", "Update",
        "Remediation"}},
      {"Properties.Allocation", {"Size", "LogicalIDs", "IPs"}},
      {"Properties.Instance", {"Plugin", "Properties"}},
      {"Properties.Flavor", {"Plugin", "Properties"}},
      {"Properties.Update",
       {"MaxSurge", "MaxUnavailable", "MinReadySeconds", "HealthDeadlineSeconds", "OnFailure"}},
      {"Properties.Remediation",
       {"Enabled", "UnhealthySeconds", "MaxConcurrent", "MaxUnhealthyPercent",
        "InitialDelaySeconds", "ProbeIntervalSeconds"}},
  };
  return *kSections;
}

absl::StatusOr<ParsedConfig> ParseConfig(absl::string_view text, common::ConfigFormat format) {
  absl::StatusOr<Value> root = common::ParseConfigValue(text, format);
  if (!root.ok()) return InvalidAt("config", root.status().message());
  absl::StatusOr<const Struct*> top_object = GetObject("config", *root);
  if (!top_object.ok()) return top_object.status();
  absl::StatusOr<ObjectView> top = ObjectView::Of(**top_object, "");
  if (!top.ok()) return top.status();
  if (absl::Status s = top->RejectUnknown(""); !s.ok()) return s;

  ParsedConfig config;
  const Member* id = top->Find("id");
  if (id == nullptr) return InvalidAt(top->PathOfMissing("ID"), "required: the group's ID");
  absl::StatusOr<std::string> id_value = GetString(*top, *id);
  if (!id_value.ok()) return id_value.status();
  if (absl::Status s = spec::ValidateName(top->PathOf(*id), *id_value); !s.ok()) return s;
  config.spec.set_id(*std::move(id_value));

  if (const Member* plugin = top->Find("plugin"); plugin != nullptr) {
    absl::StatusOr<std::string> name = GetString(*top, *plugin);
    if (!name.ok()) return name.status();
    if (absl::Status s = spec::ValidateName(top->PathOf(*plugin), *name); !s.ok()) return s;
    config.group_plugin = *std::move(name);
  }

  const Member* properties = top->Find("properties");
  if (properties == nullptr) {
    return InvalidAt(top->PathOfMissing("Properties"),
                     "required: the group's properties (Instance, Flavor, Size or LogicalIDs)");
  }
  const std::string props_path = top->PathOf(*properties);
  absl::StatusOr<const Struct*> props_object = GetObject(props_path, *properties->value);
  if (!props_object.ok()) return props_object.status();
  absl::StatusOr<ObjectView> props = ObjectView::Of(**props_object, props_path);
  if (!props.ok()) return props.status();
  if (absl::Status s = props->RejectUnknown("Properties"); !s.ok()) return s;

  absl::StatusOr<PluginSpec> instance = ParseSection(*props, "Instance");
  if (!instance.ok()) return instance.status();
  absl::StatusOr<PluginSpec> flavor = ParseSection(*props, "Flavor");
  if (!flavor.ok()) return flavor.status();

  absl::StatusOr<Allocation> allocation =
      ParseAllocation(*props, &*flavor, FlavorPropertiesPath(*props));
  if (!allocation.ok()) return allocation.status();

  *config.spec.mutable_instance() = *std::move(instance);
  *config.spec.mutable_flavor() = *std::move(flavor);
  *config.spec.mutable_allocation() = *std::move(allocation);

  if (const Member* update = props->Find("update"); update != nullptr) {
    absl::StatusOr<UpdatePolicy> policy = ParseUpdate(*props, *update);
    if (!policy.ok()) return policy.status();
    if (spec::UpdateCannotReplace(*policy, config.spec.allocation())) {
      return InvalidAt(props->PathOf(*update),
                       "MaxSurge and MaxUnavailable cannot both be 0: the update could never "
                       "replace a member");
    }
    *config.spec.mutable_update_policy() = *std::move(policy);
  }
  if (const Member* remediation = props->Find("remediation"); remediation != nullptr) {
    absl::StatusOr<RemediationPolicy> policy = ParseRemediation(*props, *remediation);
    if (!policy.ok()) return policy.status();
    *config.spec.mutable_remediation() = *std::move(policy);
  }

  // The parser checked everything with the user's names; this is the same rule set the group
  // service applies, so a config that passes here is never refused there.
  if (absl::Status s = spec::ValidateGroupSpec(config.spec); !s.ok()) return s;
  return config;
}

absl::StatusOr<GroupSpec> ParseGroupConfig(absl::string_view text, common::ConfigFormat format) {
  absl::StatusOr<ParsedConfig> config = ParseConfig(text, format);
  if (!config.ok()) return config.status();
  return std::move(config->spec);
}

absl::StatusOr<ParsedConfig> ParseConfigFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    const std::string message = absl::StrCat(path, ": ", std::strerror(error));
    if (error == ENOENT || error == ENOTDIR) return absl::NotFoundError(message);
    if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
    return absl::FailedPreconditionError(message);
  }
  std::string text;
  absl::Status status;
  struct stat info;
  if (fstat(fd, &info) != 0) {
    status = absl::FailedPreconditionError(absl::StrCat(path, ": ", std::strerror(errno)));
  } else if (S_ISDIR(info.st_mode)) {
    status = absl::FailedPreconditionError(absl::StrCat(path, ": is a directory, not a file"));
  } else {
    char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n > 0) {
        text.append(buffer, static_cast<size_t>(n));
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        status = absl::FailedPreconditionError(
            absl::StrCat(path, ": read failed: ", std::strerror(errno)));
        break;
      }
    }
  }
  close(fd);
  if (!status.ok()) return status;
  absl::StatusOr<ParsedConfig> config = ParseConfig(text, common::FormatForPath(path));
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace infrakit::client::config
