#include "plugins/flavor/swarm/swarm_properties.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

using ::google::protobuf::Value;

// sun_path holds 108 bytes with the terminating NUL.
constexpr size_t kMaxSocketPath = 107;

// The dockerd flags the flavor sets for every engine: DaemonFlags may not set them again.
constexpr const char* kOwnFlags[] = {"--data-root", "--exec-root",     "--host",      "-H",
                                     "--pidfile",   "--cgroup-parent", "--containerd"};

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// The fields of `properties` by documented key, sorted for stable error messages. Unknown keys
// and keys given twice in different case are errors.
absl::StatusOr<std::map<std::string, const Value*>> Fields(
    const google::protobuf::Struct& properties) {
  const std::vector<std::string>& known = SwarmPropertyKeys();
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

absl::Status ParseRole(const Value& value, SwarmProperties::Role* out) {
  if (value.kind_case() != Value::kStringValue) return Invalid("Role", "want a string");
  const std::string& role = value.string_value();
  if (absl::EqualsIgnoreCase(role, "manager")) {
    *out = SwarmProperties::Role::kManager;
  } else if (absl::EqualsIgnoreCase(role, "worker")) {
    *out = SwarmProperties::Role::kWorker;
  } else {
    return Invalid("Role", absl::StrCat("\"", role, "\" is not \"manager\" or \"worker\""));
  }
  return absl::OkStatus();
}

bool IsIpv4(const std::string& text) {
  in_addr address;
  return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

// An absolute path without whitespace of at most `max` bytes, else the problem.
std::string PathProblem(const std::string& path, size_t max) {
  if (path.empty() || path[0] != '/') return absl::StrCat("\"", path, "\" is not an absolute path");
  if (std::any_of(path.begin(), path.end(),
                  [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); })) {
    return absl::StrCat("\"", path, "\" has whitespace");
  }
  if (path.size() > max) {
    return absl::StrCat("\"", path, "\" is ", path.size(), " bytes long; at most ", max);
  }
  return "";
}

// One entry of Managers: a string (the address) or {"Address", "Socket"}. The socket is left
// empty when not given (the default needs DataRootBase).
absl::StatusOr<SwarmManager> ParseManager(const Value& value, const std::string& field) {
  SwarmManager manager;
  if (value.kind_case() == Value::kStringValue) {
    manager.address = value.string_value();
  } else if (value.kind_case() == Value::kStructValue) {
    bool has_address = false;
    std::vector<std::string> keys;
    for (const auto& [key, item] : value.struct_value().fields()) keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
      const Value& item = value.struct_value().fields().at(key);
      const bool address = absl::EqualsIgnoreCase(key, "Address");
      const bool socket = absl::EqualsIgnoreCase(key, "Socket");
      if (!address && !socket) {
        return Invalid(absl::StrCat(field, ".", key), "unknown key (want one of Address, Socket)");
      }
      const std::string where = absl::StrCat(field, address ? ".Address" : ".Socket");
      if (item.kind_case() != Value::kStringValue) return Invalid(where, "want a string");
      std::string& target = address ? manager.address : manager.socket;
      if (address ? has_address : !manager.socket.empty()) {
        return Invalid(where, "given twice (keys are case-insensitive)");
      }
      if (address) has_address = true;
      target = item.string_value();
      if (socket) {
        const std::string problem = PathProblem(target, kMaxSocketPath);
        if (!problem.empty()) return Invalid(where, problem);
      }
    }
    if (!has_address) {
      return Invalid(absl::StrCat(field, ".Address"),
                     "required (the manager's IPv4 advertise address)");
    }
  } else {
    return Invalid(field, "want an IPv4 address or an object with Address (and Socket)");
  }
  const std::string where =
      value.kind_case() == Value::kStructValue ? absl::StrCat(field, ".Address") : field;
  if (!IsIpv4(manager.address)) {
    return Invalid(where, absl::StrCat("\"", manager.address, "\" is not an IPv4 address"));
  }
  return manager;
}

absl::Status ParseManagers(const Value& value, std::vector<SwarmManager>* out) {
  if (value.kind_case() != Value::kListValue) {
    return Invalid("Managers", "want a list of managers (IPv4 addresses or {Address, Socket})");
  }
  const int count = value.list_value().values_size();
  if (count != 1 && count != 3 && count != 5) {
    return Invalid("Managers", absl::StrCat(count,
                                            " managers; want 1, 3 or 5 (an odd number "
                                            "keeps a Raft quorum, more than 5 slow it)"));
  }
  std::set<std::string> addresses;
  for (int i = 0; i < count; ++i) {
    const std::string field = absl::StrCat("Managers[", i, "]");
    const Value& item = value.list_value().values(i);
    absl::StatusOr<SwarmManager> manager = ParseManager(item, field);
    if (!manager.ok()) return manager.status();
    if (!addresses.insert(manager->address).second) {
      return Invalid(
          item.kind_case() == Value::kStructValue ? absl::StrCat(field, ".Address") : field,
          absl::StrCat("\"", manager->address, "\" given twice"));
    }
    out->push_back(*std::move(manager));
  }
  return absl::OkStatus();
}

absl::Status ParseDataRootBase(const Value& value, std::string* out) {
  if (value.kind_case() != Value::kStringValue) return Invalid("DataRootBase", "want a string");
  std::string base = value.string_value();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const std::string problem = PathProblem(base, kMaxDataRootBase);
  if (!problem.empty()) {
    return Invalid("DataRootBase",
                   absl::StrCat(problem, absl::StrContains(problem, "bytes long")
                                             ? " (the engines' sockets under "
                                               "<DataRootBase>/<instance>/ must fit a unix "
                                               "socket path)"
                                             : ""));
  }
  *out = std::move(base);
  return absl::OkStatus();
}

absl::Status ParseDaemonFlags(const Value& value, std::vector<std::string>* out) {
  if (value.kind_case() != Value::kListValue) {
    return Invalid("DaemonFlags", "want a list of strings");
  }
  for (int i = 0; i < value.list_value().values_size(); ++i) {
    const Value& item = value.list_value().values(i);
    const std::string field = absl::StrCat("DaemonFlags[", i, "]");
    if (item.kind_case() != Value::kStringValue) return Invalid(field, "want a string");
    const std::string& flag = item.string_value();
    if (flag.size() < 2 || flag[0] != '-') {
      return Invalid(field, absl::StrCat("\"", flag, "\" is not a dockerd flag (-...)"));
    }
    if (std::any_of(flag.begin(), flag.end(),
                    [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); })) {
      return Invalid(field,
                     absl::StrCat("\"", flag, "\" has whitespace (one word each: --name=value)"));
    }
    const std::string name = flag.substr(0, flag.find('='));
    for (const char* own : kOwnFlags) {
      // "-H" also as "-Hunix:///..." (a short flag with its value attached).
      if (name == own || (std::string(own) == "-H" && absl::StartsWith(flag, "-H"))) {
        return Invalid(field, absl::StrCat("\"", flag, "\": the flavor sets ", own,
                                           " for every engine itself"));
      }
    }
    out->push_back(flag);
  }
  return absl::OkStatus();
}

absl::Status ParseLabels(const Value& value, std::map<std::string, std::string>* out) {
  if (value.kind_case() != Value::kStructValue) {
    return Invalid("Labels", "want an object of strings");
  }
  for (const auto& [key, item] : value.struct_value().fields()) {
    const std::string field = absl::StrCat("Labels.", key);
    if (key.empty()) return Invalid("Labels", "empty label name");
    if (absl::StrContains(key, "=")) return Invalid(field, "a label name has no '='");
    if (key == kInstanceLabel || key == kGroupLabel) {
      return Invalid(field,
                     "set by the flavor itself (it ties a swarm node to its instance and group)");
    }
    if (item.kind_case() != Value::kStringValue) return Invalid(field, "want a string");
    (*out)[key] = item.string_value();
  }
  return absl::OkStatus();
}

std::string FormatIpv4(uint32_t host_order) {
  in_addr address;
  address.s_addr = htonl(host_order);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &address, text, sizeof(text));
  return text;
}

absl::Status ParseAddressPool(const Value& value, SwarmProperties* out) {
  if (value.kind_case() != Value::kStringValue) {
    return Invalid("AddressPool", "want an IPv4 CIDR such as \"127.0.1.0/24\"");
  }
  const std::string& cidr = value.string_value();
  const size_t slash = cidr.find('/');
  int prefix = -1;
  in_addr network;
  if (slash == std::string::npos || !absl::SimpleAtoi(cidr.substr(slash + 1), &prefix) ||
      inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &network) != 1) {
    return Invalid("AddressPool",
                   absl::StrCat("\"", cidr, "\" is not an IPv4 CIDR such as \"127.0.1.0/24\""));
  }
  if (prefix < kMinAddressPoolPrefix || prefix > 32) {
    return Invalid("AddressPool", absl::StrCat("\"", cidr, "\": want a prefix of /",
                                               kMinAddressPoolPrefix, " to /32"));
  }
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  const uint32_t first = ntohl(network.s_addr) & mask;
  const uint32_t last = first | ~mask;
  // Network and broadcast addresses are not hosts, except in /31 and /32.
  const bool hosts_only = prefix <= 30;
  out->address_pool = cidr;
  out->pool_first = FormatIpv4(hosts_only ? first + 1 : first);
  out->pool_last = FormatIpv4(hosts_only ? last - 1 : last);
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& SwarmPropertyKeys() {
  static const auto* const kKeys = new std::vector<std::string>{
      "Role", "Managers", "DataRootBase", "DaemonFlags", "Labels", "AddressPool",
  };
  return *kKeys;
}

std::string DefaultEngineSocket(const std::string& base, const std::string& id) {
  return absl::StrCat(base, "/", id, "/docker.sock");
}

absl::StatusOr<SwarmProperties> ParseSwarmProperties(const google::protobuf::Struct& properties) {
  auto fields = Fields(properties);
  if (!fields.ok()) return fields.status();
  if (!fields->count("Role")) return Invalid("Role", "required (\"manager\" or \"worker\")");
  if (!fields->count("Managers")) {
    return Invalid("Managers", "required (the swarm's 1, 3 or 5 managers' addresses)");
  }
  SwarmProperties out;
  for (const auto& [key, value] : *fields) {
    absl::Status status;
    if (key == "Role") {
      status = ParseRole(*value, &out.role);
    } else if (key == "Managers") {
      status = ParseManagers(*value, &out.managers);
    } else if (key == "DataRootBase") {
      status = ParseDataRootBase(*value, &out.data_root_base);
    } else if (key == "DaemonFlags") {
      status = ParseDaemonFlags(*value, &out.daemon_flags);
    } else if (key == "Labels") {
      status = ParseLabels(*value, &out.labels);
    } else if (key == "AddressPool") {
      status = ParseAddressPool(*value, &out);
    }
    if (!status.ok()) return status;
  }
  if (out.role == SwarmProperties::Role::kManager && !out.address_pool.empty()) {
    return Invalid("AddressPool",
                   "for workers only (a manager advertises its logical ID, one of Managers)");
  }
  for (SwarmManager& manager : out.managers) {
    if (manager.socket.empty()) {
      manager.socket = DefaultEngineSocket(out.data_root_base, manager.address);
    }
  }
  return out;
}

}  // namespace infrakit::plugins::flavor::swarm
