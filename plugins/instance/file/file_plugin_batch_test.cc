// FilePlugin's batch calls, and the temporary files behind every write.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/instance/file/file_plugin.h"
#include "plugins/instance/file/file_plugin_test_util.h"
#include "plugins/instance/file/instance_file_format.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::instance::file {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

ino_t InodeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(FilePluginTest, BatchProvisionCreatesEveryInstanceInOrder) {
  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  constexpr int kCount = 50;
  auto response = plugin_->BatchProvision(TutorialBatch(kCount));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_THAT(response->results(), SizeIs(kCount));
  std::vector<std::string> ids;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(response->results(i).has_response()) << i;
    EXPECT_TRUE(response->results(i).response().created());
    ids.push_back(response->results(i).response().id());
    EXPECT_THAT(ids.back(), MatchesRegex("instance-[0-9]+"));
    if (i > 0) EXPECT_LT(ids[i - 1], ids[i]);  // numbered in request order
    // The file is what Provision writes: the original InfraKit's format, with this item's spec.
    auto decoded = DecodeInstanceFile(ids.back(), ReadAll(absl::StrCat(dir_, "/", ids.back())));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->tags().at("n"), absl::StrCat(i));
    EXPECT_EQ(decoded->spec().init(), TutorialRequest().spec().init());
  }
  EXPECT_EQ(InstanceFiles(dir_), ids);  // no temporary file left behind
  v1::DescribeRequest describe;
  (*describe.mutable_tags())["n"] = "7";
  auto described = plugin_->Describe(describe);
  ASSERT_TRUE(described.ok());
  ASSERT_THAT(described->instances(), SizeIs(1));
  EXPECT_EQ(described->instances(0).id(), ids[7]);
  // One ADDED each, and no second one from the inotify echo of our own links.
  auto events = sink.WaitForEvents(kCount + 1);
  std::vector<std::string> added;
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type(), v1::EVENT_TYPE_ADDED);
    added.push_back(events[i].instance().id());
  }
  EXPECT_EQ(added, ids);
  auto more = plugin_->BatchProvision(TutorialBatch(1));  // a batch of one: Provision itself
  ASSERT_TRUE(more.ok()) << more.status();
  ASSERT_TRUE(more->results(0).has_response());
  ASSERT_TRUE(WaitFor([&] { return sink.Events().size() >= kCount + 2; }));
  EXPECT_EQ(sink.Events().size(), kCount + 2);
  EXPECT_EQ(sink.Events().back().instance().id(), more->results(0).response().id());
}

TEST_F(FilePluginTest, BatchProvisionFailsABadItemAloneAndAnEmptyBatchDoesNothing) {
  v1::BatchProvisionRequest batch = TutorialBatch(5);
  (*batch.mutable_requests(2)->mutable_spec()->mutable_tags())[""] = "x";
  batch.mutable_requests(4)->mutable_spec()->add_attachments()->set_type("volume");
  auto response = plugin_->BatchProvision(batch);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_THAT(response->results(), SizeIs(5));
  for (int i : {0, 1, 3}) EXPECT_TRUE(response->results(i).has_response()) << i;
  ASSERT_TRUE(response->results(2).has_error());
  EXPECT_EQ(response->results(2).error().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(response->results(2).error().message(), HasSubstr("spec.tags"));
  ASSERT_TRUE(response->results(4).has_error());
  EXPECT_THAT(response->results(4).error().message(), HasSubstr("spec.attachments[0].id"));
  EXPECT_THAT(InstanceFiles(dir_), SizeIs(3));

  auto empty = plugin_->BatchProvision(v1::BatchProvisionRequest());
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(empty->results(), IsEmpty());
  EXPECT_THAT(InstanceFiles(dir_), SizeIs(3));
}

TEST_F(FilePluginTest, BatchProvisionRefusesMoreThanTheLimitAndCreatesNothing) {
  auto response = plugin_->BatchProvision(TutorialBatch(spi::kMaxBatchSize + 1));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("1001"));
  EXPECT_THAT(InstanceFiles(dir_), IsEmpty());
}

TEST_F(FilePluginTest, BatchProvisionTreatsARepeatedKeyAsARetry) {
  v1::ProvisionRequest earlier = TutorialRequest();
  earlier.mutable_spec()->set_idempotency_key("old");
  const std::string old_id = Provision(earlier);

  v1::BatchProvisionRequest batch = TutorialBatch(5);
  for (int i : {0, 2, 3}) batch.mutable_requests(i)->mutable_spec()->set_idempotency_key("k");
  batch.mutable_requests(1)->mutable_spec()->set_idempotency_key("old");
  // An invalid item with the key fails alone and takes nothing from the others.
  (*batch.mutable_requests(0)->mutable_spec()->mutable_tags())[""] = "x";
  auto response = plugin_->BatchProvision(batch);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_THAT(response->results(), SizeIs(5));
  EXPECT_TRUE(response->results(0).has_error());
  ASSERT_TRUE(response->results(1).has_response());
  EXPECT_EQ(response->results(1).response().id(), old_id);
  EXPECT_FALSE(response->results(1).response().created());
  ASSERT_TRUE(response->results(2).has_response());
  EXPECT_TRUE(response->results(2).response().created());
  const std::string k_id = response->results(2).response().id();
  ASSERT_TRUE(response->results(3).has_response());
  EXPECT_EQ(response->results(3).response().id(), k_id);
  EXPECT_FALSE(response->results(3).response().created());
  ASSERT_TRUE(response->results(4).has_response());
  EXPECT_TRUE(response->results(4).response().created());
  EXPECT_THAT(InstanceFiles(dir_), SizeIs(3));  // old, k and item 4

  // Persisted in the files: a restarted plugin knows the keys.
  plugin_.reset();
  auto restarted = FilePlugin::Create(dir_);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  v1::BatchProvisionRequest retry;
  *retry.add_requests() = batch.requests(3);
  auto again = (*restarted)->BatchProvision(retry);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(again->results(0).has_response());
  EXPECT_EQ(again->results(0).response().id(), k_id);
  EXPECT_FALSE(again->results(0).response().created());
  EXPECT_THAT(InstanceFiles(dir_), SizeIs(3));
}

TEST_F(FilePluginTest, ConcurrentBatchesWithTheSameKeysCreateOneInstancePerKey) {
  constexpr int kThreads = 4;
  constexpr int kKeys = 20;
  v1::BatchProvisionRequest batch = TutorialBatch(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    batch.mutable_requests(i)->mutable_spec()->set_idempotency_key(absl::StrCat("key-", i));
  }
  std::vector<absl::StatusOr<v1::BatchProvisionResponse>> responses(kThreads,
                                                                    absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { responses[t] = plugin_->BatchProvision(batch); });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kKeys; ++i) {
    int created = 0;
    for (const auto& response : responses) {
      ASSERT_TRUE(response.ok()) << response.status();
      ASSERT_TRUE(response->results(i).has_response());
      EXPECT_EQ(response->results(i).response().id(), responses[0]->results(i).response().id());
      created += response->results(i).response().created() ? 1 : 0;
    }
    EXPECT_EQ(created, 1) << i;
  }
  EXPECT_THAT(InstanceFiles(dir_), SizeIs(kKeys));
}

// Writes through both kinds of temporary files give the same instances: complete files of mode
// 0644 under their IDs, nothing else in the directory, each announced once.
void ProvisionsCompleteFilesOnly(const FilePlugin::Options& options, bool unnamed) {
  const std::string dir = MakeDir();
  auto plugin = FilePlugin::Create(dir, options);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  RecordingSink sink;
  auto handle = (*plugin)->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  auto batch = (*plugin)->BatchProvision(TutorialBatch(5));
  ASSERT_TRUE(batch.ok()) << batch.status();
  auto one = (*plugin)->Provision(TutorialRequest());
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ((*plugin)->unnamed_temp_files(), unnamed);
  std::vector<std::string> ids;
  for (const auto& result : batch->results()) {
    ASSERT_TRUE(result.has_response());
    ids.push_back(result.response().id());
  }
  ids.push_back(one->id());
  EXPECT_EQ(InstanceFiles(dir), ids);  // no temporary file left, named or not
  for (const std::string& id : ids) {
    const std::string path = absl::StrCat(dir, "/", id);
    auto decoded = DecodeInstanceFile(id, ReadAll(path));
    ASSERT_TRUE(decoded.ok()) << id << ": " << decoded.status();
    EXPECT_EQ(decoded->spec().init(), TutorialRequest().spec().init());
    EXPECT_EQ(std::filesystem::status(path).permissions(),
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                  std::filesystem::perms::group_read | std::filesystem::perms::others_read);
  }
  auto events = sink.WaitForEvents(ids.size() + 1);
  ASSERT_THAT(events, SizeIs(ids.size() + 1));
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(Describe(events[i]), absl::StrCat("EVENT_TYPE_ADDED ", ids[i - 1]));
  }
}

TEST(FilePluginTempFileTest, UnnamedFilesWhereTheFilesystemHasThem) {
  const std::string dir = MakeDir();
  const int fd = open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) GTEST_SKIP() << dir << " has no O_TMPFILE: " << strerror(errno);
  close(fd);
  ProvisionsCompleteFilesOnly(FilePlugin::Options(), /*unnamed=*/true);
}

TEST(FilePluginTempFileTest, NamedTemporaryFilesAsTheFallback) {
  FilePlugin::Options options;
  options.unnamed_temp_files = false;
  ProvisionsCompleteFilesOnly(options, /*unnamed=*/false);
}

TEST(FilePluginTempFileTest, NamedTemporaryFilesForLabels) {
  // Label replaces a file by renaming a named temporary file over it, with either option.
  const std::string dir = MakeDir();
  auto plugin = FilePlugin::Create(dir);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  auto one = (*plugin)->Provision(TutorialRequest());
  ASSERT_TRUE(one.ok()) << one.status();
  v1::LabelRequest label;
  label.set_id(one->id());
  (*label.mutable_labels())["color"] = "blue";
  ASSERT_TRUE((*plugin)->Label(label).ok());
  EXPECT_THAT(InstanceFiles(dir), ElementsAre(one->id()));
  auto decoded = DecodeInstanceFile(one->id(), ReadAll(absl::StrCat(dir, "/", one->id())));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->tags().at("color"), "blue");
}

TEST_F(FilePluginTest, ConcurrentBatchesCreateDistinctCompleteInstances) {
  constexpr int kThreads = 8;
  constexpr int kPerBatch = 25;
  std::vector<absl::StatusOr<v1::BatchProvisionResponse>> responses(kThreads,
                                                                    absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(
        [&, t] { responses[t] = plugin_->BatchProvision(TutorialBatch(kPerBatch)); });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> ids;
  for (const auto& response : responses) {
    ASSERT_TRUE(response.ok()) << response.status();
    for (int i = 0; i < kPerBatch; ++i) {
      ASSERT_TRUE(response->results(i).has_response()) << i;
      const std::string& id = response->results(i).response().id();
      ids.insert(id);
      auto decoded = DecodeInstanceFile(id, ReadAll(absl::StrCat(dir_, "/", id)));
      ASSERT_TRUE(decoded.ok()) << id << ": " << decoded.status();
      EXPECT_EQ(decoded->tags().at("n"), absl::StrCat(i));
    }
  }
  EXPECT_THAT(ids, SizeIs(kThreads * kPerBatch));
  EXPECT_EQ(InstanceFiles(dir_), std::vector<std::string>(ids.begin(), ids.end()));
  auto described = plugin_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(described.ok());
  EXPECT_THAT(described->instances(), SizeIs(kThreads * kPerBatch));
}

TEST_F(FilePluginTest, BatchDestroyFailsUnknownAndBadIdsAlone) {
  const std::string a = Provision();
  const std::string b = Provision();
  const std::string kept = Provision();
  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  v1::BatchDestroyRequest request;
  for (const std::string& id : {a, std::string("instance-404"), std::string(".tmp-x"), b}) {
    request.add_requests()->set_id(id);
  }
  auto response = plugin_->BatchDestroy(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_THAT(response->results(), SizeIs(4));
  EXPECT_EQ(response->results(0).code(), 0);
  EXPECT_EQ(response->results(1).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_THAT(response->results(1).message(), HasSubstr("instance-404"));
  EXPECT_EQ(response->results(2).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(response->results(3).code(), 0);
  EXPECT_THAT(InstanceFiles(dir_), ElementsAre(kept));
  auto described = plugin_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(described.ok());
  ASSERT_THAT(described->instances(), SizeIs(1));
  EXPECT_EQ(described->instances(0).id(), kept);

  // The echoes of the removals are no events; a file created again under a destroyed name is.
  WriteByHand(absl::StrCat(dir_, "/", a), ReadAll(absl::StrCat(dir_, "/", kept)));
  auto events = sink.WaitForEvents(7);
  EXPECT_THAT(
      Describe(events),
      ElementsAre(absl::StrCat("EVENT_TYPE_ADDED ", a), absl::StrCat("EVENT_TYPE_ADDED ", b),
                  absl::StrCat("EVENT_TYPE_ADDED ", kept), "EVENT_TYPE_SYNCED ",
                  absl::StrCat("EVENT_TYPE_REMOVED ", a), absl::StrCat("EVENT_TYPE_REMOVED ", b),
                  absl::StrCat("EVENT_TYPE_ADDED ", a)));
  // Destroying it again works, and a second destroy of it fails alone.
  v1::BatchDestroyRequest again;
  again.add_requests()->set_id(a);
  again.add_requests()->set_id(a);
  auto second = plugin_->BatchDestroy(again);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->results(0).code(), 0);
  EXPECT_EQ(second->results(1).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_THAT(InstanceFiles(dir_), ElementsAre(kept));
}

TEST_F(FilePluginTest, BatchDestroyOfManyUnlinksThemAllOnceEvenWhenRepeated) {
  // Enough items for the unlinks to run on several threads.
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(Provision());
  const std::string kept = Provision();
  v1::BatchDestroyRequest request;
  for (const std::string& id : ids) request.add_requests()->set_id(id);
  request.add_requests()->set_id(ids[7]);  // the second of two Destroys of one instance
  auto response = plugin_->BatchDestroy(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_THAT(response->results(), SizeIs(101));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(response->results(i).code(), 0) << i;
  EXPECT_EQ(response->results(100).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_THAT(response->results(100).message(), HasSubstr(ids[7]));
  EXPECT_THAT(InstanceFiles(dir_), ElementsAre(kept));
  auto described = plugin_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(described.ok());
  ASSERT_THAT(described->instances(), SizeIs(1));
}

TEST_F(FilePluginTest, BatchDestroyRefusesMoreThanTheLimitAndDestroysNothing) {
  const std::string id = Provision();
  v1::BatchDestroyRequest request;
  for (int i = 0; i < 1001; ++i) request.add_requests()->set_id(id);
  auto response = plugin_->BatchDestroy(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(InstanceFiles(dir_), ElementsAre(id));
}

// Destroyed instances' files become spares (spare_files.h), and new instances are written into
// them: the same inodes, with exactly the new contents, and the watch events of plain files.
TEST_F(FilePluginTest, DestroyedInstancesFilesAreReusedWithOnlyTheNewContents) {
  constexpr int kCount = 40;
  auto first = plugin_->BatchProvision(TutorialBatch(kCount));
  ASSERT_TRUE(first.ok()) << first.status();
  std::set<ino_t> old_inodes;
  v1::BatchDestroyRequest destroy;
  for (const v1::ProvisionResult& result : first->results()) {
    old_inodes.insert(InodeOf(absl::StrCat(dir_, "/", result.response().id())));
    destroy.add_requests()->set_id(result.response().id());
  }
  ASSERT_THAT(old_inodes, SizeIs(kCount));
  ASSERT_TRUE(plugin_->BatchDestroy(destroy).ok());
  EXPECT_THAT(InstanceFiles(dir_), IsEmpty());
  ASSERT_THAT(SpareNames(dir_), SizeIs(kCount)) << "every file kept as a spare";
  for (const std::string& spare : SpareNames(dir_)) {
    EXPECT_EQ(std::filesystem::file_size(absl::StrCat(dir_, "/.spare/", spare)), 0u) << spare;
  }

  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  v1::BatchProvisionRequest again = TutorialBatch(kCount - 1);
  *again.add_requests() = TutorialRequest();  // untagged: the 40th spare
  auto second = plugin_->BatchProvision(again);
  ASSERT_TRUE(second.ok()) << second.status();
  const std::string single = Provision();
  std::vector<std::string> ids;
  for (const v1::ProvisionResult& result : second->results()) {
    ASSERT_TRUE(result.has_response());
    ids.push_back(result.response().id());
  }
  ids.push_back(single);
  std::set<ino_t> new_inodes;
  for (int i = 0; i < kCount + 1; ++i) {
    const std::string path = absl::StrCat(dir_, "/", ids[i]);
    new_inodes.insert(InodeOf(path));
    auto decoded = DecodeInstanceFile(ids[i], ReadAll(path));
    ASSERT_TRUE(decoded.ok()) << ids[i] << ": " << decoded.status();
    if (i < kCount - 1) EXPECT_EQ(decoded->tags().at("n"), absl::StrCat(i));
  }
  EXPECT_EQ(new_inodes.size(), static_cast<size_t>(kCount + 1));
  int reused = 0;
  for (ino_t inode : new_inodes) reused += old_inodes.count(inode);
  EXPECT_EQ(reused, kCount) << "every spare reused; the last instance is a new file";
  EXPECT_THAT(SpareNames(dir_), IsEmpty()) << "no spare or claim left";
  // One ADDED each after SYNCED, none from the echoes of our own links.
  // A file made by hand is announced by the directory watcher only, after every echo of our
  // own links it read before: nothing may come between.
  sink.WaitForEvents(kCount + 2);
  const std::string by_hand = "instance-by-hand";
  WriteByHand(absl::StrCat(dir_, "/", by_hand), ReadAll(absl::StrCat(dir_, "/", single)));
  std::vector<v1::WatchResponse> events = sink.WaitForEvents(kCount + 3);
  ASSERT_THAT(events, SizeIs(kCount + 3)) << absl::StrJoin(Describe(events), "\n");
  EXPECT_EQ(Describe(events).back(), "EVENT_TYPE_ADDED " + by_hand);
}

TEST_F(FilePluginTest, WithoutSpareFilesADestroyedFileIsUnlinked) {
  FilePlugin::Options options;
  options.spare_files = 0;
  const std::string dir = MakeDir();
  auto plugin = FilePlugin::Create(dir, options);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  auto created = (*plugin)->Provision(TutorialRequest());
  ASSERT_TRUE(created.ok());
  v1::DestroyRequest destroy;
  destroy.set_id(created->id());
  ASSERT_TRUE((*plugin)->Destroy(destroy).ok());
  EXPECT_THAT(::infrakit::testing::SortedNames(dir), IsEmpty()) << "no .spare either";
}

}  // namespace
}  // namespace infrakit::plugins::instance::file
