#include "services/group/etcd_store.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace infrakit::services::group {
namespace {

// The file store's format: the two stores hold the same JSON.
constexpr int kFormatVersion = 1;

// Group IDs follow the spec's name rules; this refuses what could leave the prefix.
absl::Status CheckId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("spec.id: must not be empty");
  if (id.front() == '.' || absl::StrContains(id, "/") || absl::StrContains(id, '\0')) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.id: must not start with '.' or contain '/' or NUL, got \"", id, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

EtcdStore::EtcdStore(etcd::Client* client, std::string prefix, RefusalObserver on_refused)
    : client_(client), prefix_(std::move(prefix)), on_refused_(std::move(on_refused)) {}

void EtcdStore::SetFence(std::string leader_key, int64_t create_revision) {
  absl::MutexLock lock(&mu_);
  leader_key_ = std::move(leader_key);
  fence_revision_ = create_revision;
}

void EtcdStore::ClearFence() {
  absl::MutexLock lock(&mu_);
  fence_revision_ = 0;
}

std::string EtcdStore::RecordsPrefix() const { return absl::StrCat(prefix_, "/groups/"); }

std::string EtcdStore::KeyOf(absl::string_view id) const {
  return absl::StrCat(RecordsPrefix(), id);
}

absl::Status EtcdStore::Fenced(const etcd::Op& op, absl::string_view what) {
  std::string leader_key;
  int64_t revision;
  {
    absl::MutexLock lock(&mu_);
    leader_key = leader_key_;
    revision = fence_revision_;
  }
  if (revision == 0) {
    if (on_refused_) on_refused_(Refusal::kNoFence);
    return absl::FailedPreconditionError(absl::StrCat("not the leader: ", what,
                                                      " refused (this group service holds no "
                                                      "leadership in etcd)"));
  }
  absl::StatusOr<etcd::TxnResult> txn =
      client_->Txn({etcd::Compare::CreateRevisionIs(leader_key, revision)}, {op}, {});
  if (!txn.ok()) {
    return absl::Status(txn.status().code(), absl::StrCat(what, ": ", txn.status().message()));
  }
  if (!txn->succeeded) {
    if (on_refused_) on_refused_(Refusal::kFenceFailed);
    return absl::FailedPreconditionError(
        absl::StrCat("not the leader: ", what, " refused by etcd: the leader key ", leader_key,
                     " is no longer the one created at revision ", revision, " (leadership lost)"));
  }
  return absl::OkStatus();
}

absl::Status EtcdStore::Put(const GroupRecord& record) {
  const std::string& id = record.spec().id();
  if (absl::Status ok = CheckId(id); !ok.ok()) return ok;
  GroupRecord copy = record;
  copy.set_format_version(kFormatVersion);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (auto st = google::protobuf::util::MessageToJsonString(copy, &json, options); !st.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot encode the record of group ", id, ": ", st.ToString()));
  }
  return Fenced(etcd::Op::Put(KeyOf(id), json), absl::StrCat("saving group ", id));
}

absl::Status EtcdStore::Delete(absl::string_view id) {
  if (absl::Status ok = CheckId(id); !ok.ok()) return ok;
  return Fenced(etcd::Op::Delete(KeyOf(id)), absl::StrCat("removing group ", id));
}

absl::StatusOr<std::vector<GroupRecord>> EtcdStore::LoadAll() {
  const std::string prefix = RecordsPrefix();
  absl::StatusOr<etcd::RangeResult> range = client_->Range(prefix, etcd::PrefixEnd(prefix));
  if (!range.ok()) {
    return absl::Status(range.status().code(), absl::StrCat("reading the groups under ", prefix,
                                                            ": ", range.status().message()));
  }
  std::vector<GroupRecord> records;
  records.reserve(range->kvs.size());
  for (const etcd::KeyValue& kv : range->kvs) {  // etcd orders them by key, so by group ID
    absl::StatusOr<GroupRecord> record =
        DecodeEtcdRecord(kv.value, kv.key.substr(prefix.size()), absl::StrCat("etcd key ", kv.key));
    if (!record.ok()) return record.status();
    records.push_back(*std::move(record));
  }
  return records;
}

absl::StatusOr<GroupRecord> DecodeEtcdRecord(absl::string_view json, absl::string_view expected_id,
                                             absl::string_view where) {
  if (json.find_first_not_of(" \t\r\n") == absl::string_view::npos) {
    return absl::DataLossError(absl::StrCat(where, " is corrupt: it is empty"));
  }
  GroupRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto parsed =
          google::protobuf::util::JsonStringToMessage(std::string(json), &record, options);
      !parsed.ok()) {
    return absl::DataLossError(absl::StrCat(where, " is corrupt: ", parsed.message().ToString()));
  }
  if (record.format_version() > kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, " has format version ", record.format_version(),
                     ", newer than this group service understands (", kFormatVersion, ")"));
  }
  if (record.spec().id() != expected_id) {
    return absl::DataLossError(absl::StrCat(where, " is corrupt: it holds group \"",
                                            record.spec().id(), "\", expected \"", expected_id,
                                            "\""));
  }
  return record;
}

}  // namespace infrakit::services::group
