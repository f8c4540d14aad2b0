// InstanceClient against InstanceService over a real unix socket, with a fake core behind it.
#include "client/instance_client.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/discovery/channel.h"
#include "client/testing/fake_instance_plugin.h"
#include "client/testing/recording_sink.h"
#include "client/testing/test_server.h"
#include "gtest/gtest.h"
#include "plugins/instance/instance_service.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::client {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::client::testing::FakeInstancePlugin;
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

  v1::ProvisionRequest provision = ProvisionWithTags({{"infrakit.group", "web"}});
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
  std::string other = MustProvision({{"infrakit.group", "db"}});

  v1::DescribeRequest describe;
  (*describe.mutable_tags())["infrakit.group"] = "web";
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
  EXPECT_EQ(labelled->instance().tags().at("infrakit.group"), "web");

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

TEST_F(InstanceClientTest, UnreachablePluginIsUnavailable) {
  TempDir empty;
  InstanceClient nowhere(discovery::MakePluginChannel(empty.Join("gone.sock")));
  absl::Status status = nowhere.Validate(v1::ValidateRequest());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(InstanceClientTest, WatchDeliversInitialSetThenSyncedThenChanges) {
  std::string a1 = MustProvision({{"infrakit.group", "a"}});
  MustProvision({{"infrakit.group", "b"}});
  std::string a2 = MustProvision({{"infrakit.group", "a"}});

  RecordingSink sink;
  v1::WatchRequest request;
  (*request.mutable_tags())["infrakit.group"] = "a";
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> handle =
      client_->Watch(request, &sink);
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_TRUE(sink.WaitForEvents(3, kWait));

  std::string a3 = MustProvision({{"infrakit.group", "a"}});
  MustProvision({{"infrakit.group", "b"}});  // Not watched: no event.
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

}  // namespace
}  // namespace infrakit::client
