#include "plugins/flavor/swarm/engine_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/curl_library.h"
#include "common/json_object.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr absl::string_view kHttpStatusPayload = "infrakit.engine.http_status";
// What an error quotes of a reply that is not the JSON expected.
constexpr size_t kBodyExcerpt = 200;

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

absl::StatusCode CodeForHttp(long http_status) {
  switch (http_status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAlreadyExists;
    case 406:
    case 503:
      return absl::StatusCode::kFailedPrecondition;
    case 500:
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kUnknown;
  }
}

std::string Excerpt(absl::string_view body) {
  body = absl::StripAsciiWhitespace(body);
  if (body.size() <= kBodyExcerpt) return std::string(body);
  return absl::StrCat(body.substr(0, kBodyExcerpt), "...");
}

// The engine's message from an error reply ({"message": "..."}), else the reply itself.
std::string EngineMessage(absl::string_view body) {
  absl::StatusOr<Value> parsed = common::ParseJsonValue(body);
  if (parsed.ok() && parsed->has_struct_value()) {
    auto it = parsed->struct_value().fields().find("message");
    if (it != parsed->struct_value().fields().end() && it->second.has_string_value()) {
      return it->second.string_value();
    }
  }
  return Excerpt(body);
}

// Member `key` of `object` when `object` is an object, else nullptr.
const Value* Member(const Value& object, absl::string_view key) {
  if (!object.has_struct_value()) return nullptr;
  auto it = object.struct_value().fields().find(std::string(key));
  return it == object.struct_value().fields().end() ? nullptr : &it->second;
}

const Value* Path(const Value& root, std::initializer_list<absl::string_view> keys) {
  const Value* at = &root;
  for (absl::string_view key : keys) {
    at = Member(*at, key);
    if (at == nullptr) return nullptr;
  }
  return at;
}

std::string StringAt(const Value& root, std::initializer_list<absl::string_view> keys) {
  const Value* v = Path(root, keys);
  return v != nullptr && v->has_string_value() ? v->string_value() : "";
}

bool BoolAt(const Value& root, std::initializer_list<absl::string_view> keys) {
  const Value* v = Path(root, keys);
  return v != nullptr && v->has_bool_value() && v->bool_value();
}

uint64_t UintAt(const Value& root, std::initializer_list<absl::string_view> keys) {
  const Value* v = Path(root, keys);
  if (v == nullptr || !v->has_number_value() || !(v->number_value() >= 0)) return 0;
  return static_cast<uint64_t>(std::llround(v->number_value()));
}

std::map<std::string, std::string> LabelsAt(const Value& root,
                                            std::initializer_list<absl::string_view> keys) {
  std::map<std::string, std::string> labels;
  const Value* v = Path(root, keys);
  if (v == nullptr || !v->has_struct_value()) return labels;
  for (const auto& [key, value] : v->struct_value().fields()) {
    if (value.has_string_value()) labels[key] = value.string_value();
  }
  return labels;
}

absl::Status Unexpected(absl::string_view what, absl::string_view body) {
  return absl::InternalError(absl::StrCat(what, ": the engine's reply is not what API ",
                                          kEngineApiVersion, " answers: ", Excerpt(body)));
}

std::string ToJson(const Struct& object) {
  std::string json;
  // Serializing a Struct cannot fail.
  (void)google::protobuf::util::MessageToJsonString(object, &json);
  return json;
}

void PutString(Struct* object, const std::string& key, const std::string& value) {
  if (!value.empty()) (*object->mutable_fields())[key].set_string_value(value);
}

std::string Escape(absl::string_view text) {
  absl::StatusOr<const common::CurlFunctions*> curl = common::Curl();
  // Without libcurl the call this escapes for fails, saying why.
  if (!curl.ok()) return "";
  char* escaped = (*curl)->easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  std::string result = escaped == nullptr ? "" : escaped;
  (*curl)->free(escaped);
  return result;
}

}  // namespace

int EngineHttpStatus(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kHttpStatusPayload);
  int code = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &code)) return 0;
  return code;
}

EngineClient::EngineClient(std::string socket_path, absl::Duration timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}

absl::StatusOr<EngineClient::Reply> EngineClient::Call(absl::string_view method,
                                                       absl::string_view path_and_query,
                                                       absl::string_view body) const {
  const std::string what = absl::StrCat(method, " ", path_and_query);
  absl::StatusOr<const common::CurlFunctions*> loaded = common::Curl();
  if (!loaded.ok()) {
    return absl::Status(loaded.status().code(),
                        absl::StrCat(what, ": ", loaded.status().message()));
  }
  const common::CurlFunctions& curl = **loaded;
  CURL* handle = curl.easy_init();
  if (handle == nullptr) return absl::InternalError(absl::StrCat(what, ": curl_easy_init failed"));
  // The host name is not used on a unix socket; "docker" is what the docker CLI sends.
  const std::string url = absl::StrCat("http://docker/", kEngineApiVersion, path_and_query);
  const std::string method_string(method);
  const std::string body_string(body);
  Reply reply;
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  if (!body.empty()) headers = curl.slist_append(headers, "Content-Type: application/json");
  // No "Expect: 100-continue" round trip before a body: the engine answers at once.
  headers = curl.slist_append(headers, "Expect:");
  curl.easy_setopt(handle, CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  curl.easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl.easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method_string.c_str());
  if (method == "POST") {
    curl.easy_setopt(handle, CURLOPT_POST, 1L);
    curl.easy_setopt(handle, CURLOPT_POSTFIELDS, body_string.c_str());
    curl.easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_string.size()));
  }
  curl.easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout_))));
  curl.easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, AppendBody);
  curl.easy_setopt(handle, CURLOPT_WRITEDATA, &reply.body);
  const CURLcode result = curl.easy_perform(handle);
  if (result == CURLE_OK) curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply.http_status);
  curl.slist_free_all(headers);
  curl.easy_cleanup(handle);

  if (result != CURLE_OK) {
    const std::string detail = error[0] != '\0' ? error : curl.easy_strerror(result);
    if (result == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError(absl::StrCat(what, " on ", socket_path_, ": no answer in ",
                                                      absl::FormatDuration(timeout_), ": ",
                                                      detail));
    }
    if (result == CURLE_COULDNT_CONNECT) {
      return absl::UnavailableError(
          absl::StrCat(socket_path_, ": no engine answers (", detail, ")"));
    }
    return absl::UnavailableError(absl::StrCat(what, " on ", socket_path_, ": ", detail));
  }
  if (reply.http_status < 200 || reply.http_status > 299) {
    absl::Status status(
        CodeForHttp(reply.http_status),
        absl::StrCat(what, ": HTTP ", reply.http_status, ": ", EngineMessage(reply.body)));
    status.SetPayload(kHttpStatusPayload, absl::Cord(absl::StrCat(reply.http_status)));
    return status;
  }
  return reply;
}

absl::Status EngineClient::Ping() const {
  absl::StatusOr<Reply> reply = Call("GET", "/_ping", "");
  if (!reply.ok()) return reply.status();
  if (absl::StripAsciiWhitespace(reply->body) != "OK") {
    return Unexpected("GET /_ping", reply->body);
  }
  return absl::OkStatus();
}

absl::StatusOr<EngineInfo> EngineClient::Info() const {
  absl::StatusOr<Reply> reply = Call("GET", "/info", "");
  if (!reply.ok()) return reply.status();
  absl::StatusOr<Value> json = common::ParseJsonValue(reply->body);
  if (!json.ok() || !json->has_struct_value()) return Unexpected("GET /info", reply->body);
  EngineInfo info;
  info.id = StringAt(*json, {"ID"});
  info.name = StringAt(*json, {"Name"});
  if (const Value* labels = Member(*json, "Labels");
      labels != nullptr && labels->has_list_value()) {
    for (const Value& label : labels->list_value().values()) {
      if (!label.has_string_value()) continue;
      const std::string& text = label.string_value();
      const size_t equals = text.find('=');
      if (equals == std::string::npos) {
        info.labels[text] = "";
      } else {
        info.labels[text.substr(0, equals)] = text.substr(equals + 1);
      }
    }
  }
  info.local_node_state = StringAt(*json, {"Swarm", "LocalNodeState"});
  info.node_id = StringAt(*json, {"Swarm", "NodeID"});
  info.node_addr = StringAt(*json, {"Swarm", "NodeAddr"});
  info.control_available = BoolAt(*json, {"Swarm", "ControlAvailable"});
  info.error = StringAt(*json, {"Swarm", "Error"});
  return info;
}

absl::StatusOr<SwarmInfo> EngineClient::Swarm() const {
  absl::StatusOr<Reply> reply = Call("GET", "/swarm", "");
  if (!reply.ok()) return reply.status();
  absl::StatusOr<Value> json = common::ParseJsonValue(reply->body);
  if (!json.ok() || !json->has_struct_value()) return Unexpected("GET /swarm", reply->body);
  SwarmInfo swarm;
  swarm.id = StringAt(*json, {"ID"});
  swarm.version = UintAt(*json, {"Version", "Index"});
  swarm.worker_join_token = StringAt(*json, {"JoinTokens", "Worker"});
  swarm.manager_join_token = StringAt(*json, {"JoinTokens", "Manager"});
  if (swarm.id.empty() || swarm.worker_join_token.empty() || swarm.manager_join_token.empty()) {
    return Unexpected("GET /swarm", reply->body);
  }
  return swarm;
}

absl::StatusOr<std::vector<SwarmNode>> EngineClient::Nodes(
    const std::map<std::string, std::vector<std::string>>& filters) const {
  std::string path = "/nodes";
  if (!filters.empty()) {
    Struct object;
    for (const auto& [name, values] : filters) {
      ListValue* list = (*object.mutable_fields())[name].mutable_list_value();
      for (const std::string& value : values) list->add_values()->set_string_value(value);
    }
    absl::StrAppend(&path, "?filters=", Escape(ToJson(object)));
  }
  absl::StatusOr<Reply> reply = Call("GET", path, "");
  if (!reply.ok()) return reply.status();
  const std::string what = absl::StrCat("GET ", path);
  absl::StatusOr<Value> json = common::ParseJsonValue(reply->body);
  if (!json.ok() || !json->has_list_value()) return Unexpected(what, reply->body);
  std::vector<SwarmNode> nodes;
  for (const Value& entry : json->list_value().values()) {
    SwarmNode node;
    node.id = StringAt(entry, {"ID"});
    if (node.id.empty()) return Unexpected(what, reply->body);
    node.version = UintAt(entry, {"Version", "Index"});
    node.role = StringAt(entry, {"Spec", "Role"});
    node.availability = StringAt(entry, {"Spec", "Availability"});
    node.spec_labels = LabelsAt(entry, {"Spec", "Labels"});
    node.hostname = StringAt(entry, {"Description", "Hostname"});
    node.engine_labels = LabelsAt(entry, {"Description", "Engine", "Labels"});
    node.state = StringAt(entry, {"Status", "State"});
    node.addr = StringAt(entry, {"Status", "Addr"});
    if (const Value* manager = Member(entry, "ManagerStatus");
        manager != nullptr && manager->has_struct_value()) {
      node.is_manager = true;
      node.leader = BoolAt(*manager, {"Leader"});
      node.reachability = StringAt(*manager, {"Reachability"});
      node.manager_addr = StringAt(*manager, {"Addr"});
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

absl::StatusOr<int> EngineClient::RunningTasks(absl::string_view node_id) const {
  Struct object;
  (*object.mutable_fields())["node"].mutable_list_value()->add_values()->set_string_value(
      std::string(node_id));
  (*object.mutable_fields())["desired-state"].mutable_list_value()->add_values()->set_string_value(
      "running");
  const std::string path = absl::StrCat("/tasks?filters=", Escape(ToJson(object)));
  absl::StatusOr<Reply> reply = Call("GET", path, "");
  if (!reply.ok()) return reply.status();
  absl::StatusOr<Value> json = common::ParseJsonValue(reply->body);
  if (!json.ok() || !json->has_list_value()) {
    return Unexpected(absl::StrCat("GET ", path), reply->body);
  }
  return json->list_value().values_size();
}

absl::StatusOr<std::string> EngineClient::InitSwarm(const SwarmInitRequest& request) const {
  Struct body;
  PutString(&body, "ListenAddr", request.listen_addr);
  PutString(&body, "AdvertiseAddr", request.advertise_addr);
  PutString(&body, "DataPathAddr", request.data_path_addr);
  absl::StatusOr<Reply> reply = Call("POST", "/swarm/init", ToJson(body));
  if (!reply.ok()) return reply.status();
  // The reply is the node ID as a JSON string.
  absl::StatusOr<Value> json = common::ParseJsonValue(reply->body);
  if (!json.ok() || !json->has_string_value() || json->string_value().empty()) {
    return Unexpected("POST /swarm/init", reply->body);
  }
  return json->string_value();
}

absl::Status EngineClient::JoinSwarm(const SwarmJoinRequest& request) const {
  if (request.remote_addrs.empty()) {
    return absl::InvalidArgumentError("POST /swarm/join: no manager address to join");
  }
  if (request.join_token.empty()) {
    return absl::InvalidArgumentError("POST /swarm/join: no join token");
  }
  Struct body;
  PutString(&body, "ListenAddr", request.listen_addr);
  PutString(&body, "AdvertiseAddr", request.advertise_addr);
  PutString(&body, "DataPathAddr", request.data_path_addr);
  PutString(&body, "JoinToken", request.join_token);
  ListValue* remotes = (*body.mutable_fields())["RemoteAddrs"].mutable_list_value();
  for (const std::string& address : request.remote_addrs) {
    remotes->add_values()->set_string_value(address);
  }
  return Call("POST", "/swarm/join", ToJson(body)).status();
}

absl::Status EngineClient::UpdateNode(absl::string_view node_id, uint64_t version,
                                      const NodeSpec& spec) const {
  Struct body;
  PutString(&body, "Role", spec.role);
  PutString(&body, "Availability", spec.availability);
  Struct* labels = (*body.mutable_fields())["Labels"].mutable_struct_value();
  for (const auto& [key, value] : spec.labels) {
    (*labels->mutable_fields())[key].set_string_value(value);
  }
  return Call("POST", absl::StrCat("/nodes/", Escape(node_id), "/update?version=", version),
              ToJson(body))
      .status();
}

absl::Status EngineClient::RemoveNode(absl::string_view node_id) const {
  return Call("DELETE", absl::StrCat("/nodes/", Escape(node_id), "?force=true"), "").status();
}

absl::Status EngineClient::LeaveSwarm() const {
  return Call("POST", "/swarm/leave?force=true", "").status();
}

}  // namespace infrakit::plugins::flavor::swarm
