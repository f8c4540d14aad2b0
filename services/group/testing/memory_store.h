// A Store in memory, for tests: survives a controller (the "disk" of a restart test) and can be
// made to fail.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_MEMORY_STORE_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_MEMORY_STORE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/group/store.h"

namespace infrakit::services::group::testing {

class MemoryStore : public Store {
 public:
  absl::Status Put(const GroupRecord& record) override;
  absl::Status Delete(absl::string_view id) override;
  absl::StatusOr<std::vector<GroupRecord>> LoadAll() override;

  // Put and Delete fail with `status` while it is not OK.
  void set_error(absl::Status status);
  // The stored record of `id`, if any.
  bool Get(const std::string& id, GroupRecord* out);
  int puts();

 private:
  absl::Mutex mu_;
  std::map<std::string, GroupRecord> records_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  int puts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_MEMORY_STORE_H_
