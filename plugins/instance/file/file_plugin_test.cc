#include "plugins/instance/file/file_plugin.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "spec/tags.h"
#include "tests/testing/wait_for.h"
#include "plugins/instance/file/instance_file_format.h"

namespace infrakit::plugins::instance::file {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

constexpr absl::Duration kDeadline = absl::Seconds(20);

// A directory of its own under the test's temporary directory.
std::string MakeDir() {
  const char* root = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(root != nullptr ? root : "/tmp", "/files-XXXXXX");
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

// Waits for `done` with the shared helper, up to this file's deadline.
bool WaitFor(const std::function<bool()>& done) {
  return ::infrakit::testing::WaitFor(done, kDeadline);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// What a user does with an editor or a shell redirection: not atomic.
void WriteByHand(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::trunc);
  out << contents;
}

std::vector<std::string> InstanceFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The tutorial's instance, as the group plugin provisions it.
v1::ProvisionRequest TutorialRequest() {
  v1::ProvisionRequest request;
  v1::Spec* spec = request.mutable_spec();
  (*spec->mutable_properties()->mutable_fields())["Note"].set_string_value(
      "Instance properties version 1.0");
  (*spec->mutable_tags())[spec::kShaTag] = "Y23cKqyRpkQ_M60vIq7CufFmQWk=";
  (*spec->mutable_tags())[spec::kGroupTag] = "cattle";
  (*spec->mutable_tags())["project"] = "infrakit";
  (*spec->mutable_tags())["tier"] = "web";
  spec->set_init(
      "\nsudo apt-get update -y\nsudo apt-get install -y nginx\nsudo service nginx start");
  return request;
}

class RecordingSink : public spi::instance::WatchSink {
 public:
  void OnEvent(const v1::WatchResponse& event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  }
  void OnDone(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    done_ = status;
  }

  // Waits until at least `n` events arrived; returns all of them.
  std::vector<v1::WatchResponse> WaitForEvents(size_t n) {
    absl::MutexLock lock(&mu_);
    auto arrived = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return events_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&arrived), kDeadline);
    return events_;
  }

  std::vector<v1::WatchResponse> Events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

  std::optional<absl::Status> WaitForDone() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(
        absl::Condition(
            +[](std::optional<absl::Status>* done) { return done->has_value(); }, &done_),
        kDeadline);
    return done_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::WatchResponse> events_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> done_ ABSL_GUARDED_BY(mu_);
};

std::string Describe(const v1::WatchResponse& event) {
  return absl::StrCat(v1::EventType_Name(event.type()), " ", event.instance().id());
}

std::vector<std::string> Describe(const std::vector<v1::WatchResponse>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(Describe(e));
  return out;
}

class FilePluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeDir();
    auto plugin = FilePlugin::Create(dir_);
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    plugin_ = *std::move(plugin);
  }

  std::string Provision(v1::ProvisionRequest request = TutorialRequest()) {
    auto response = plugin_->Provision(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->id() : "";
  }

  std::string dir_;
  std::unique_ptr<FilePlugin> plugin_;
};

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
  }
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
  EXPECT_EQ(d.tags().at(spec::kGroupTag), "cattle");
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
  (*request.mutable_tags())[spec::kGroupTag] = "cattle";
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
  EXPECT_EQ(labelled->instance().tags().at(spec::kGroupTag), "cattle");

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

TEST(FilePluginCreateTest, SkipsUndecodableFilesAndDotFiles) {
  const std::string dir = MakeDir();
  v1::Description good;
  good.set_id("instance-1");
  (*good.mutable_tags())["a"] = "b";
  WriteByHand(absl::StrCat(dir, "/instance-1"), *EncodeInstanceFile(good));
  WriteByHand(absl::StrCat(dir, "/garbage"), "{not json");
  WriteByHand(absl::StrCat(dir, "/empty"), "");
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
  (*extra.mutable_tags())[spec::kGroupTag] = "cattle";
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

// A batch of `n` tutorial requests, item i tagged n=i.
v1::BatchProvisionRequest TutorialBatch(int n) {
  v1::BatchProvisionRequest batch;
  for (int i = 0; i < n; ++i) {
    v1::ProvisionRequest* item = batch.add_requests();
    *item = TutorialRequest();
    (*item->mutable_spec()->mutable_tags())["n"] = absl::StrCat(i);
  }
  return batch;
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
  std::vector<absl::StatusOr<v1::BatchProvisionResponse>> responses(
      kThreads, absl::UnknownError("not run"));
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
  std::vector<absl::StatusOr<v1::BatchProvisionResponse>> responses(
      kThreads, absl::UnknownError("not run"));
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
  EXPECT_THAT(Describe(events),
              ElementsAre(absl::StrCat("EVENT_TYPE_ADDED ", a), absl::StrCat("EVENT_TYPE_ADDED ", b),
                          absl::StrCat("EVENT_TYPE_ADDED ", kept), "EVENT_TYPE_SYNCED ",
                          absl::StrCat("EVENT_TYPE_REMOVED ", a),
                          absl::StrCat("EVENT_TYPE_REMOVED ", b),
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

}  // namespace
}  // namespace infrakit::plugins::instance::file
