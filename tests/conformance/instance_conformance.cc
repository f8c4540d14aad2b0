#include "tests/conformance/instance_conformance.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "client/discovery/channel.h"
#include "client/unary_call.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "tests/conformance/watch_recorder.h"
#include "tests/testing/wait_for.h"

namespace infrakit::tests::conformance {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

std::string Joined(const std::vector<std::string>& items) {
  return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
}

}  // namespace

void InstanceConformanceTest::SetUp() {
  const InstancePluginUnderTest& p = plugin();
  run_tag_ = {
      {"conformance.test", ::testing::UnitTest::GetInstance()->current_test_info()->name()}};
  PluginLaunch launch;
  launch.binary = p.binary;
  launch.plugin_name = p.plugin_name;
  launch.args = p.args;
  launch.env = p.env;
  launch.deadline = p.deadline;
  absl::StatusOr<std::unique_ptr<RunningPlugin>> running = RunningPlugin::Start(launch);
  ASSERT_TRUE(running.ok()) << running.status();
  running_ = *std::move(running);
  std::shared_ptr<grpc::Channel> channel = client::discovery::MakePluginChannel(running_->socket());
  client_ = std::make_unique<client::InstanceClient>(channel);
  stub_ = v1::InstanceService::NewStub(channel);
}

void InstanceConformanceTest::TearDown() {
  client_.reset();
  stub_.reset();
  if (running_ == nullptr) return;
  const absl::Status stopped = running_->Stop(plugin().deadline);
  EXPECT_TRUE(stopped.ok()) << stopped;
  if (HasFailure()) ADD_FAILURE() << "plugin stderr:\n" << running_->Stderr();
}

v1::ProvisionRequest InstanceConformanceTest::Request(
    const std::map<std::string, std::string>& tags) const {
  v1::ProvisionRequest request;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      plugin().valid_properties, request.mutable_spec()->mutable_properties());
  EXPECT_TRUE(parsed.ok()) << "valid_properties is not a JSON object: " << parsed;
  for (const auto& [key, value] : run_tag_) (*request.mutable_spec()->mutable_tags())[key] = value;
  for (const auto& [key, value] : tags) (*request.mutable_spec()->mutable_tags())[key] = value;
  request.mutable_spec()->set_init("echo conformance");
  return request;
}

std::string InstanceConformanceTest::Provision(const std::map<std::string, std::string>& tags) {
  absl::StatusOr<v1::ProvisionResponse> response = client_->Provision(Request(tags));
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return "";
  EXPECT_FALSE(response->id().empty());
  EXPECT_TRUE(response->created());
  return response->id();
}

absl::StatusOr<v1::BatchProvisionResponse> InstanceConformanceTest::BatchProvision(
    const v1::BatchProvisionRequest& request) {
  return client::UnaryCall(stub_.get(), &v1::InstanceService::Stub::BatchProvision, request,
                           plugin().deadline);
}

absl::StatusOr<v1::BatchDestroyResponse> InstanceConformanceTest::BatchDestroy(
    const v1::BatchDestroyRequest& request) {
  return client::UnaryCall(stub_.get(), &v1::InstanceService::Stub::BatchDestroy, request,
                           plugin().deadline);
}

std::vector<std::string> InstanceConformanceTest::DescribeIds(
    const std::map<std::string, std::string>& tags) {
  v1::DescribeRequest request;
  for (const auto& [key, value] : run_tag_) (*request.mutable_tags())[key] = value;
  for (const auto& [key, value] : tags) (*request.mutable_tags())[key] = value;
  absl::StatusOr<v1::DescribeResponse> response = client_->Describe(request);
  EXPECT_TRUE(response.ok()) << response.status();
  std::vector<std::string> ids;
  if (!response.ok()) return ids;
  for (const v1::Description& d : response->instances()) ids.push_back(d.id());
  return ids;
}

::testing::AssertionResult InstanceConformanceTest::DescribeBecomes(
    const std::map<std::string, std::string>& tags, const std::vector<std::string>& ids) {
  std::vector<std::string> last;
  if (infrakit::testing::WaitFor(
          [&] {
            last = DescribeIds(tags);
            return last == ids;
          },
          plugin().deadline)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "Describe returned " << Joined(last) << ", want " << Joined(ids);
}

TEST_P(InstanceConformanceTest, ValidateAcceptsValidProperties) {
  v1::ValidateRequest request;
  *request.mutable_properties() = Request().spec().properties();
  const absl::Status status = client_->Validate(request);
  EXPECT_TRUE(status.ok()) << status;
}

TEST_P(InstanceConformanceTest, ValidateRejectsInvalidPropertiesNamingTheField) {
  if (plugin().invalid_properties.empty()) GTEST_SKIP() << "the plugin accepts any properties";
  for (const auto& [json, field] : plugin().invalid_properties) {
    v1::ValidateRequest request;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(json, request.mutable_properties()).ok())
        << json;
    const absl::Status status = client_->Validate(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << json << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(field)) << json;
  }
}

TEST_P(InstanceConformanceTest, ProvisionDescribeLabelDestroy) {
  const std::string id = Provision({{"tier", "web"}});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(DescribeBecomes({}, {id}));

  v1::DescribeRequest describe;
  describe.mutable_tags()->insert(run_tag_.begin(), run_tag_.end());
  describe.set_include_properties(true);
  absl::StatusOr<v1::DescribeResponse> described = client_->Describe(describe);
  ASSERT_TRUE(described.ok()) << described.status();
  ASSERT_EQ(described->instances_size(), 1);
  EXPECT_EQ(described->instances(0).id(), id);
  EXPECT_THAT(described->instances(0).tags(), Contains(Pair("tier", "web")));

  v1::LabelRequest label;
  label.set_id(id);
  (*label.mutable_labels())["tier"] = "frontend";
  (*label.mutable_labels())["owner"] = "conformance";
  absl::StatusOr<v1::LabelResponse> labelled = client_->Label(label);
  ASSERT_TRUE(labelled.ok()) << labelled.status();
  EXPECT_EQ(labelled->instance().id(), id);
  EXPECT_THAT(labelled->instance().tags(), Contains(Pair("tier", "frontend")));
  EXPECT_THAT(labelled->instance().tags(), Contains(Pair("owner", "conformance")));
  // Labelling merges: the tags it does not name are kept.
  EXPECT_THAT(labelled->instance().tags(),
              Contains(Pair(run_tag_.begin()->first, run_tag_.begin()->second)));
  EXPECT_TRUE(DescribeBecomes({{"owner", "conformance"}, {"tier", "frontend"}}, {id}));
  EXPECT_TRUE(DescribeBecomes({{"tier", "web"}}, {}));

  v1::DestroyRequest destroy;
  destroy.set_id(id);
  destroy.set_reason(v1::DESTROY_REASON_TERMINATE);
  const absl::Status destroyed = client_->Destroy(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed;
  EXPECT_TRUE(DescribeBecomes({}, {}));
  EXPECT_EQ(client_->Destroy(destroy).code(), absl::StatusCode::kNotFound);
}

TEST_P(InstanceConformanceTest, DescribeFiltersByAllTagsAndOrdersById) {
  const std::string a1 = Provision({{"group", "a"}, {"slot", "1"}});
  const std::string a2 = Provision({{"group", "a"}, {"slot", "2"}});
  const std::string b1 = Provision({{"group", "b"}, {"slot", "1"}});
  std::vector<std::string> all = {a1, a2, b1};
  std::sort(all.begin(), all.end());
  ASSERT_TRUE(DescribeBecomes({}, all));
  std::vector<std::string> group_a = {a1, a2};
  std::sort(group_a.begin(), group_a.end());
  EXPECT_TRUE(DescribeBecomes({{"group", "a"}}, group_a));
  EXPECT_TRUE(DescribeBecomes({{"group", "a"}, {"slot", "2"}}, {a2}));
  EXPECT_TRUE(DescribeBecomes({{"slot", "1"}},
                              std::vector<std::string>({std::min(a1, b1), std::max(a1, b1)})));
  EXPECT_TRUE(DescribeBecomes({{"group", "c"}}, {}));
}

TEST_P(InstanceConformanceTest, ProvisionRejectsAnEmptyTagNameAndCreatesNothing) {
  v1::ProvisionRequest request = Request();
  (*request.mutable_spec()->mutable_tags())[""] = "x";
  absl::StatusOr<v1::ProvisionResponse> response = client_->Provision(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << response.status();
  EXPECT_THAT(DescribeIds(), IsEmpty());
}

TEST_P(InstanceConformanceTest, RetriedProvisionWithAnIdempotencyKeyCreatesOneInstance) {
  v1::ProvisionRequest request = Request();
  request.mutable_spec()->set_idempotency_key(absl::StrCat("key-", run_tag_.begin()->second));
  absl::StatusOr<v1::ProvisionResponse> first = client_->Provision(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created());
  for (int retry = 0; retry < 3; ++retry) {
    absl::StatusOr<v1::ProvisionResponse> again = client_->Provision(request);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->id(), first->id());
    EXPECT_FALSE(again->created());
  }
  EXPECT_TRUE(DescribeBecomes({}, {first->id()}));

  // Another key is another instance.
  request.mutable_spec()->set_idempotency_key(absl::StrCat("other-", run_tag_.begin()->second));
  absl::StatusOr<v1::ProvisionResponse> other = client_->Provision(request);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_TRUE(other->created());
  EXPECT_NE(other->id(), first->id());
}

TEST_P(InstanceConformanceTest, UnknownIdIsNotFound) {
  v1::DestroyRequest destroy;
  destroy.set_id("no-such-instance-42");
  EXPECT_EQ(client_->Destroy(destroy).code(), absl::StatusCode::kNotFound);
  v1::LabelRequest label;
  label.set_id("no-such-instance-42");
  (*label.mutable_labels())["a"] = "b";
  EXPECT_EQ(client_->Label(label).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(InstanceConformanceTest, WatchSendsTheInitialSetThenSynced) {
  const std::string a = Provision();
  const std::string b = Provision();
  Provision();  // without the filter's tag below: not in this watch
  v1::LabelRequest label;
  for (const std::string& id : {a, b}) {
    label.set_id(id);
    (*label.mutable_labels())["watched"] = "yes";
    ASSERT_TRUE(client_->Label(label).ok());
  }
  ASSERT_TRUE(DescribeBecomes({{"watched", "yes"}},
                              std::vector<std::string>({std::min(a, b), std::max(a, b)})));

  v1::WatchRequest request;
  request.mutable_tags()->insert(run_tag_.begin(), run_tag_.end());
  (*request.mutable_tags())["watched"] = "yes";
  WatchRecorder recorder;
  auto handle = client_->Watch(request, &recorder);
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_TRUE(recorder.WaitUntil(
      [](const WatchRecorder::Events& events) {
        return std::any_of(events.begin(), events.end(), [](const v1::WatchResponse& e) {
          return e.type() == v1::EVENT_TYPE_SYNCED;
        });
      },
      plugin().deadline))
      << Joined(Summaries(recorder.events()));
  const std::vector<std::string> got = Summaries(recorder.events());
  ASSERT_EQ(got.size(), 3) << Joined(got);
  EXPECT_THAT(std::vector<std::string>(got.begin(), got.begin() + 2),
              ::testing::UnorderedElementsAre("ADDED " + a, "ADDED " + b));
  EXPECT_EQ(got[2], "SYNCED");
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(recorder.events()[i].instance().tags(), Contains(Pair("watched", "yes")));
  }
}

TEST_P(InstanceConformanceTest, WatchReportsAddChangeRemove) {
  v1::WatchRequest request;
  request.mutable_tags()->insert(run_tag_.begin(), run_tag_.end());
  (*request.mutable_tags())["role"] = "web";
  WatchRecorder recorder;
  auto handle = client_->Watch(request, &recorder);
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_GE(recorder.WaitForEvent(v1::EVENT_TYPE_SYNCED, "", 0, plugin().deadline), 0);

  const std::string other = Provision({{"role", "db"}});  // filtered out
  const std::string id = Provision({{"role", "web"}});
  const int added = recorder.WaitForEvent(v1::EVENT_TYPE_ADDED, id, 0, plugin().deadline);
  ASSERT_GE(added, 0) << Joined(Summaries(recorder.events()));

  v1::LabelRequest label;
  label.set_id(id);
  (*label.mutable_labels())["version"] = "2";
  ASSERT_TRUE(client_->Label(label).ok());
  const int changed = recorder.WaitForEvent(v1::EVENT_TYPE_CHANGED, id, added + 1,
                                            plugin().deadline, "version", "2");
  ASSERT_GE(changed, 0) << Joined(Summaries(recorder.events()));

  v1::DestroyRequest destroy;
  destroy.set_id(id);
  ASSERT_TRUE(client_->Destroy(destroy).ok());
  const int removed =
      recorder.WaitForEvent(v1::EVENT_TYPE_REMOVED, id, changed + 1, plugin().deadline);
  ASSERT_GE(removed, 0) << Joined(Summaries(recorder.events()));

  // Nothing about the filtered-out instance, and nothing before SYNCED but the initial set.
  for (const v1::WatchResponse& e : recorder.events()) {
    EXPECT_NE(e.instance().id(), other) << Joined(Summaries(recorder.events()));
  }
  EXPECT_EQ(Summary(recorder.events()[0]), "SYNCED");
}

TEST_P(InstanceConformanceTest, WatchReportsChangesBehindThePluginsBack) {
  const auto& oob = plugin().out_of_band;
  if (!oob.create && !oob.set_tag && !oob.remove) {
    GTEST_SKIP() << "the plugin's instances cannot be changed behind its back";
  }
  v1::WatchRequest request;
  request.mutable_tags()->insert(run_tag_.begin(), run_tag_.end());
  WatchRecorder recorder;
  auto handle = client_->Watch(request, &recorder);
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_GE(recorder.WaitForEvent(v1::EVENT_TYPE_SYNCED, "", 0, plugin().deadline), 0);
  size_t from = 1;

  if (oob.create) {
    std::map<std::string, std::string> tags = run_tag_;
    tags["made"] = "by-hand";
    const std::string id = oob.create(scratch(), tags);
    const int added =
        recorder.WaitForEvent(v1::EVENT_TYPE_ADDED, id, from, plugin().deadline, "made", "by-hand");
    ASSERT_GE(added, 0) << Joined(Summaries(recorder.events()));
    EXPECT_TRUE(DescribeBecomes({{"made", "by-hand"}}, {id}));
    from = added + 1;
  }
  const std::string id = Provision();
  const int added = recorder.WaitForEvent(v1::EVENT_TYPE_ADDED, id, from, plugin().deadline);
  ASSERT_GE(added, 0) << Joined(Summaries(recorder.events()));
  from = added + 1;
  if (oob.set_tag) {
    oob.set_tag(scratch(), id, "edited", "by-hand");
    const int changed = recorder.WaitForEvent(v1::EVENT_TYPE_CHANGED, id, from, plugin().deadline,
                                              "edited", "by-hand");
    ASSERT_GE(changed, 0) << Joined(Summaries(recorder.events()));
    EXPECT_TRUE(DescribeBecomes({{"edited", "by-hand"}}, {id}));
    from = changed + 1;
  }
  if (oob.remove) {
    oob.remove(scratch(), id);
    const int removed = recorder.WaitForEvent(v1::EVENT_TYPE_REMOVED, id, from, plugin().deadline);
    ASSERT_GE(removed, 0) << Joined(Summaries(recorder.events()));
    for (const std::string& left : DescribeIds()) EXPECT_NE(left, id);
  }
}

TEST_P(InstanceConformanceTest, TwoConcurrentWatchesBothSeeEveryEvent) {
  v1::WatchRequest request;
  request.mutable_tags()->insert(run_tag_.begin(), run_tag_.end());
  WatchRecorder first;
  WatchRecorder second;
  auto first_handle = client_->Watch(request, &first);
  ASSERT_TRUE(first_handle.ok()) << first_handle.status();
  auto second_handle = client_->Watch(request, &second);
  ASSERT_TRUE(second_handle.ok()) << second_handle.status();

  constexpr int kInstances = 5;
  std::vector<std::string> ids;
  for (int i = 0; i < kInstances; ++i) ids.push_back(Provision({{"n", absl::StrCat(i)}}));
  v1::DestroyRequest destroy;
  destroy.set_id(ids[0]);
  ASSERT_TRUE(client_->Destroy(destroy).ok());

  for (WatchRecorder* recorder : {&first, &second}) {
    for (const std::string& id : ids) {
      EXPECT_GE(recorder->WaitForEvent(v1::EVENT_TYPE_ADDED, id, 0, plugin().deadline), 0)
          << id << " in " << Joined(Summaries(recorder->events()));
    }
    EXPECT_GE(recorder->WaitForEvent(v1::EVENT_TYPE_REMOVED, ids[0], 0, plugin().deadline), 0)
        << Joined(Summaries(recorder->events()));
  }
}

TEST_P(InstanceConformanceTest, ACancelledWatchFreesItsResources) {
  v1::WatchRequest request;
  request.mutable_tags()->insert(run_tag_.begin(), run_tag_.end());
  auto open_and_sync = [&](WatchRecorder* recorder) -> std::unique_ptr<spi::instance::WatchHandle> {
    auto handle = client_->Watch(request, recorder);
    EXPECT_TRUE(handle.ok()) << handle.status();
    if (!handle.ok()) return nullptr;
    EXPECT_GE(recorder->WaitForEvent(v1::EVENT_TYPE_SYNCED, "", 0, plugin().deadline), 0);
    return *std::move(handle);
  };
  // gRPC's own thread pools (executor, timers) grow with load up to a bound and may not
  // shrink, so they are left out of the count (PluginThreads); a warm-up round with the same
  // load also puts lazily started threads in the baseline, so that what is left to see is
  // threads that the watches leak.
  constexpr int kWatches = 20;
  auto round = [&] {
    std::vector<std::unique_ptr<WatchRecorder>> recorders;
    std::vector<std::unique_ptr<spi::instance::WatchHandle>> handles;
    for (int i = 0; i < kWatches; ++i) {
      recorders.push_back(std::make_unique<WatchRecorder>());
      handles.push_back(open_and_sync(recorders.back().get()));
    }
    handles.clear();  // cancels every stream
    return recorders;
  };
  round();
  ASSERT_TRUE(DescribeBecomes({}, {}));
  const int baseline = running_->PluginThreads();
  const std::string baseline_names = running_->ThreadNames();
  ASSERT_GT(baseline, 0);

  std::vector<std::unique_ptr<WatchRecorder>> recorders = round();

  int threads = -1;
  EXPECT_TRUE(infrakit::testing::WaitFor(
      [&] {
        threads = running_->PluginThreads();
        return threads <= baseline;
      },
      plugin().deadline))
      << "the plugin has " << threads << " threads of its own (all: " << running_->ThreadNames()
      << "), " << baseline << " before the watches (" << baseline_names << ")";

  // Still serving, and a new watch works.
  WatchRecorder fresh;
  auto handle = open_and_sync(&fresh);
  ASSERT_NE(handle, nullptr);
  const std::string id = Provision();
  EXPECT_GE(fresh.WaitForEvent(v1::EVENT_TYPE_ADDED, id, 0, plugin().deadline), 0)
      << Joined(Summaries(fresh.events()));
  // The cancelled watches got nothing after their cancellation.
  for (const auto& recorder : recorders) {
    for (const v1::WatchResponse& e : recorder->events()) EXPECT_NE(e.instance().id(), id);
  }
}

TEST_P(InstanceConformanceTest, BatchProvisionCreatesEachRequestInOrder) {
  v1::BatchProvisionRequest request;
  for (int i = 0; i < 3; ++i) *request.add_requests() = Request({{"slot", absl::StrCat(i)}});
  absl::StatusOr<v1::BatchProvisionResponse> response = BatchProvision(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 3);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(response->results(i).has_response())
        << i << ": " << response->results(i).error().message();
    EXPECT_TRUE(response->results(i).response().created());
    EXPECT_FALSE(response->results(i).response().id().empty());
    ids.push_back(response->results(i).response().id());
    // In request order: item i is the instance made from request i.
    EXPECT_TRUE(DescribeBecomes({{"slot", absl::StrCat(i)}}, {ids.back()}));
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_TRUE(DescribeBecomes({}, ids));
}

TEST_P(InstanceConformanceTest, EmptyBatchesAnswerNoResults) {
  absl::StatusOr<v1::BatchProvisionResponse> provisioned =
      BatchProvision(v1::BatchProvisionRequest());
  ASSERT_TRUE(provisioned.ok()) << provisioned.status();
  EXPECT_EQ(provisioned->results_size(), 0);
  absl::StatusOr<v1::BatchDestroyResponse> destroyed = BatchDestroy(v1::BatchDestroyRequest());
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  EXPECT_EQ(destroyed->results_size(), 0);
  EXPECT_THAT(DescribeIds(), IsEmpty());
}

TEST_P(InstanceConformanceTest, BatchesOfMoreThan1000AreInvalidAndDoNothing) {
  const std::string kept = Provision();
  v1::BatchProvisionRequest provision;
  const v1::ProvisionRequest one = Request();
  for (int i = 0; i < 1001; ++i) *provision.add_requests() = one;
  absl::StatusOr<v1::BatchProvisionResponse> provisioned = BatchProvision(provision);
  EXPECT_EQ(provisioned.status().code(), absl::StatusCode::kInvalidArgument)
      << provisioned.status();
  EXPECT_THAT(provisioned.status().message(), HasSubstr("1001"));

  v1::BatchDestroyRequest destroy;
  for (int i = 0; i < 1001; ++i) destroy.add_requests()->set_id(kept);
  absl::StatusOr<v1::BatchDestroyResponse> destroyed = BatchDestroy(destroy);
  EXPECT_EQ(destroyed.status().code(), absl::StatusCode::kInvalidArgument) << destroyed.status();
  // Nothing created, nothing destroyed.
  EXPECT_EQ(DescribeIds(), std::vector<std::string>{kept});
}

TEST_P(InstanceConformanceTest, AnInvalidItemFailsAloneNamingTheField) {
  v1::BatchProvisionRequest request;
  for (int i = 0; i < 3; ++i) *request.add_requests() = Request({{"slot", absl::StrCat(i)}});
  (*request.mutable_requests(1)->mutable_spec()->mutable_tags())[""] = "x";
  absl::StatusOr<v1::BatchProvisionResponse> response = BatchProvision(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 3);
  ASSERT_TRUE(response->results(1).has_error());
  EXPECT_EQ(response->results(1).error().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(response->results(1).error().message(), HasSubstr("tags"));
  std::vector<std::string> ids;
  for (int i : {0, 2}) {
    ASSERT_TRUE(response->results(i).has_response())
        << i << ": " << response->results(i).error().message();
    EXPECT_TRUE(response->results(i).response().created());
    ids.push_back(response->results(i).response().id());
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_TRUE(DescribeBecomes({}, ids));
}

TEST_P(InstanceConformanceTest, AKeyRepeatedInABatchIsARetry) {
  v1::BatchProvisionRequest request;
  for (int i = 0; i < 3; ++i) {
    v1::ProvisionRequest* item = request.add_requests();
    *item = Request();
    item->mutable_spec()->set_idempotency_key(
        absl::StrCat(i == 1 ? "other-" : "key-", run_tag_.begin()->second));
  }
  absl::StatusOr<v1::BatchProvisionResponse> response = BatchProvision(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(response->results(i).has_response())
        << i << ": " << response->results(i).error().message();
  }
  EXPECT_TRUE(response->results(0).response().created());
  EXPECT_TRUE(response->results(1).response().created());
  EXPECT_EQ(response->results(2).response().id(), response->results(0).response().id());
  EXPECT_FALSE(response->results(2).response().created());
  std::vector<std::string> ids = {response->results(0).response().id(),
                                  response->results(1).response().id()};
  std::sort(ids.begin(), ids.end());
  EXPECT_TRUE(DescribeBecomes({}, ids));
}

TEST_P(InstanceConformanceTest, BatchDestroyFailsAnUnknownIdAlone) {
  const std::string a = Provision();
  const std::string b = Provision();
  ASSERT_TRUE(DescribeBecomes({}, std::vector<std::string>({std::min(a, b), std::max(a, b)})));
  v1::BatchDestroyRequest request;
  for (const std::string& id : {a, std::string("no-such-instance-42"), b}) {
    v1::DestroyRequest* item = request.add_requests();
    item->set_id(id);
    item->set_reason(v1::DESTROY_REASON_SCALE_DOWN);
  }
  absl::StatusOr<v1::BatchDestroyResponse> response = BatchDestroy(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 3);
  EXPECT_EQ(response->results(0).code(), 0) << response->results(0).message();
  EXPECT_EQ(response->results(1).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(response->results(2).code(), 0) << response->results(2).message();
  EXPECT_TRUE(DescribeBecomes({}, {}));
}

}  // namespace infrakit::tests::conformance
