#include "services/group/ha/store_mirror.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "services/group/etcd_store.h"
#include "services/group/planner.h"
#include "spec/group_spec.h"

namespace infrakit::services::group::ha {

namespace gv1 = ::infrakit::group::v1;

gv1::GroupStatus StoredStatus(const GroupRecord& record) {
  gv1::GroupStatus s;
  s.set_desired(DesiredCount(record.spec()));
  s.set_config_sha(spec::ConfigSha(record.spec()));
  const UpdateState& u = record.update();
  s.set_updating(u.active() && !u.paused() && !u.stopped());
  s.set_paused(u.active() && u.paused() && !u.stopped());
  s.set_stopped(u.active() && u.stopped());
  if (s.paused()) s.set_last_error(u.pause_reason());
  s.set_from_store(true);
  return s;
}

StoreMirror::StoreMirror(etcd::Client* client, std::string records_prefix,
                         StoreMirrorOptions options)
    : client_(client), prefix_(std::move(records_prefix)), options_(options) {}

StoreMirror::~StoreMirror() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  watch_.reset();
}

void StoreMirror::Start() {
  thread_ = std::thread([this] { Run(); });
}

void StoreMirror::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto due = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return read_due_ || stopping_; };
      mu_.Await(absl::Condition(&due));
      if (stopping_) return;
    }
    absl::Status read = Refresh();
    if (read.ok()) continue;
    VLOG(1) << read;
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.retry_pause);
    if (stopping_) return;
  }
}

StoreMirror::Summary StoreMirror::SummaryOf(const std::string& key,
                                            const std::string& value) const {
  auto summary = std::make_shared<gv1::GroupSummary>();
  const std::string id = key.substr(prefix_.size());
  absl::StatusOr<GroupRecord> record = DecodeEtcdRecord(value, id, absl::StrCat("etcd key ", key));
  if (record.ok()) {
    *summary->mutable_spec() = record->spec();
    *summary->mutable_status() = StoredStatus(*record);
  } else {
    summary->mutable_spec()->set_id(id);
    summary->mutable_status()->set_from_store(true);
    summary->mutable_status()->set_last_error(std::string(record.status().message()));
  }
  return summary;
}

absl::Status StoreMirror::Refresh() {
  {
    absl::MutexLock lock(&mu_);
    if (!read_due_) return absl::OkStatus();
  }
  // The watch that ended; destroyed here, never from its own callback.
  watch_.reset();
  absl::StatusOr<etcd::RangeResult> range = client_->Range(prefix_, etcd::PrefixEnd(prefix_));
  if (!range.ok()) {
    absl::Status error(range.status().code(), absl::StrCat("reading the groups under ", prefix_,
                                                           ": ", range.status().message()));
    absl::MutexLock lock(&mu_);
    last_error_ = error;
    return error;
  }
  absl::btree_map<std::string, Summary> groups;
  for (const etcd::KeyValue& kv : range->kvs) {
    groups[kv.key.substr(prefix_.size())] = SummaryOf(kv.key, kv.value);
  }
  int64_t generation;
  {
    absl::MutexLock lock(&mu_);
    groups_ = std::move(groups);
    revision_ = range->revision;
    loaded_ = true;
    read_due_ = false;
    last_error_ = absl::OkStatus();
    generation = ++generation_;
  }
  watch_ = client_->Watch(
      prefix_, etcd::PrefixEnd(prefix_), range->revision + 1,
      [this, generation](const etcd::WatchUpdate& update) { OnWatch(generation, update); });
  return absl::OkStatus();
}

void StoreMirror::OnWatch(int64_t generation, const etcd::WatchUpdate& update) {
  // Decoded before the lock: a record's JSON may be large.
  std::vector<std::pair<std::string, Summary>> changes;
  for (const etcd::WatchEvent& event : update.events) {
    if (event.kv.key.size() <= prefix_.size()) continue;
    changes.emplace_back(event.kv.key.substr(prefix_.size()),
                         event.type == etcd::WatchEvent::Type::kPut
                             ? SummaryOf(event.kv.key, event.kv.value)
                             : nullptr);
  }
  if (!update.status.ok()) {
    // Compacted: what happened between the last revision seen and now is gone; read it all.
    {
      absl::MutexLock lock(&mu_);
      if (generation != generation_) return;  // a replaced watch
      read_due_ = true;
      last_error_ = update.status;
    }
    LOG(WARNING) << "the copy of the groups in etcd is read again: " << update.status;
    return;
  }
  absl::MutexLock lock(&mu_);
  if (generation != generation_) return;  // a replaced watch
  for (size_t i = 0; i < changes.size(); ++i) {
    if (update.events[i].kv.mod_revision <= revision_) continue;  // already in the copy
    if (changes[i].second == nullptr) {
      groups_.erase(changes[i].first);
    } else {
      groups_[changes[i].first] = std::move(changes[i].second);
    }
  }
  revision_ = std::max(revision_, update.revision);
}

bool StoreMirror::ReadDue() const {
  absl::MutexLock lock(&mu_);
  return read_due_;
}

int64_t StoreMirror::revision() const {
  absl::MutexLock lock(&mu_);
  return revision_;
}

absl::StatusOr<gv1::ListGroupsResponse> StoreMirror::ListGroups() const {
  std::vector<Summary> groups;
  gv1::ListGroupsResponse response;
  {
    absl::MutexLock lock(&mu_);
    if (!loaded_) {
      return absl::UnavailableError(
          absl::StrCat("this group service's copy of the groups in etcd is not read yet",
                       last_error_.ok() ? "" : absl::StrCat(": ", last_error_.message())));
    }
    groups.reserve(groups_.size());
    for (const auto& [id, summary] : groups_) groups.push_back(summary);
    response.set_store_revision(revision_);
  }
  for (const Summary& summary : groups) *response.add_groups() = *summary;
  return response;
}

}  // namespace infrakit::services::group::ha
