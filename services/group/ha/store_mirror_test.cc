// StoreMirror over a fake etcd client whose watch the test drives: no socket, no thread, no
// time.
#include "services/group/ha/store_mirror.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "spec/group_spec.h"

namespace infrakit::services::group::ha {
namespace {

namespace gv1 = ::infrakit::group::v1;
using ::testing::HasSubstr;

constexpr char kPrefix[] = "/ik/groups/";

// An etcd client holding the keys a Range answers; Watch hands its callback to the test.
class FakeClient : public etcd::Client {
 public:
  struct OpenWatch {
    std::string key;
    int64_t start_revision = 0;
    std::function<void(const etcd::WatchUpdate&)> on_update;
    bool destroyed = false;
  };

  etcd::RangeResult range;
  absl::Status range_error;
  int ranges = 0;
  std::vector<std::shared_ptr<OpenWatch>> watches;

  absl::StatusOr<etcd::RangeResult> Range(absl::string_view key,
                                          absl::string_view range_end) override {
    ++ranges;
    EXPECT_EQ(key, kPrefix);
    EXPECT_EQ(range_end, etcd::PrefixEnd(kPrefix));
    if (!range_error.ok()) return range_error;
    return range;
  }
  absl::StatusOr<int64_t> Put(absl::string_view, absl::string_view, int64_t) override {
    return absl::UnimplementedError("read-only");
  }
  absl::StatusOr<etcd::TxnResult> Txn(const std::vector<etcd::Compare>&,
                                      const std::vector<etcd::Op>&,
                                      const std::vector<etcd::Op>&) override {
    return absl::UnimplementedError("read-only");
  }
  absl::StatusOr<int64_t> LeaseGrant(absl::Duration) override {
    return absl::UnimplementedError("read-only");
  }
  absl::Status LeaseRevoke(int64_t) override { return absl::UnimplementedError("read-only"); }
  std::unique_ptr<etcd::KeepAliveHandle> KeepAlive(
      int64_t, absl::Duration, std::function<void(const absl::Status&)>) override {
    return nullptr;
  }
  std::unique_ptr<etcd::WatchHandle> Watch(
      absl::string_view key, absl::string_view, int64_t start_revision,
      std::function<void(const etcd::WatchUpdate&)> on_update) override {
    auto watch = std::make_shared<OpenWatch>();
    watch->key = std::string(key);
    watch->start_revision = start_revision;
    watch->on_update = std::move(on_update);
    watches.push_back(watch);
    return std::make_unique<Handle>(watch);
  }

 private:
  class Handle : public etcd::WatchHandle {
   public:
    explicit Handle(std::shared_ptr<OpenWatch> watch) : watch_(std::move(watch)) {}
    ~Handle() override { watch_->destroyed = true; }

   private:
    std::shared_ptr<OpenWatch> watch_;
  };
};

gv1::GroupSpec Cattle(const std::string& id, int64_t size) {
  gv1::GroupSpec spec;
  spec.set_id(id);
  spec.mutable_instance()->set_plugin("instance-file");
  spec.mutable_flavor()->set_plugin("flavor-vanilla");
  spec.mutable_allocation()->set_size(size);
  return spec;
}

// The record's JSON as EtcdStore writes it.
std::string Json(const GroupRecord& record) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(record, &json, options).ok());
  return json;
}

etcd::KeyValue Kv(const GroupRecord& record, int64_t revision) {
  etcd::KeyValue kv;
  kv.key = std::string(kPrefix) + record.spec().id();
  kv.value = Json(record);
  kv.create_revision = revision;
  kv.mod_revision = revision;
  return kv;
}

GroupRecord Record(const gv1::GroupSpec& spec) {
  GroupRecord record;
  record.set_format_version(1);
  *record.mutable_spec() = spec;
  return record;
}

etcd::WatchUpdate Put(const GroupRecord& record, int64_t revision) {
  etcd::WatchUpdate update;
  update.revision = revision;
  update.events.push_back({etcd::WatchEvent::Type::kPut, Kv(record, revision)});
  return update;
}

etcd::WatchUpdate Delete(const std::string& id, int64_t revision) {
  etcd::WatchUpdate update;
  update.revision = revision;
  etcd::WatchEvent event;
  event.type = etcd::WatchEvent::Type::kDelete;
  event.kv.key = std::string(kPrefix) + id;
  event.kv.mod_revision = revision;
  update.events.push_back(event);
  return update;
}

std::vector<std::string> Ids(const gv1::ListGroupsResponse& response) {
  std::vector<std::string> ids;
  for (const gv1::GroupSummary& g : response.groups()) ids.push_back(g.spec().id());
  return ids;
}

TEST(StoreMirrorTest, UntilTheFirstReadItAnswersUnavailableNamingWhy) {
  FakeClient client;
  client.range_error = absl::UnavailableError("no member reachable");
  StoreMirror mirror(&client, kPrefix);
  EXPECT_TRUE(mirror.ReadDue());
  absl::Status read = mirror.Refresh();
  EXPECT_TRUE(absl::IsUnavailable(read)) << read;
  EXPECT_THAT(read.message(), HasSubstr("reading the groups under /ik/groups/"));
  absl::StatusOr<gv1::ListGroupsResponse> listed = mirror.ListGroups();
  ASSERT_TRUE(absl::IsUnavailable(listed.status())) << listed.status();
  EXPECT_THAT(listed.status().message(), HasSubstr("not read yet"));
  EXPECT_THAT(listed.status().message(), HasSubstr("no member reachable"));
  EXPECT_TRUE(mirror.ReadDue());
  EXPECT_TRUE(client.watches.empty());
}

TEST(StoreMirrorTest, ReadsEveryRecordThenWatchesFromTheNextRevision) {
  FakeClient client;
  client.range.revision = 10;
  client.range.kvs = {Kv(Record(Cattle("a", 3)), 4), Kv(Record(Cattle("b", 0)), 7)};
  StoreMirror mirror(&client, kPrefix);
  ASSERT_TRUE(mirror.Refresh().ok());
  EXPECT_FALSE(mirror.ReadDue());
  ASSERT_EQ(client.watches.size(), 1u);
  EXPECT_EQ(client.watches[0]->key, kPrefix);
  EXPECT_EQ(client.watches[0]->start_revision, 11);

  absl::StatusOr<gv1::ListGroupsResponse> listed = mirror.ListGroups();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->store_revision(), 10);
  EXPECT_THAT(Ids(*listed), ::testing::ElementsAre("a", "b"));
  const gv1::GroupStatus& a = listed->groups(0).status();
  EXPECT_TRUE(a.from_store());
  EXPECT_EQ(a.desired(), 3);
  EXPECT_EQ(a.config_sha(), spec::ConfigSha(Cattle("a", 3)));
  EXPECT_EQ(a.actual(), 0);  // live: not known here
  EXPECT_FALSE(a.converged());
  EXPECT_EQ(listed->groups(0).spec().allocation().size(), 3);

  // Nothing due: no second read.
  ASSERT_TRUE(mirror.Refresh().ok());
  EXPECT_EQ(client.ranges, 1);
}

TEST(StoreMirrorTest, WatchedChangesAreAppliedInOrderAndOldOnesIgnored) {
  FakeClient client;
  client.range.revision = 10;
  client.range.kvs = {Kv(Record(Cattle("a", 3)), 4)};
  StoreMirror mirror(&client, kPrefix);
  ASSERT_TRUE(mirror.Refresh().ok());
  auto& watch = *client.watches[0];

  watch.on_update(Put(Record(Cattle("a", 5)), 11));
  watch.on_update(Put(Record(Cattle("c", 1)), 12));
  // A change the copy already holds (revision <= 12) changes nothing.
  watch.on_update(Put(Record(Cattle("a", 9)), 9));
  absl::StatusOr<gv1::ListGroupsResponse> listed = mirror.ListGroups();
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(Ids(*listed), ::testing::ElementsAre("a", "c"));
  EXPECT_EQ(listed->groups(0).status().desired(), 5);
  EXPECT_EQ(listed->store_revision(), 12);

  watch.on_update(Delete("a", 13));
  listed = mirror.ListGroups();
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(Ids(*listed), ::testing::ElementsAre("c"));
  EXPECT_EQ(mirror.revision(), 13);
}

TEST(StoreMirrorTest, AnUpdatesStateIsReportedAsStored) {
  FakeClient client;
  client.range.revision = 5;
  GroupRecord rolling = Record(Cattle("rolling", 4));
  rolling.mutable_update()->set_active(true);
  GroupRecord paused = Record(Cattle("paused", 4));
  paused.mutable_update()->set_active(true);
  paused.mutable_update()->set_paused(true);
  paused.mutable_update()->set_pause_reason("instance-9 not healthy within 300s");
  GroupRecord stopped = Record(Cattle("stopped", 4));
  stopped.mutable_update()->set_active(true);
  stopped.mutable_update()->set_stopped(true);
  gv1::GroupSpec pets = Cattle("pets", 0);
  for (const char* id : {"x", "y"}) pets.mutable_allocation()->mutable_logical_ids()->add_ids(id);
  client.range.kvs = {Kv(paused, 1), Kv(Record(pets), 2), Kv(rolling, 3), Kv(stopped, 4)};
  StoreMirror mirror(&client, kPrefix);
  ASSERT_TRUE(mirror.Refresh().ok());
  absl::StatusOr<gv1::ListGroupsResponse> listed = mirror.ListGroups();
  ASSERT_TRUE(listed.ok());
  ASSERT_THAT(Ids(*listed), ::testing::ElementsAre("paused", "pets", "rolling", "stopped"));
  const gv1::GroupStatus& p = listed->groups(0).status();
  EXPECT_TRUE(p.paused());
  EXPECT_FALSE(p.updating());
  EXPECT_EQ(p.last_error(), "instance-9 not healthy within 300s");
  EXPECT_EQ(listed->groups(1).status().desired(), 2);
  EXPECT_TRUE(listed->groups(2).status().updating());
  EXPECT_TRUE(listed->groups(3).status().stopped());
  EXPECT_FALSE(listed->groups(3).status().updating());
}

TEST(StoreMirrorTest, ACorruptRecordIsListedWithWhyItCannotBeRead) {
  FakeClient client;
  client.range.revision = 3;
  etcd::KeyValue broken;
  broken.key = std::string(kPrefix) + "broken";
  broken.value = "not json";
  broken.mod_revision = 2;
  client.range.kvs = {broken};
  StoreMirror mirror(&client, kPrefix);
  ASSERT_TRUE(mirror.Refresh().ok());
  absl::StatusOr<gv1::ListGroupsResponse> listed = mirror.ListGroups();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->groups_size(), 1);
  EXPECT_EQ(listed->groups(0).spec().id(), "broken");
  EXPECT_TRUE(listed->groups(0).status().from_store());
  EXPECT_THAT(listed->groups(0).status().last_error(),
              HasSubstr("etcd key /ik/groups/broken is corrupt"));
}

TEST(StoreMirrorTest, ACompactedWatchMakesItReadEverythingAgainAndWatchAnew) {
  FakeClient client;
  client.range.revision = 10;
  client.range.kvs = {Kv(Record(Cattle("a", 3)), 4), Kv(Record(Cattle("b", 1)), 6)};
  StoreMirror mirror(&client, kPrefix);
  ASSERT_TRUE(mirror.Refresh().ok());
  std::shared_ptr<FakeClient::OpenWatch> first = client.watches[0];

  etcd::WatchUpdate compacted;
  compacted.revision = 10;
  compacted.status = absl::OutOfRangeError("compacted up to revision 30");
  first->on_update(compacted);
  EXPECT_TRUE(mirror.ReadDue());
  // Until read again, the copy as of revision 10 is still served.
  absl::StatusOr<gv1::ListGroupsResponse> listed = mirror.ListGroups();
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(Ids(*listed), ::testing::ElementsAre("a", "b"));
  EXPECT_EQ(listed->store_revision(), 10);

  // Meanwhile b was removed and c added; a read fails once, then succeeds.
  client.range_error = absl::UnavailableError("etcd has no leader");
  EXPECT_FALSE(mirror.Refresh().ok());
  EXPECT_TRUE(mirror.ReadDue());
  EXPECT_TRUE(first->destroyed);
  client.range_error = absl::OkStatus();
  client.range.revision = 40;
  client.range.kvs = {Kv(Record(Cattle("a", 3)), 4), Kv(Record(Cattle("c", 2)), 35)};
  ASSERT_TRUE(mirror.Refresh().ok());
  EXPECT_FALSE(mirror.ReadDue());
  ASSERT_EQ(client.watches.size(), 2u);
  EXPECT_EQ(client.watches[1]->start_revision, 41);
  listed = mirror.ListGroups();
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(Ids(*listed), ::testing::ElementsAre("a", "c"));
  EXPECT_EQ(listed->store_revision(), 40);

  // A late update of the replaced watch changes nothing.
  first->on_update(Delete("a", 50));
  listed = mirror.ListGroups();
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(Ids(*listed), ::testing::ElementsAre("a", "c"));
}

}  // namespace
}  // namespace infrakit::services::group::ha
