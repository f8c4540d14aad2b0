#include "services/group/testing/memory_store.h"

namespace infrakit::services::group::testing {

absl::Status MemoryStore::Put(const GroupRecord& record) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  ++puts_;
  records_[record.spec().id()] = record;
  return absl::OkStatus();
}

absl::Status MemoryStore::Delete(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  records_.erase(std::string(id));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<GroupRecord>> MemoryStore::LoadAll() {
  absl::MutexLock lock(&mu_);
  std::vector<GroupRecord> out;
  for (const auto& [id, r] : records_) out.push_back(r);
  return out;
}

void MemoryStore::set_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(status);
}

bool MemoryStore::Get(const std::string& id, GroupRecord* out) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return false;
  *out = it->second;
  return true;
}

int MemoryStore::puts() {
  absl::MutexLock lock(&mu_);
  return puts_;
}

}  // namespace infrakit::services::group::testing
