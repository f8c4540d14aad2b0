#include "plugins/flavor/zookeeper/zookeeper_properties.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

using ::google::protobuf::Value;

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// The fields of `properties` by documented key, sorted for stable error messages. Unknown keys
// and keys given twice in different case are errors.
absl::StatusOr<std::map<std::string, const Value*>> Fields(
    const google::protobuf::Struct& properties) {
  const std::vector<std::string>& known = ZookeeperPropertyKeys();
  std::vector<std::string> keys;
  for (const auto& [key, value] : properties.fields()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  std::map<std::string, const Value*> out;
  for (const std::string& key : keys) {
    auto canonical = std::find_if(known.begin(), known.end(), [&key](const std::string& k) {
      return absl::EqualsIgnoreCase(key, k);
    });
    if (canonical == known.end()) {
      return Invalid(key,
                     absl::StrCat("unknown key (want one of ", absl::StrJoin(known, ", "), ")"));
    }
    if (!out.emplace(*canonical, &properties.fields().at(key)).second) {
      return Invalid(*canonical, "given twice (keys are case-insensitive)");
    }
  }
  return out;
}

// A whole number in [low, high].
absl::StatusOr<int> Integer(const Value& value, absl::string_view field, int low, int high) {
  if (value.kind_case() != Value::kNumberValue) return Invalid(field, "want a number");
  const double number = value.number_value();
  if (!(number >= low && number <= high) || std::floor(number) != number) {
    return Invalid(field,
                   absl::StrCat(number, " is not a whole number in [", low, ", ", high, "]"));
  }
  return static_cast<int>(number);
}

absl::Status ParseTags(const Value& value, absl::string_view field,
                       std::map<std::string, std::string>* out) {
  if (value.kind_case() != Value::kStructValue) return Invalid(field, "want an object of strings");
  for (const auto& [key, item] : value.struct_value().fields()) {
    if (key.empty()) return Invalid(field, "empty tag name");
    if (item.kind_case() != Value::kStringValue) {
      return Invalid(absl::StrCat(field, ".", key), "want a string");
    }
    (*out)[key] = item.string_value();
  }
  return absl::OkStatus();
}

absl::Status ParseJvmFlags(const Value& value, std::vector<std::string>* out) {
  if (value.kind_case() != Value::kListValue) return Invalid("JvmFlags", "want a list of strings");
  for (int i = 0; i < value.list_value().values_size(); ++i) {
    const Value& item = value.list_value().values(i);
    const std::string field = absl::StrCat("JvmFlags[", i, "]");
    if (item.kind_case() != Value::kStringValue) return Invalid(field, "want a string");
    if (!absl::StartsWith(item.string_value(), "-")) {
      return Invalid(field, absl::StrCat("\"", item.string_value(), "\" is not a JVM flag (-...)"));
    }
    out->push_back(item.string_value());
  }
  return absl::OkStatus();
}

absl::Status ParseMode(const Value& value, ZookeeperProperties::Mode* out) {
  if (value.kind_case() != Value::kStringValue) return Invalid("Mode", "want a string");
  const std::string& mode = value.string_value();
  if (absl::EqualsIgnoreCase(mode, "member")) {
    *out = ZookeeperProperties::Mode::kMember;
  } else if (absl::EqualsIgnoreCase(mode, "observer")) {
    *out = ZookeeperProperties::Mode::kObserver;
  } else {
    return Invalid("Mode", absl::StrCat("\"", mode, "\" is not \"member\" or \"observer\""));
  }
  return absl::OkStatus();
}

// `ips` sorted by address (127.0.0.9 before 127.0.0.10). INVALID_ARGUMENT naming
// "<field>[i]" for one that is not an IPv4 address or given twice.
template <typename Strings>
absl::StatusOr<std::vector<std::string>> SortedIps(const Strings& ips, absl::string_view field) {
  std::vector<std::pair<uint32_t, std::string>> sorted;
  std::set<std::string> seen;
  int i = 0;
  for (const std::string& ip : ips) {
    const std::string where = absl::StrCat(field, "[", i++, "]");
    in_addr address;
    if (inet_pton(AF_INET, ip.c_str(), &address) != 1) {
      return Invalid(where, absl::StrCat("\"", ip, "\" is not an IPv4 address"));
    }
    if (!seen.insert(ip).second) return Invalid(where, absl::StrCat("\"", ip, "\" given twice"));
    sorted.emplace_back(ntohl(address.s_addr), ip);
  }
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> out;
  for (auto& [number, ip] : sorted) out.push_back(std::move(ip));
  return out;
}

absl::Status ParseMembers(const Value& value, std::vector<std::string>* out) {
  if (value.kind_case() != Value::kListValue) {
    return Invalid("Members", "want a list of IPv4 addresses");
  }
  std::vector<std::string> ips;
  for (int i = 0; i < value.list_value().values_size(); ++i) {
    const Value& item = value.list_value().values(i);
    if (item.kind_case() != Value::kStringValue) {
      return Invalid(absl::StrCat("Members[", i, "]"), "want a string");
    }
    ips.push_back(item.string_value());
  }
  if (ips.empty()) return Invalid("Members", "empty: observers need the members' addresses");
  if (ips.size() > kMaxMembers) {
    return Invalid("Members", absl::StrCat(ips.size(), " members; at most ", kMaxMembers));
  }
  auto sorted = SortedIps(ips, "Members");
  if (!sorted.ok()) return sorted.status();
  *out = *std::move(sorted);
  return absl::OkStatus();
}

// Members is for observers, and they need it.
absl::Status CheckMode(const ZookeeperProperties& p) {
  if (p.mode == ZookeeperProperties::Mode::kObserver && p.members.empty()) {
    return Invalid("Members", "required with \"Mode\": \"observer\" (the members' addresses)");
  }
  if (p.mode == ZookeeperProperties::Mode::kMember && !p.members.empty()) {
    return Invalid("Members",
                   "only for \"Mode\": \"observer\" (a group of members is the ensemble: its "
                   "LogicalIDs are the members)");
  }
  return absl::OkStatus();
}

// The whole-number properties: their ranges and where they go.
struct NumberKey {
  const char* key;
  int low;
  int high;
  int ZookeeperProperties::*field;
};
constexpr NumberKey kNumberKeys[] = {
    {"ClientPort", 1, 65535, &ZookeeperProperties::client_port},
    {"PeerPort", 1, 65535, &ZookeeperProperties::peer_port},
    {"ElectionPort", 1, 65535, &ZookeeperProperties::election_port},
    {"TickTime", 10, 600000, &ZookeeperProperties::tick_time_ms},
    {"InitLimit", 1, 1000, &ZookeeperProperties::init_limit},
    {"SyncLimit", 1, 1000, &ZookeeperProperties::sync_limit},
    {"JvmHeapMB", 16, 65536, &ZookeeperProperties::jvm_heap_mb},
};

absl::Status CheckDistinctPorts(const ZookeeperProperties& p) {
  if (p.peer_port == p.client_port) return Invalid("PeerPort", "same as ClientPort");
  if (p.election_port == p.client_port) return Invalid("ElectionPort", "same as ClientPort");
  if (p.election_port == p.peer_port) return Invalid("ElectionPort", "same as PeerPort");
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& ZookeeperPropertyKeys() {
  static const auto* const kKeys = new std::vector<std::string>{
      "ClientPort", "PeerPort", "ElectionPort", "TickTime", "InitLimit", "SyncLimit",
      "JvmHeapMB",  "JvmFlags", "Mode",         "Members",  "Labels",    "Tags",
  };
  return *kKeys;
}

absl::StatusOr<ZookeeperProperties> ParseZookeeperProperties(
    const google::protobuf::Struct& properties) {
  auto fields = Fields(properties);
  if (!fields.ok()) return fields.status();
  if (fields->count("Labels") && fields->count("Tags")) {
    return Invalid("Tags", "Labels is given too; they are synonyms, give one");
  }
  ZookeeperProperties out;
  for (const auto& [key, value] : *fields) {
    absl::Status status;
    const NumberKey* number = nullptr;
    for (const NumberKey& n : kNumberKeys) {
      if (key == n.key) number = &n;
    }
    if (number != nullptr) {
      auto parsed = Integer(*value, key, number->low, number->high);
      status = parsed.status();
      if (parsed.ok()) out.*(number->field) = *parsed;
    } else if (key == "JvmFlags") {
      status = ParseJvmFlags(*value, &out.jvm_flags);
    } else if (key == "Mode") {
      status = ParseMode(*value, &out.mode);
    } else if (key == "Members") {
      status = ParseMembers(*value, &out.members);
    } else if (key == "Labels" || key == "Tags") {
      status = ParseTags(*value, key, &out.tags);
    }
    if (!status.ok()) return status;
  }
  if (absl::Status s = CheckDistinctPorts(out); !s.ok()) return s;
  if (absl::Status s = CheckMode(out); !s.ok()) return s;
  return out;
}

absl::StatusOr<Ensemble> EnsembleOf(const ZookeeperProperties& properties,
                                    const ::infrakit::flavor::v1::Allocation& allocation) {
  if (!allocation.has_logical_ids()) {
    return Invalid("Allocation",
                   "ZooKeeper servers are pets: give LogicalIDs (their IPv4 addresses), not a "
                   "Size");
  }
  const auto& ids = allocation.logical_ids().ids();
  if (ids.empty()) return Invalid("Allocation.LogicalIDs", "empty: a group needs a server");
  auto allocated = SortedIps(ids, "Allocation.LogicalIDs");
  if (!allocated.ok()) return allocated.status();
  const bool observers = properties.mode == ZookeeperProperties::Mode::kObserver;
  if (!observers && allocated->size() > kMaxMembers) {
    return Invalid("Allocation.LogicalIDs",
                   absl::StrCat(allocated->size(), " members; at most ", kMaxMembers));
  }
  Ensemble ensemble;
  const std::vector<std::string>& members = observers ? properties.members : *allocated;
  for (size_t i = 0; i < members.size(); ++i) {
    ensemble.members.push_back({static_cast<int>(i) + 1, members[i], false});
  }
  if (!observers) {
    ensemble.allocated = ensemble.members;
    return ensemble;
  }
  for (size_t i = 0; i < allocated->size(); ++i) {
    const std::string& ip = (*allocated)[i];
    if (std::find(members.begin(), members.end(), ip) != members.end()) {
      const int listed = static_cast<int>(std::find(ids.begin(), ids.end(), ip) - ids.begin());
      return Invalid(absl::StrCat("Allocation.LogicalIDs[", listed, "]"),
                     absl::StrCat("\"", ip, "\" is one of the Members"));
    }
    ensemble.allocated.push_back({kFirstObserverId + static_cast<int>(i) + 1, ip, true});
  }
  return ensemble;
}

int MaxUnavailable(int members) { return members > 0 ? (members - 1) / 2 : 0; }

}  // namespace infrakit::plugins::flavor::zookeeper
