// What every Store must do, as checks to run on any implementation (the file store's and the
// etcd store's tests call them). Each check uses group IDs of its own; run it on an empty store.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_STORE_CONFORMANCE_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_STORE_CONFORMANCE_H_

#include <cstdint>
#include <string>

#include "services/group/state.pb.h"
#include "services/group/store.h"

namespace infrakit::services::group::testing {

// A record of group `id` with `size` members and a little of everything.
GroupRecord ConformanceRecord(const std::string& id, int64_t size);

// Put then LoadAll returns every record (format_version set, the rest equal), ordered by ID.
void CheckRoundTripOrderedById(Store* store);
// A second Put replaces; Delete forgets; deleting an absent group is OK.
void CheckPutReplacesAndDeleteForgets(Store* store);
// IDs that cannot name a record ("", ".hidden", "a/b") are INVALID_ARGUMENT for Put and Delete.
void CheckBadIdsAreRefused(Store* store);

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_STORE_CONFORMANCE_H_
