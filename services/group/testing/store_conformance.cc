#include "services/group/testing/store_conformance.h"

#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace infrakit::services::group::testing {
namespace {

bool SameButFormat(const GroupRecord& a, const GroupRecord& b) {
  GroupRecord x = a, y = b;
  x.clear_format_version();
  y.clear_format_version();
  return google::protobuf::util::MessageDifferencer::Equals(x, y);
}

}  // namespace

GroupRecord ConformanceRecord(const std::string& id, int64_t size) {
  GroupRecord r;
  r.mutable_spec()->set_id(id);
  r.mutable_spec()->mutable_instance()->set_plugin("instance-file");
  (*r.mutable_spec()->mutable_instance()->mutable_properties()->mutable_fields())["Note"]
      .set_string_value("v1");
  r.mutable_spec()->mutable_flavor()->set_plugin("flavor-vanilla");
  r.mutable_spec()->mutable_allocation()->set_size(size);
  r.set_sequence_reserved(1024);
  return r;
}

void CheckRoundTripOrderedById(Store* store) {
  GroupRecord b = ConformanceRecord("workers", 5);
  b.mutable_update()->set_active(true);
  b.mutable_update()->set_generation(3);
  *b.mutable_update()->mutable_previous_spec() = ConformanceRecord("workers", 4).spec();
  ASSERT_TRUE(store->Put(b).ok());
  ASSERT_TRUE(store->Put(ConformanceRecord("cattle", 3)).ok());
  absl::StatusOr<std::vector<GroupRecord>> loaded = store->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].spec().id(), "cattle");
  EXPECT_TRUE(SameButFormat((*loaded)[0], ConformanceRecord("cattle", 3)));
  EXPECT_TRUE(SameButFormat((*loaded)[1], b));
  EXPECT_EQ((*loaded)[1].format_version(), 1);
}

void CheckPutReplacesAndDeleteForgets(Store* store) {
  ASSERT_TRUE(store->Put(ConformanceRecord("herd", 3)).ok());
  ASSERT_TRUE(store->Put(ConformanceRecord("herd", 7)).ok());
  absl::StatusOr<std::vector<GroupRecord>> loaded = store->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].spec().allocation().size(), 7);
  ASSERT_TRUE(store->Delete("herd").ok());
  EXPECT_TRUE(store->Delete("herd").ok());  // absent: fine
  loaded = store->LoadAll();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
}

void CheckBadIdsAreRefused(Store* store) {
  for (const char* bad : {"", ".hidden", "a/b"}) {
    EXPECT_EQ(store->Put(ConformanceRecord(bad, 1)).code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(store->Delete(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::StatusOr<std::vector<GroupRecord>> loaded = store->LoadAll();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
}

}  // namespace infrakit::services::group::testing
