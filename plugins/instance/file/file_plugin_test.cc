#include "plugins/instance/file/file_plugin.h"

#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/instance/file/file_plugin_test_util.h"
#include "plugins/instance/file/instance_file_format.h"

namespace infrakit::plugins::instance::file {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

TEST_F(FilePluginTest, WritesTheOriginalFormat) {
  const std::string id = Provision();
  EXPECT_THAT(id, MatchesRegex("instance-[0-9]+"));
  EXPECT_THAT(InstanceFiles(dir_), ElementsAre(id));

  const std::string contents = ReadAll(absl::StrCat(dir_, "/", id));
  EXPECT_EQ(contents, absl::StrCat(R"({
  "ID": ")",
                                   id, R"(",
  "LogicalID": null,
  "Tags": {
    "infrakit.config_sha": "Y23cKqyRpkQ_M60vIq7CufFmQWk=",
    "infrakit.group": "cattle",
    "project": "infrakit",
    "tier": "web"
  },
  "Spec": {
    "Properties": {
      "Note": "Instance properties version 1.0"
    },
    "Tags": {
      "infrakit.config_sha": "Y23cKqyRpkQ_M60vIq7CufFmQWk=",
      "infrakit.group": "cattle",
      "project": "infrakit",
      "tier": "web"
    },
    "Init": "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start",
    "LogicalID": null,
    "Attachments": null
  },
  "FormatVersion": 1
}
)"));
  // Readable by anyone, like the original InfraKit's -rw-r--r-- files.
  EXPECT_EQ(std::filesystem::status(absl::StrCat(dir_, "/", id)).permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::others_read);
}

TEST_F(FilePluginTest, DescribeReturnsWhatWasProvisioned) {
  const std::string id = Provision();
  v1::DescribeRequest request;
  request.set_include_properties(true);
  auto described = plugin_->Describe(request);
  ASSERT_TRUE(described.ok()) << described.status();
  ASSERT_THAT(described->instances(), SizeIs(1));
  const v1::Description& d = described->instances(0);
  EXPECT_EQ(d.id(), id);
  EXPECT_EQ(d.state(), v1::LIFECYCLE_STATE_RUNNING);
  EXPECT_EQ(d.tags().at("infrakit.group"), "cattle");
  EXPECT_EQ(d.spec().init(), TutorialRequest().spec().init());
  EXPECT_EQ(d.spec().properties().fields().at("Note").string_value(),
            "Instance properties version 1.0");
  EXPECT_EQ(d.properties().fields().at("Path").string_value(), absl::StrCat(dir_, "/", id));

  auto without = plugin_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(without.ok());
  ASSERT_THAT(without->instances(), SizeIs(1));
  EXPECT_FALSE(without->instances(0).has_spec());
  EXPECT_FALSE(without->instances(0).has_properties());
}

TEST_F(FilePluginTest, IdsNeverCollideInATightLoop) {
  constexpr int kCount = 500;
  std::set<std::string> ids;
  for (int i = 0; i < kCount; ++i) ids.insert(Provision());
  EXPECT_THAT(ids, SizeIs(kCount));
  for (const std::string& id : ids) EXPECT_THAT(id, MatchesRegex("instance-[0-9]+"));
  EXPECT_THAT(InstanceFiles(dir_), SizeIs(kCount));  // no temporary file left behind
  auto described = plugin_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(described.ok());
  ASSERT_THAT(described->instances(), SizeIs(kCount));
  // Ordered by ID.
  for (int i = 1; i < kCount; ++i) {
    EXPECT_LT(described->instances(i - 1).id(), described->instances(i).id());
  }
}

TEST_F(FilePluginTest, IdsNeverCollideAcrossThreads) {
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) ids[t].push_back(Provision());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& list : ids) all.insert(list.begin(), list.end());
  EXPECT_THAT(all, SizeIs(kThreads * kEach));
}

TEST_F(FilePluginTest, IdempotencyKeySurvivesARestart) {
  v1::ProvisionRequest request = TutorialRequest();
  request.mutable_spec()->set_idempotency_key("cattle-7");
  auto first = plugin_->Provision(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created());
  auto again = plugin_->Provision(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created());
  EXPECT_EQ(again->id(), first->id());
  EXPECT_THAT(ReadAll(absl::StrCat(dir_, "/", first->id())),
              HasSubstr(R"("IdempotencyKey": "cattle-7")"));

  plugin_.reset();
  auto restarted = FilePlugin::Create(dir_);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  auto after = (*restarted)->Provision(request);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_FALSE(after->created());
  EXPECT_EQ(after->id(), first->id());
  EXPECT_THAT(InstanceFiles(dir_), SizeIs(1));

  // Another key is another instance.
  request.mutable_spec()->set_idempotency_key("cattle-8");
  auto other = (*restarted)->Provision(request);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->created());
  EXPECT_NE(other->id(), first->id());
}

TEST_F(FilePluginTest, ConcurrentRetriesCreateOneInstance) {
  v1::ProvisionRequest request = TutorialRequest();
  request.mutable_spec()->set_idempotency_key("same");
  constexpr int kThreads = 8;
  std::vector<absl::StatusOr<v1::ProvisionResponse>> responses(kThreads,
                                                               absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { responses[t] = plugin_->Provision(request); });
  }
  for (auto& thread : threads) thread.join();
  int created = 0;
  for (const auto& response : responses) {
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->id(), responses[0]->id());
    created += response->created() ? 1 : 0;
  }
  EXPECT_EQ(created, 1);
  EXPECT_THAT(InstanceFiles(dir_), SizeIs(1));
}

TEST_F(FilePluginTest, RejectsBadSpecsAndChangesNothing) {
  v1::ProvisionRequest request = TutorialRequest();
  (*request.mutable_spec()->mutable_tags())[""] = "x";
  auto response = plugin_->Provision(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("spec.tags"));

  request = TutorialRequest();
  request.mutable_spec()->add_attachments()->set_type("volume");
  response = plugin_->Provision(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("spec.attachments[0].id"));
  EXPECT_THAT(InstanceFiles(dir_), IsEmpty());
}

TEST_F(FilePluginTest, DestroyRemovesTheFile) {
  const std::string id = Provision();
  v1::DestroyRequest request;
  request.set_id(id);
  request.set_reason(v1::DESTROY_REASON_SCALE_DOWN);
  EXPECT_TRUE(plugin_->Destroy(request).ok());
  EXPECT_THAT(InstanceFiles(dir_), IsEmpty());
  auto described = plugin_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(described.ok());
  EXPECT_THAT(described->instances(), IsEmpty());

  EXPECT_EQ(plugin_->Destroy(request).code(), absl::StatusCode::kNotFound);
  request.set_id("instance-0");
  EXPECT_EQ(plugin_->Destroy(request).code(), absl::StatusCode::kNotFound);
  for (const char* bad : {"", "../etc", ".tmp-123", "a/b"}) {
    request.set_id(bad);
    EXPECT_EQ(plugin_->Destroy(request).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(FilePluginTest, DestroyLeavesFilesThatAreNotInstances) {
  WriteByHand(absl::StrCat(dir_, "/notes.txt"), "my notes");
  v1::DestroyRequest request;
  request.set_id("notes.txt");
  EXPECT_EQ(plugin_->Destroy(request).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(std::filesystem::exists(absl::StrCat(dir_, "/notes.txt")));
}

TEST_F(FilePluginTest, DescribeFiltersByAllTags) {
  v1::ProvisionRequest a = TutorialRequest();
  const std::string web = Provision(a);
  v1::ProvisionRequest b = TutorialRequest();
  (*b.mutable_spec()->mutable_tags())["tier"] = "db";
  const std::string db = Provision(b);

  v1::DescribeRequest request;
  (*request.mutable_tags())["infrakit.group"] = "cattle";
  auto both = plugin_->Describe(request);
  ASSERT_TRUE(both.ok());
  ASSERT_THAT(both->instances(), SizeIs(2));
  EXPECT_EQ(both->instances(0).id(), web);
  EXPECT_EQ(both->instances(1).id(), db);

  (*request.mutable_tags())["tier"] = "db";
  auto one = plugin_->Describe(request);
  ASSERT_TRUE(one.ok());
  ASSERT_THAT(one->instances(), SizeIs(1));
  EXPECT_EQ(one->instances(0).id(), db);

  (*request.mutable_tags())["tier"] = "cache";
  auto none = plugin_->Describe(request);
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(none->instances(), IsEmpty());
}

TEST_F(FilePluginTest, LabelIsPersistedAndKeepsTheSpec) {
  const std::string id = Provision();
  v1::LabelRequest request;
  request.set_id(id);
  (*request.mutable_labels())["tier"] = "frontend";
  (*request.mutable_labels())["owner"] = "ops";
  auto labelled = plugin_->Label(request);
  ASSERT_TRUE(labelled.ok()) << labelled.status();
  EXPECT_EQ(labelled->instance().tags().at("tier"), "frontend");
  EXPECT_EQ(labelled->instance().tags().at("owner"), "ops");
  EXPECT_EQ(labelled->instance().tags().at("infrakit.group"), "cattle");

  auto decoded = DecodeInstanceFile(id, ReadAll(absl::StrCat(dir_, "/", id)));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->tags().at("tier"), "frontend");
  EXPECT_EQ(decoded->tags().at("owner"), "ops");
  EXPECT_EQ(decoded->spec().tags().at("tier"), "web");
  EXPECT_EQ(decoded->spec().tags().count("owner"), 0);

  plugin_.reset();
  auto restarted = FilePlugin::Create(dir_);
  ASSERT_TRUE(restarted.ok());
  v1::DescribeRequest filter;
  (*filter.mutable_tags())["owner"] = "ops";
  auto described = (*restarted)->Describe(filter);
  ASSERT_TRUE(described.ok());
  ASSERT_THAT(described->instances(), SizeIs(1));
  EXPECT_EQ(described->instances(0).id(), id);
}

TEST_F(FilePluginTest, LabelErrors) {
  v1::LabelRequest request;
  request.set_id("instance-0");
  (*request.mutable_labels())["a"] = "b";
  EXPECT_EQ(plugin_->Label(request).status().code(), absl::StatusCode::kNotFound);
  request.set_id(Provision());
  (*request.mutable_labels())[""] = "b";
  EXPECT_EQ(plugin_->Label(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FilePluginCreateTest, CreatesAMissingDirectory) {
  const std::string dir = absl::StrCat(MakeDir(), "/not/yet/there");
  auto plugin = FilePlugin::Create(dir);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  EXPECT_TRUE(std::filesystem::is_directory(dir));
}

TEST(FilePluginCreateTest, FailsOnAFile) {
  const std::string file = absl::StrCat(MakeDir(), "/file");
  WriteByHand(file, "x");
  EXPECT_FALSE(FilePlugin::Create(file).ok());
}

// A file that does not decode at start (its instance would look gone and be replaced) stops
// the plugin, naming the file and what to do; removed, the plugin starts.
TEST(FilePluginCreateTest, RefusesUndecodableFilesAtStartSayingWhatToDo) {
  const std::string dir = MakeDir();
  v1::Description good;
  good.set_id("instance-1");
  WriteByHand(absl::StrCat(dir, "/instance-1"), *EncodeInstanceFile(good));
  const std::string text = *EncodeInstanceFile(good);
  const std::vector<std::pair<std::string, absl::StatusCode>> bad = {
      {"{not json", absl::StatusCode::kInvalidArgument},
      {"", absl::StatusCode::kInvalidArgument},
      {text.substr(0, text.size() / 2), absl::StatusCode::kInvalidArgument},
      {R"({"ID": "x", "FormatVersion": 9})", absl::StatusCode::kFailedPrecondition},
  };
  for (const auto& [contents, code] : bad) {
    const std::string path = absl::StrCat(dir, "/instance-2");
    WriteByHand(path, contents);
    auto plugin = FilePlugin::Create(dir);
    ASSERT_FALSE(plugin.ok()) << contents;
    EXPECT_EQ(plugin.status().code(), code) << plugin.status();
    EXPECT_THAT(plugin.status().message(), HasSubstr(path));
    EXPECT_THAT(plugin.status().message(), HasSubstr("move it out of " + dir));
    ASSERT_EQ(unlink(path.c_str()), 0);
  }
  EXPECT_TRUE(FilePlugin::Create(dir).ok());
}

TEST(FilePluginCreateTest, SkipsDotFilesAndDirectories) {
  const std::string dir = MakeDir();
  v1::Description good;
  good.set_id("instance-1");
  (*good.mutable_tags())["a"] = "b";
  WriteByHand(absl::StrCat(dir, "/instance-1"), *EncodeInstanceFile(good));
  WriteByHand(absl::StrCat(dir, "/.garbage"), "{not json");
  good.set_id(".tmp-abc");
  WriteByHand(absl::StrCat(dir, "/.tmp-abc"), *EncodeInstanceFile(good));
  std::filesystem::create_directory(absl::StrCat(dir, "/subdir"));

  auto plugin = FilePlugin::Create(dir);
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  auto described = (*plugin)->Describe(v1::DescribeRequest());
  ASSERT_TRUE(described.ok());
  ASSERT_THAT(described->instances(), SizeIs(1));
  EXPECT_EQ(described->instances(0).id(), "instance-1");
  EXPECT_EQ(described->instances(0).tags().at("a"), "b");
}

TEST_F(FilePluginTest, WatchStartsWithTheCurrentSetThenSynced) {
  const std::string a = Provision();
  const std::string b = Provision();
  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_THAT(Describe(sink.WaitForEvents(3)),
              ElementsAre("EVENT_TYPE_ADDED " + a, "EVENT_TYPE_ADDED " + b, "EVENT_TYPE_SYNCED "));
  EXPECT_FALSE(sink.Events()[0].instance().has_spec());
}

TEST_F(FilePluginTest, WatchSeesThePluginsOwnChanges) {
  RecordingSink sink;
  v1::WatchRequest request;
  request.set_include_properties(true);
  auto handle = plugin_->Watch(request, &sink);
  ASSERT_TRUE(handle.ok());
  const std::string id = Provision();
  v1::LabelRequest label;
  label.set_id(id);
  (*label.mutable_labels())["x"] = "y";
  ASSERT_TRUE(plugin_->Label(label).ok());
  // Labelling with what is there already changes nothing and is no event.
  ASSERT_TRUE(plugin_->Label(label).ok());
  v1::DestroyRequest destroy;
  destroy.set_id(id);
  ASSERT_TRUE(plugin_->Destroy(destroy).ok());

  auto events = sink.WaitForEvents(4);
  EXPECT_THAT(Describe(events),
              ElementsAre("EVENT_TYPE_SYNCED ", "EVENT_TYPE_ADDED " + id,
                          "EVENT_TYPE_CHANGED " + id, "EVENT_TYPE_REMOVED " + id));
  EXPECT_EQ(events[1].instance().spec().init(), TutorialRequest().spec().init());
  EXPECT_EQ(events[2].instance().tags().at("x"), "y");

  // The inotify echoes of those changes are no events: a later change is the next event.
  const std::string next = Provision();
  EXPECT_THAT(Describe(sink.WaitForEvents(5)).back(), "EVENT_TYPE_ADDED " + next);
  EXPECT_THAT(sink.Events(), SizeIs(5));
}

TEST_F(FilePluginTest, WatchSeesChangesMadeByHand) {
  const std::string id = Provision();
  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  ASSERT_THAT(sink.WaitForEvents(2), SizeIs(2));
  const std::string path = absl::StrCat(dir_, "/", id);

  // Edit: a new tag.
  auto decoded = DecodeInstanceFile(id, ReadAll(path));
  ASSERT_TRUE(decoded.ok());
  (*decoded->mutable_tags())["edited"] = "by-hand";
  WriteByHand(path, *EncodeInstanceFile(*decoded));
  auto events = sink.WaitForEvents(3);
  ASSERT_THAT(events, SizeIs(3));
  EXPECT_EQ(Describe(events[2]), "EVENT_TYPE_CHANGED " + id);
  EXPECT_EQ(events[2].instance().tags().at("edited"), "by-hand");

  // Rewriting the same contents is no event.
  WriteByHand(path, ReadAll(path));
  // A new file written by hand.
  v1::Description extra;
  extra.set_id("handmade");
  (*extra.mutable_tags())["infrakit.group"] = "cattle";
  WriteByHand(absl::StrCat(dir_, "/handmade"), *EncodeInstanceFile(extra));
  events = sink.WaitForEvents(4);
  ASSERT_THAT(events, SizeIs(4));
  EXPECT_EQ(Describe(events[3]), "EVENT_TYPE_ADDED handmade");

  // rm
  std::filesystem::remove(path);
  events = sink.WaitForEvents(5);
  ASSERT_THAT(events, SizeIs(5));
  EXPECT_EQ(Describe(events[4]), "EVENT_TYPE_REMOVED " + id);

  // mv out, then back in.
  const std::string outside = absl::StrCat(MakeDir(), "/moved");
  std::filesystem::rename(absl::StrCat(dir_, "/handmade"), outside);
  events = sink.WaitForEvents(6);
  ASSERT_THAT(events, SizeIs(6));
  EXPECT_EQ(Describe(events[5]), "EVENT_TYPE_REMOVED handmade");
  std::filesystem::rename(outside, absl::StrCat(dir_, "/handmade"));
  events = sink.WaitForEvents(7);
  ASSERT_THAT(events, SizeIs(7));
  EXPECT_EQ(Describe(events[6]), "EVENT_TYPE_ADDED handmade");

  // Describe agrees.
  auto described = plugin_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(described.ok());
  ASSERT_THAT(described->instances(), SizeIs(1));
  EXPECT_EQ(described->instances(0).id(), "handmade");
}

// The plugin skips re-reading the inotify echo of its own writes; a file replaced or rewritten
// by hand at once, before or after that echo, is still read.
TEST_F(FilePluginTest, FilesReplacedOrRewrittenRightAfterProvisionAreReadAgain) {
  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  const std::string id = Provision();
  const std::string path = absl::StrCat(dir_, "/", id);
  auto decoded = DecodeInstanceFile(id, ReadAll(path));
  ASSERT_TRUE(decoded.ok());

  // Replaced (a new file renamed over it, as editors save).
  (*decoded->mutable_tags())["edited"] = "replaced";
  const std::string temp = absl::StrCat(dir_, "/.editor-swap");
  WriteByHand(temp, *EncodeInstanceFile(*decoded));
  std::filesystem::rename(temp, path);
  auto events = sink.WaitForEvents(3);
  ASSERT_THAT(events, SizeIs(3));
  EXPECT_EQ(Describe(events[2]), "EVENT_TYPE_CHANGED " + id);
  EXPECT_EQ(events[2].instance().tags().at("edited"), "replaced");

  // Rewritten in place.
  (*decoded->mutable_tags())["edited"] = "rewritten";
  WriteByHand(path, *EncodeInstanceFile(*decoded));
  events = sink.WaitForEvents(4);
  ASSERT_THAT(events, SizeIs(4));
  EXPECT_EQ(Describe(events[3]), "EVENT_TYPE_CHANGED " + id);
  EXPECT_EQ(events[3].instance().tags().at("edited"), "rewritten");

  // Destroy reports what the file said last.
  v1::DestroyRequest destroy;
  destroy.set_id(id);
  ASSERT_TRUE(plugin_->Destroy(destroy).ok());
  events = sink.WaitForEvents(5);
  ASSERT_THAT(events, SizeIs(5));
  EXPECT_EQ(Describe(events[4]), "EVENT_TYPE_REMOVED " + id);
  EXPECT_EQ(events[4].instance().tags().at("edited"), "rewritten");
}

TEST_F(FilePluginTest, UndecodableFilesAreNoEventsAndNoCrash) {
  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  WriteByHand(absl::StrCat(dir_, "/garbage"), "{\"Tags\": 42}");
  WriteByHand(absl::StrCat(dir_, "/.hidden"), "{}");
  const std::string id = Provision();
  EXPECT_THAT(Describe(sink.WaitForEvents(2)),
              ElementsAre("EVENT_TYPE_SYNCED ", "EVENT_TYPE_ADDED " + id));

  // An instance edited into garbage is gone; fixed again, it is back.
  const std::string path = absl::StrCat(dir_, "/", id);
  const std::string good = ReadAll(path);
  WriteByHand(path, "{oops");
  EXPECT_EQ(Describe(sink.WaitForEvents(3).back()), "EVENT_TYPE_REMOVED " + id);
  WriteByHand(path, good);
  EXPECT_EQ(Describe(sink.WaitForEvents(4).back()), "EVENT_TYPE_ADDED " + id);
  EXPECT_THAT(sink.Events(), SizeIs(4));
}

TEST_F(FilePluginTest, FilteredWatchFollowsTags) {
  v1::WatchRequest request;
  (*request.mutable_tags())["role"] = "leader";
  RecordingSink sink;
  auto handle = plugin_->Watch(request, &sink);
  ASSERT_TRUE(handle.ok());
  const std::string other = Provision();  // not a leader: no event
  const std::string id = Provision();
  v1::LabelRequest label;
  label.set_id(id);
  (*label.mutable_labels())["role"] = "leader";
  ASSERT_TRUE(plugin_->Label(label).ok());
  (*label.mutable_labels())["role"] = "follower";
  ASSERT_TRUE(plugin_->Label(label).ok());
  EXPECT_THAT(
      Describe(sink.WaitForEvents(3)),
      ElementsAre("EVENT_TYPE_SYNCED ", "EVENT_TYPE_ADDED " + id, "EVENT_TYPE_REMOVED " + id));
}

TEST_F(FilePluginTest, TwoWatchesSeeEveryEventAndAClosedOneSeesNoMore) {
  RecordingSink first;
  RecordingSink second;
  auto first_handle = plugin_->Watch(v1::WatchRequest(), &first);
  auto second_handle = plugin_->Watch(v1::WatchRequest(), &second);
  ASSERT_TRUE(first_handle.ok());
  ASSERT_TRUE(second_handle.ok());
  const std::string a = Provision();
  EXPECT_THAT(Describe(first.WaitForEvents(2)),
              ElementsAre("EVENT_TYPE_SYNCED ", "EVENT_TYPE_ADDED " + a));
  EXPECT_THAT(Describe(second.WaitForEvents(2)),
              ElementsAre("EVENT_TYPE_SYNCED ", "EVENT_TYPE_ADDED " + a));

  first_handle->reset();
  std::filesystem::remove(absl::StrCat(dir_, "/", a));
  EXPECT_EQ(Describe(second.WaitForEvents(3).back()), "EVENT_TYPE_REMOVED " + a);
  EXPECT_THAT(first.Events(), SizeIs(2));
}

TEST_F(FilePluginTest, StoppingThePluginEndsOpenWatches) {
  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  plugin_.reset();
  std::optional<absl::Status> done = sink.WaitForDone();
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->code(), absl::StatusCode::kCancelled);
  handle->reset();  // a handle outliving its plugin is fine
}

TEST_F(FilePluginTest, ARemovedDirectoryRemovesItsInstancesAndComesBack) {
  const std::string a = Provision();
  const std::string b = Provision();
  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  ASSERT_THAT(sink.WaitForEvents(3), SizeIs(3));
  std::filesystem::remove_all(dir_);
  auto events = sink.WaitForEvents(5);
  ASSERT_THAT(events, SizeIs(5));
  EXPECT_THAT(
      std::vector<std::string>({Describe(events[3]), Describe(events[4])}),
      ::testing::UnorderedElementsAre("EVENT_TYPE_REMOVED " + a, "EVENT_TYPE_REMOVED " + b));
  // The directory comes back, watched.
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::is_directory(dir_); }));
  const std::string c = Provision();
  WriteByHand(absl::StrCat(dir_, "/handmade"), R"({"Tags": {"x": "y"}})");
  events = sink.WaitForEvents(7);
  ASSERT_THAT(events, SizeIs(7));
  EXPECT_EQ(Describe(events[5]), "EVENT_TYPE_ADDED " + c);
  EXPECT_EQ(Describe(events[6]), "EVENT_TYPE_ADDED handmade");
}

TEST_F(FilePluginTest, AWatchSeesEveryOneOfManyProvisions) {
  RecordingSink sink;
  auto handle = plugin_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok());
  constexpr int kCount = 200;
  std::set<std::string> ids;
  for (int i = 0; i < kCount; ++i) ids.insert(Provision());
  auto events = sink.WaitForEvents(kCount + 1);
  ASSERT_THAT(events, SizeIs(kCount + 1));
  std::set<std::string> seen;
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type(), v1::EVENT_TYPE_ADDED);
    seen.insert(events[i].instance().id());
  }
  EXPECT_EQ(seen, ids);
}

}  // namespace
}  // namespace infrakit::plugins::instance::file
