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
  Instances::Value old = index_.Find(id);
  if (old == nullptr && !now) return std::nullopt;
  if (old != nullptr && now && google::protobuf::util::MessageDifferencer::Equals(*old, *now)) {
    return std::nullopt;
  }
  if (old != nullptr && !old->spec().idempotency_key().empty()) {
    auto key = keys_.find(old->spec().idempotency_key());
    if (key != keys_.end()) {
      key->second.erase(id);
      if (key->second.empty()) keys_.erase(key);
    }
  }
  Change change;
  if (old != nullptr) change.before = *old;
  if (!now) {
    index_.Erase(id);
    return change;
  }
  if (!now->spec().idempotency_key().empty()) keys_[now->spec().idempotency_key()].insert(id);
  auto after = std::make_shared<const v1::Description>(*std::move(now));
  change.after = after.get();
  index_.Set(id, std::move(after));
  return change;
}

std::optional<v1::Description> InstanceIndex::Find(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  Instances::Value found = index_.Find(id);
  if (found == nullptr) return std::nullopt;
  return *found;
}

bool InstanceIndex::Contains(const std::string& id) const {
  absl::MutexLock lock(&mu_);
  return index_.Find(id) != nullptr;
}

std::shared_ptr<const InstanceIndex::Instances::Snapshot> InstanceIndex::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return index_.snapshot();
}

std::vector<std::string> InstanceIndex::Ids() const {
  std::shared_ptr<const Instances::Snapshot> all = Snapshot();
  std::vector<std::string> ids;
  ids.reserve(all->size());
  all->ForEach([&](const Instances::Entry& e) {
    ids.push_back(e.key);
    return true;
  });
  return ids;
}

size_t InstanceIndex::size() const {
  absl::MutexLock lock(&mu_);
  return index_.size();
}

std::vector<v1::Description> InstanceIndex::Matching(const TagMap& filter,
                                                     bool include_properties) const {
  std::vector<v1::Description> matching;
  // Copied from a snapshot, without the lock that writes wait for.
  Snapshot()->ForEach([&](const Instances::Entry& e) {
    if (TagsMatch(filter, e.value->tags())) matching.push_back(View(*e.value, include_properties));
    return true;
  });
  return matching;
}

void InstanceIndex::MatchingPage(const TagMap& filter, bool include_properties,
                                 const common::PageCursor& cursor, absl::string_view fingerprint,
                                 v1::DescribeResponse* out) const {
  common::PageBuilder page(cursor, fingerprint);
  Snapshot()->ForEachAfter(cursor.after_key, [&](const Instances::Entry& e) {
    if (!TagsMatch(filter, e.value->tags())) return true;
    // Built in place (on the response's arena, when it has one), then dropped if the page is
    // full without it.
    v1::Description* view = out->add_instances();
    ViewInto(*e.value, include_properties, view);
    if (page.Offer(e.key, view->ByteSizeLong())) return true;
    out->mutable_instances()->RemoveLast();
    return false;
  });
  out->set_next_page_token(page.next_page_token());
}

std::vector<const v1::Description*> InstanceIndex::All() const {
  std::shared_ptr<const Instances::Snapshot> all = Snapshot();
  std::vector<const v1::Description*> out;
  out.reserve(all->size());
  all->ForEach([&](const Instances::Entry& e) {
    out.push_back(e.value.get());
    return true;
  });
  return out;
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
