// InstanceClient against InstanceService over a real unix socket, with a fake core behind it.
#include "client/instance_client.h"

#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "client/discovery/channel.h"
#include "client/testing/fake_instance_plugin.h"
#include "client/testing/legacy_instance_service.h"
#include "client/testing/recording_sink.h"
#include "client/testing/test_server.h"
#include "gtest/gtest.h"
#include "plugins/instance/instance_service.h"
#include "spec/tags.h"
#include "spi/item_status.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::client {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::client::testing::FakeInstancePlugin;
using ::infrakit::client::testing::LegacyInstanceService;
using ::infrakit::client::testing::RecordingSink;
using ::infrakit::client::testing::TestServer;
using ::infrakit::plugins::instance::InstanceService;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kWait = absl::Seconds(20);

v1::ProvisionRequest ProvisionWithTags(std::vector<std::pair<std::string, std::string>> tags) {
  v1::ProvisionRequest request;
  for (auto& [key, value] : tags) (*request.mutable_spec()->mutable_tags())[key] = value;
  request.mutable_spec()->set_init("echo hello");
  return request;
}

class InstanceClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_shared<FakeInstancePlugin>();
    service_ = std::make_unique<InstanceService>(fake_);
    absl::StatusOr<std::unique_ptr<TestServer>> server =
        TestServer::Start(dir_.Join("instance.sock"), {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<InstanceClient>(server_->NewChannel());
  }

  std::string MustProvision(std::vector<std::pair<std::string, std::string>> tags) {
    absl::StatusOr<v1::ProvisionResponse> response = client_->Provision(ProvisionWithTags(tags));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->id() : "";
  }

  // Destroyed in reverse: client, server (shut down before the service), service, fake, dir.
  TempDir dir_;
  std::shared_ptr<FakeInstancePlugin> fake_;
  std::unique_ptr<InstanceService> service_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<InstanceClient> client_;
};

TEST_F(InstanceClientTest, EveryUnaryCallRoundTrips) {
  v1::ValidateRequest validate;
  (*validate.mutable_properties()->mutable_fields())["image"].set_string_value("nginx");
  EXPECT_TRUE(client_->Validate(validate).ok());

  v1::ProvisionRequest provision = ProvisionWithTags({{spec::kGroupTag, "web"}});
  provision.mutable_spec()->set_idempotency_key("key-1");
  provision.mutable_spec()->set_logical_id("10.0.0.1");
  absl::StatusOr<v1::ProvisionResponse> first = client_->Provision(provision);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->id(), "instance-000001");
  EXPECT_TRUE(first->created());
  absl::StatusOr<v1::ProvisionResponse> again = client_->Provision(provision);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id(), "instance-000001");
  EXPECT_FALSE(again->created());
  std::string other = MustProvision({{spec::kGroupTag, "db"}});

  v1::DescribeRequest describe;
  (*describe.mutable_tags())[spec::kGroupTag] = "web";
  absl::StatusOr<v1::DescribeResponse> listed = client_->Describe(describe);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->instances_size(), 1);
  EXPECT_EQ(listed->instances(0).id(), "instance-000001");
  EXPECT_EQ(listed->instances(0).logical_id(), "10.0.0.1");
  EXPECT_EQ(listed->instances(0).state(), v1::LIFECYCLE_STATE_RUNNING);
  EXPECT_FALSE(listed->instances(0).has_spec());
  describe.set_include_properties(true);
  listed = client_->Describe(describe);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->instances_size(), 1);
  EXPECT_EQ(listed->instances(0).spec().init(), "echo hello");

  v1::LabelRequest label;
  label.set_id("instance-000001");
  (*label.mutable_labels())["owner"] = "ops";
  absl::StatusOr<v1::LabelResponse> labelled = client_->Label(label);
  ASSERT_TRUE(labelled.ok()) << labelled.status();
  EXPECT_EQ(labelled->instance().tags().at("owner"), "ops");
  EXPECT_EQ(labelled->instance().tags().at(spec::kGroupTag), "web");

  v1::DestroyRequest destroy;
  destroy.set_id("instance-000001");
  destroy.set_reason(v1::DESTROY_REASON_SCALE_DOWN);
  EXPECT_TRUE(client_->Destroy(destroy).ok());
  listed = client_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->instances_size(), 1);
  EXPECT_EQ(listed->instances(0).id(), other);
}

TEST_F(InstanceClientTest, ErrorCodesAndMessagesPassThrough) {
  v1::ValidateRequest validate;
  (*validate.mutable_properties()->mutable_fields())["image"].set_number_value(5);
  absl::Status invalid = client_->Validate(validate);
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid.message(), "properties.image: must be a string");

  v1::DestroyRequest destroy;
  destroy.set_id("instance-999");
  absl::Status missing = client_->Destroy(destroy);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "no instance instance-999");

  v1::LabelRequest label;
  label.set_id("instance-999");
  EXPECT_EQ(client_->Label(label).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(InstanceClientTest, CallsFailWithDeadlineExceededWhenTheCoreBlocks) {
  InstanceClient impatient(server_->NewChannel(), absl::Milliseconds(200));
  fake_->BlockCalls();
  absl::StatusOr<v1::DescribeResponse> listed = impatient.Describe(v1::DescribeRequest());
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kDeadlineExceeded);
  // The call reached the core (and blocks there): the deadline, not a refusal, ended it.
  EXPECT_TRUE(WaitFor([&] { return fake_->blocked_calls() == 1; }, kWait));
  fake_->UnblockCalls();
  EXPECT_TRUE(client_->Describe(v1::DescribeRequest()).ok());
}

// What a caller far from the call (the group service's status, an ERROR event) reads when the
// plugin stops: which plugin is unavailable, not gRPC's bare words.
constexpr char kNamedUnavailable[] = "plugin \"instance-fake\" is unavailable: ";

TEST_F(InstanceClientTest, PluginStoppingUnderACallIsUnavailableNamingIt) {
  InstanceClient named(server_->NewChannel(), kDefaultCallDeadline, "instance-fake");
  fake_->BlockCalls();
  absl::Status status;
  absl::Notification answered;
  std::thread call([&] {
    status = named.Describe(v1::DescribeRequest()).status();
    answered.Notify();
  });
  const bool reached_core = WaitFor([&] { return fake_->blocked_calls() == 1; }, kWait);
  // The plugin stops while its core works on the call: the server cancels what is still open
  // after the grace period (and finishes stopping once the core lets go).
  std::thread stop([&] { server_->Shutdown(absl::Milliseconds(50)); });
  const bool ended = answered.WaitForNotificationWithTimeout(kWait);
  fake_->UnblockCalls();
  stop.join();
  call.join();
  ASSERT_TRUE(reached_core);
  ASSERT_TRUE(ended) << "the call did not end when the plugin stopped";
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), kNamedUnavailable)) << status;
  EXPECT_GT(status.message().size(), std::string(kNamedUnavailable).size()) << status;
}

TEST_F(InstanceClientTest, PluginWhoseSocketIsGoneIsUnavailableNamingIt) {
  InstanceClient named(server_->NewChannel(), kDefaultCallDeadline, "instance-fake");
  ASSERT_TRUE(named.Describe(v1::DescribeRequest()).ok());
  server_->Shutdown();
  unlink(server_->socket_path().c_str());  // A plugin that stops removes its socket.
  for (const absl::Status& status :
       {named.Describe(v1::DescribeRequest()).status(), named.Validate(v1::ValidateRequest()),
        named.BatchDestroy(v1::BatchDestroyRequest()).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_TRUE(absl::StartsWith(status.message(), kNamedUnavailable)) << status;
  }
  RecordingSink sink;
  auto handle = named.Watch(v1::WatchRequest(), &sink);
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kUnavailable) << handle.status();
  EXPECT_TRUE(absl::StartsWith(handle.status().message(), kNamedUnavailable)) << handle.status();
}

TEST_F(InstanceClientTest, NamedClientThatGetsNoAnswerInTimeSaysWhichPlugin) {
  InstanceClient impatient(server_->NewChannel(), absl::Milliseconds(200), "instance-fake");
  fake_->BlockCalls();
  const absl::Status status = impatient.Describe(v1::DescribeRequest()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_TRUE(
      absl::StartsWith(status.message(), "plugin \"instance-fake\" did not answer in time: "))
      << status;
  EXPECT_TRUE(WaitFor([&] { return fake_->blocked_calls() == 1; }, kWait));
  fake_->UnblockCalls();
}

TEST_F(InstanceClientTest, NamedWatchEndedByTheServerStoppingSaysWhichPlugin) {
  InstanceClient named(server_->NewChannel(), kDefaultCallDeadline, "instance-fake");
  RecordingSink sink;
  auto handle = named.Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_TRUE(WaitFor([&] { return fake_->open_watches() == 1; }, kWait));
  server_->Shutdown();
  ASSERT_TRUE(sink.WaitForDone(kWait));
  EXPECT_EQ(sink.done()->code(), absl::StatusCode::kUnavailable) << *sink.done();
  EXPECT_TRUE(absl::StartsWith(sink.done()->message(), kNamedUnavailable)) << *sink.done();
  handle->reset();
}

TEST_F(InstanceClientTest, UnreachablePluginIsUnavailable) {
  TempDir empty;
  InstanceClient nowhere(discovery::MakePluginChannel(empty.Join("gone.sock")));
  absl::Status status = nowhere.Validate(v1::ValidateRequest());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(InstanceClientTest, WatchDeliversInitialSetThenSyncedThenChanges) {
  std::string a1 = MustProvision({{spec::kGroupTag, "a"}});
  MustProvision({{spec::kGroupTag, "b"}});
  std::string a2 = MustProvision({{spec::kGroupTag, "a"}});

  RecordingSink sink;
  v1::WatchRequest request;
  (*request.mutable_tags())[spec::kGroupTag] = "a";
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> handle =
      client_->Watch(request, &sink);
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_TRUE(sink.WaitForEvents(3, kWait));

  std::string a3 = MustProvision({{spec::kGroupTag, "a"}});
  MustProvision({{spec::kGroupTag, "b"}});  // Not watched: no event.
  v1::LabelRequest label;
  label.set_id(a1);
  (*label.mutable_labels())["x"] = "y";
  ASSERT_TRUE(client_->Label(label).ok());
  v1::DestroyRequest destroy;
  destroy.set_id(a2);
  ASSERT_TRUE(client_->Destroy(destroy).ok());
  ASSERT_TRUE(sink.WaitForEvents(6, kWait));

  std::vector<v1::WatchResponse> events = sink.events();
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].type(), v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(events[0].instance().id(), a1);
  EXPECT_EQ(events[1].type(), v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(events[1].instance().id(), a2);
  EXPECT_EQ(events[2].type(), v1::EVENT_TYPE_SYNCED);
  EXPECT_FALSE(events[2].has_instance());
  EXPECT_EQ(events[3].type(), v1::EVENT_TYPE_ADDED);
  EXPECT_EQ(events[3].instance().id(), a3);
  EXPECT_EQ(events[4].type(), v1::EVENT_TYPE_CHANGED);
  EXPECT_EQ(events[4].instance().tags().at("x"), "y");
  EXPECT_EQ(events[5].type(), v1::EVENT_TYPE_REMOVED);
  EXPECT_EQ(events[5].instance().id(), a2);
  EXPECT_FALSE(sink.done().has_value());
}

TEST_F(InstanceClientTest, TwoConcurrentWatchesBothSeeEveryEvent) {
  RecordingSink first;
  RecordingSink second;
  auto h1 = client_->Watch(v1::WatchRequest(), &first);
  ASSERT_TRUE(h1.ok()) << h1.status();
  InstanceClient other_client(server_->NewChannel());
  auto h2 = other_client.Watch(v1::WatchRequest(), &second);
  ASSERT_TRUE(h2.ok()) << h2.status();
  ASSERT_TRUE(WaitFor([&] { return fake_->open_watches() == 2; }, kWait));

  constexpr int kInstances = 50;
  std::vector<std::string> ids;
  for (int i = 0; i < kInstances; ++i) ids.push_back(MustProvision({{"n", std::to_string(i)}}));
  // SYNCED + one ADDED per instance, in order, on both streams.
  ASSERT_TRUE(first.WaitForEvents(kInstances + 1, kWait));
  ASSERT_TRUE(second.WaitForEvents(kInstances + 1, kWait));
  for (RecordingSink* sink : {&first, &second}) {
    std::vector<v1::WatchResponse> events = sink->events();
    ASSERT_EQ(events.size(), kInstances + 1u);
    EXPECT_EQ(events[0].type(), v1::EVENT_TYPE_SYNCED);
    for (int i = 0; i < kInstances; ++i) {
      EXPECT_EQ(events[i + 1].type(), v1::EVENT_TYPE_ADDED);
      EXPECT_EQ(events[i + 1].instance().id(), ids[i]);
    }
  }
}

TEST_F(InstanceClientTest, DestroyingTheHandleReleasesTheServerSideWatch) {
  RecordingSink sink;
  auto handle = client_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_TRUE(WaitFor([&] { return fake_->open_watches() == 1; }, kWait));
  ASSERT_TRUE(sink.WaitForEvents(1, kWait));  // SYNCED.
  EXPECT_EQ(fake_->destroyed_handles(), 0);

  handle->reset();
  EXPECT_TRUE(WaitFor([&] { return fake_->destroyed_handles() == 1; }, kWait));
  EXPECT_EQ(fake_->open_watches(), 0);
  // Ended by the handle: the sink hears no OnDone.
  MustProvision({});
  EXPECT_FALSE(sink.done().has_value());
  EXPECT_EQ(sink.events().size(), 1u);  // Only SYNCED.
}

TEST_F(InstanceClientTest, ServerShutdownEndsAnOpenStreamWithOnDone) {
  RecordingSink sink;
  auto handle = client_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_TRUE(WaitFor([&] { return fake_->open_watches() == 1; }, kWait));

  server_->Shutdown();  // Returns only once every call has ended.
  ASSERT_TRUE(sink.WaitForDone(kWait));
  EXPECT_FALSE(sink.done()->ok());
  EXPECT_TRUE(WaitFor([&] { return fake_->destroyed_handles() == 1; }, kWait));
  handle->reset();  // After OnDone: returns at once, nothing more reaches the sink.
  EXPECT_EQ(sink.calls_after_done(), 0);
}

TEST_F(InstanceClientTest, PluginEndingTheWatchEndsTheStreamWithItsStatus) {
  RecordingSink sink;
  auto handle = client_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_TRUE(WaitFor([&] { return fake_->open_watches() == 1; }, kWait));
  MustProvision({});
  fake_->EndWatches(absl::UnavailableError("plugin stopping"));

  ASSERT_TRUE(sink.WaitForDone(kWait));
  EXPECT_EQ(*sink.done(), absl::UnavailableError("plugin stopping"));
  // Events queued before the end were delivered first.
  ASSERT_EQ(sink.events().size(), 2u);
  EXPECT_EQ(sink.events()[1].type(), v1::EVENT_TYPE_ADDED);
  EXPECT_TRUE(WaitFor([&] { return fake_->destroyed_handles() == 1; }, kWait));
}

TEST_F(InstanceClientTest, WatchOfAPluginThatCannotWatchIsUnimplemented) {
  fake_->SetWatchSupported(false);
  RecordingSink sink;
  auto handle = client_->Watch(v1::WatchRequest(), &sink);
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(handle.status().message(), "this plugin cannot watch");
  EXPECT_TRUE(sink.events().empty());
  EXPECT_FALSE(sink.done().has_value());
}

TEST_F(InstanceClientTest, WatchThatCannotBeEstablishedInTimeIsDeadlineExceeded) {
  InstanceClient impatient(server_->NewChannel(), absl::Milliseconds(200));
  fake_->BlockCalls();
  RecordingSink sink;
  auto handle = impatient.Watch(v1::WatchRequest(), &sink);
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(WaitFor([&] { return fake_->blocked_calls() == 1; }, kWait));
  fake_->UnblockCalls();
  // The core subscribed after the client had gone: the server releases that subscription.
  EXPECT_TRUE(WaitFor([&] { return fake_->destroyed_handles() == 1; }, kWait));
  EXPECT_EQ(fake_->open_watches(), 0);
  EXPECT_TRUE(sink.events().empty());
  EXPECT_FALSE(sink.done().has_value());
}

TEST_F(InstanceClientTest, HandleMayOutliveTheClient) {
  RecordingSink sink;
  auto handle = client_->Watch(v1::WatchRequest(), &sink);
  ASSERT_TRUE(handle.ok()) << handle.status();
  client_.reset();
  ASSERT_TRUE(WaitFor([&] { return fake_->open_watches() == 1; }, kWait));
  fake_->Provision(ProvisionWithTags({})).IgnoreError();
  EXPECT_TRUE(sink.WaitForEvents(2, kWait));
  handle->reset();
  EXPECT_TRUE(WaitFor([&] { return fake_->destroyed_handles() == 1; }, kWait));
}

TEST_F(InstanceClientTest, BatchProvisionIsOneCallWithOneResultPerRequestInOrder) {
  fake_->FailNthProvision(2, absl::UnavailableError("cloud hiccup"));
  v1::BatchProvisionRequest request;
  for (int i = 0; i < 5; ++i)
    *request.add_requests() = ProvisionWithTags({{"n", std::to_string(i)}});
  absl::StatusOr<v1::BatchProvisionResponse> response = client_->BatchProvision(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(fake_->batch_provision_calls(), 1);
  EXPECT_EQ(fake_->provision_calls(), 5);
  ASSERT_EQ(response->results_size(), 5);
  const std::vector<std::string> ids = {"instance-000001", "", "instance-000002", "instance-000003",
                                        "instance-000004"};
  for (int i = 0; i < 5; ++i) {
    if (i == 1) {
      ASSERT_TRUE(response->results(i).has_error());
      EXPECT_EQ(spi::FromItemStatus(response->results(i).error()),
                absl::UnavailableError("cloud hiccup"));
      continue;
    }
    ASSERT_TRUE(response->results(i).has_response()) << i;
    EXPECT_EQ(response->results(i).response().id(), ids[i]);
    EXPECT_TRUE(response->results(i).response().created());
  }
}

TEST_F(InstanceClientTest, BatchDestroyIsOneCallWithOneStatusPerRequestInOrder) {
  const std::string a = MustProvision({});
  const std::string b = MustProvision({});
  v1::BatchDestroyRequest request;
  for (const std::string& id : {a, std::string("instance-999999"), b}) {
    request.add_requests()->set_id(id);
  }
  absl::StatusOr<v1::BatchDestroyResponse> response = client_->BatchDestroy(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(fake_->batch_destroy_calls(), 1);
  ASSERT_EQ(response->results_size(), 3);
  EXPECT_EQ(response->results(0).code(), 0);
  EXPECT_EQ(spi::FromItemStatus(response->results(1)),
            absl::NotFoundError("no instance instance-999999"));
  EXPECT_EQ(response->results(2).code(), 0);
  absl::StatusOr<v1::DescribeResponse> left = client_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(left->instances_size(), 0);
}

TEST_F(InstanceClientTest, OversizedBatchesAreRefusedWithoutACall) {
  // No server behind this socket: only a check made before any call answers INVALID_ARGUMENT.
  TempDir empty;
  InstanceClient nowhere(discovery::MakePluginChannel(empty.Join("gone.sock")));
  v1::BatchProvisionRequest provision;
  v1::BatchDestroyRequest destroy;
  for (size_t i = 0; i <= spi::kMaxBatchSize; ++i) {
    provision.add_requests();
    destroy.add_requests()->set_id("x");
  }
  absl::StatusOr<v1::BatchProvisionResponse> provisioned = nowhere.BatchProvision(provision);
  EXPECT_EQ(provisioned.status(),
            absl::InvalidArgumentError("requests: 1001 items; a batch carries at most 1000"));
  EXPECT_EQ(nowhere.BatchDestroy(destroy).status().code(), absl::StatusCode::kInvalidArgument);
  // And a reachable plugin is not called either.
  EXPECT_EQ(client_->BatchProvision(provision).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fake_->batch_provision_calls(), 0);
  EXPECT_EQ(fake_->calls(), 0);
}

v1::BatchProvisionRequest BatchOfInits(const std::vector<std::string>& inits) {
  v1::BatchProvisionRequest request;
  for (const std::string& init : inits) request.add_requests()->mutable_spec()->set_init(init);
  return request;
}

TEST(InstanceClientBatchFallbackTest, APluginWithoutBatchCallsGetsUnaryCallsFromThenOn) {
  TempDir dir;
  LegacyInstanceService legacy(LegacyInstanceService::BatchMode::kUnimplemented);
  auto server = TestServer::Start(dir.Join("legacy.sock"), {&legacy});
  ASSERT_TRUE(server.ok()) << server.status();
  InstanceClient client((*server)->NewChannel(), kWait);

  absl::StatusOr<v1::BatchProvisionResponse> first =
      client.BatchProvision(BatchOfInits({"a", "bad", "c"}));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(legacy.batch_attempts(), 1);
  EXPECT_EQ(legacy.provisions(), 2);
  ASSERT_EQ(first->results_size(), 3);
  EXPECT_EQ(first->results(0).response().id(), "legacy-1");
  EXPECT_EQ(spi::FromItemStatus(first->results(1).error()),
            absl::InvalidArgumentError("spec.init: bad"));
  EXPECT_EQ(first->results(2).response().id(), "legacy-2");

  // Remembered: straight to the unary calls.
  absl::StatusOr<v1::BatchProvisionResponse> second = client.BatchProvision(BatchOfInits({"d"}));
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->results_size(), 1);
  EXPECT_EQ(second->results(0).response().id(), "legacy-3");
  EXPECT_EQ(legacy.batch_attempts(), 1);

  // BatchDestroy learns on its own, the same way.
  v1::BatchDestroyRequest destroy;
  for (const char* id : {"legacy-1", "legacy-9", "legacy-3"}) destroy.add_requests()->set_id(id);
  absl::StatusOr<v1::BatchDestroyResponse> destroyed = client.BatchDestroy(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  EXPECT_EQ(legacy.batch_attempts(), 2);
  EXPECT_EQ(legacy.destroys(), 3);
  ASSERT_EQ(destroyed->results_size(), 3);
  EXPECT_EQ(destroyed->results(0).code(), 0);
  EXPECT_EQ(spi::FromItemStatus(destroyed->results(1)),
            absl::NotFoundError("no instance legacy-9"));
  EXPECT_EQ(destroyed->results(2).code(), 0);
  destroy.mutable_requests()->DeleteSubrange(1, 2);
  destroy.mutable_requests(0)->set_id("legacy-2");
  destroyed = client.BatchDestroy(destroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  ASSERT_EQ(destroyed->results_size(), 1);
  EXPECT_EQ(destroyed->results(0).code(), 0);
  EXPECT_EQ(legacy.batch_attempts(), 2);
  EXPECT_EQ(legacy.destroys(), 4);
}

TEST(InstanceClientBatchFallbackTest, OtherErrorsAreTheCallsAndAreNotRemembered) {
  TempDir dir;
  LegacyInstanceService legacy(LegacyInstanceService::BatchMode::kUnavailable);
  auto server = TestServer::Start(dir.Join("legacy.sock"), {&legacy});
  ASSERT_TRUE(server.ok()) << server.status();
  InstanceClient client((*server)->NewChannel(), kWait);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    EXPECT_EQ(client.BatchProvision(BatchOfInits({"a"})).status(),
              absl::UnavailableError("backend down"));
    EXPECT_EQ(legacy.batch_attempts(), attempt);
  }
  EXPECT_EQ(legacy.provisions(), 0);  // no fallback that could create twice
}

TEST(InstanceClientBatchFallbackTest, AResultCountOtherThanTheRequestsIsInternal) {
  TempDir dir;
  LegacyInstanceService legacy(LegacyInstanceService::BatchMode::kOneResultShort);
  auto server = TestServer::Start(dir.Join("legacy.sock"), {&legacy});
  ASSERT_TRUE(server.ok()) << server.status();
  InstanceClient client((*server)->NewChannel(), kWait);
  EXPECT_EQ(client.BatchProvision(BatchOfInits({"a", "b", "c"})).status(),
            absl::InternalError("BatchProvision: the plugin answered 2 results for 3 requests"));
  v1::BatchDestroyRequest destroy;
  destroy.add_requests()->set_id("x");
  EXPECT_EQ(client.BatchDestroy(destroy).status(),
            absl::InternalError("BatchDestroy: the plugin answered 0 results for 1 requests"));
}

TEST(InstanceClientBatchFallbackTest, AResultWithoutOutcomeIsInternal) {
  TempDir dir;
  LegacyInstanceService legacy(LegacyInstanceService::BatchMode::kNoOutcome);
  auto server = TestServer::Start(dir.Join("legacy.sock"), {&legacy});
  ASSERT_TRUE(server.ok()) << server.status();
  InstanceClient client((*server)->NewChannel(), kWait);
  EXPECT_EQ(client.BatchProvision(BatchOfInits({"a", "b"})).status(),
            absl::InternalError(
                "BatchProvision: the plugin's result 1 has neither a response nor an error"));
}

}  // namespace
}  // namespace infrakit::client
