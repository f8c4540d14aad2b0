#include "plugins/instance/file/instance_index.h"

#include <utility>

#include "google/protobuf/util/message_differencer.h"

namespace infrakit::plugins::instance::file {

namespace v1 = ::infrakit::instance::v1;

std::optional<FileStamp> FileStamp::Of(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return From(st);
}

FileStamp FileStamp::From(const struct stat& st) {
  FileStamp stamp;
  stamp.device = st.st_dev;
  stamp.inode = st.st_ino;
  stamp.size = st.st_size;
  stamp.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  stamp.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return stamp;
}

std::optional<InstanceIndex::Change> InstanceIndex::Apply(const std::string& id,
                                                          std::optional<v1::Description> now) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(id);
  if (it == index_.end() && !now) return std::nullopt;
  if (it != index_.end() && now &&
      google::protobuf::util::MessageDifferencer::Equals(it->second, *now)) {
    return std::nullopt;
  }
  if (it != index_.end() && !it->second.spec().idempotency_key().empty()) {
    auto key = keys_.find(it->second.spec().idempotency_key());
    if (key != keys_.end()) {
      key->second.erase(id);
      if (key->second.empty()) keys_.erase(key);
    }
  }
  Change change;
  if (!now) {
    change.before = std::move(it->second);
    index_.erase(it);
    return change;
  }
  if (!now->spec().idempotency_key().empty()) keys_[now->spec().idempotency_key()].insert(id);
  if (it != index_.end()) {
    change.before = std::exchange(it->second, *std::move(now));
  } else {
    it = index_.emplace(id, *std::move(now)).first;
  }
  change.after = &it->second;
  return change;
}

std::optional<v1::Description> InstanceIndex::Find(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

bool InstanceIndex::Contains(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  return index_.find(id) != index_.end();
}

std::vector<std::string> InstanceIndex::Ids() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  ids.reserve(index_.size());
  for (const auto& [id, description] : index_) ids.push_back(id);
  return ids;
}

size_t InstanceIndex::size() const {
  absl::MutexLock lock(&mu_);
  return index_.size();
}

std::vector<v1::Description> InstanceIndex::Matching(const TagMap& filter,
                                                     bool include_properties) const {
  std::vector<v1::Description> matching;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, description] : index_) {
    if (TagsMatch(filter, description.tags())) {
      matching.push_back(View(description, include_properties));
    }
  }
  return matching;
}

std::vector<const v1::Description*> InstanceIndex::All() const {
  absl::MutexLock lock(&mu_);
  std::vector<const v1::Description*> all;
  all.reserve(index_.size());
  for (const auto& [id, description] : index_) all.push_back(&description);
  return all;
}

std::optional<std::string> InstanceIndex::InstanceWithKey(const std::string& key) const {
  if (key.empty()) return std::nullopt;
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.empty()) return std::nullopt;
  return *it->second.begin();
}

void InstanceIndex::SetStamp(const std::string& id, const FileStamp& stamp) {
  absl::MutexLock lock(&mu_);
  stamps_[id] = stamp;
}

void InstanceIndex::ForgetStamp(const std::string& id) {
  absl::MutexLock lock(&mu_);
  stamps_.erase(id);
}

void InstanceIndex::ForgetStamps() {
  absl::MutexLock lock(&mu_);
  stamps_.clear();
}

bool InstanceIndex::Unchanged(const std::string& id, const std::string& path) const {
  FileStamp known;
  {
    absl::MutexLock lock(&mu_);
    auto it = stamps_.find(id);
    if (it == stamps_.end()) return false;
    known = it->second;
  }
  std::optional<FileStamp> now = FileStamp::Of(path);
  return now.has_value() && *now == known;
}

}  // namespace infrakit::plugins::instance::file
