// SocketResolver against real plugins directories: live, stale, missing and restarted plugins.
#include "client/resolver.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/start_hint.h"
#include "client/testing/fake_flavor_plugin.h"
#include "client/testing/fake_instance_plugin.h"
#include "client/testing/legacy_instance_service.h"
#include "client/testing/test_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/flavor/flavor_service.h"
#include "plugins/instance/instance_service.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::client {
namespace {

using ::infrakit::client::testing::FakeFlavorPlugin;
using ::infrakit::client::testing::FakeInstancePlugin;
using ::infrakit::client::testing::LegacyInstanceService;
using ::infrakit::client::testing::TestServer;
using ::infrakit::plugins::flavor::FlavorService;
using ::infrakit::plugins::instance::InstanceService;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;
using ::testing::HasSubstr;

// Leaves a socket file nobody listens on, as a crashed plugin does.
void MakeStaleSocket(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
  close(fd);
}

// Number of instances the plugin behind `plugin` reports.
int CountInstances(spi::instance::InstancePlugin& plugin) {
  absl::StatusOr<instance::v1::DescribeResponse> listed =
      plugin.Describe(instance::v1::DescribeRequest());
  EXPECT_TRUE(listed.ok()) << listed.status();
  return listed.ok() ? listed->instances_size() : -1;
}

TEST(SocketResolverTest, MissingPluginIsNotFoundSayingHowToStartIt) {
  TempDir dir;
  SocketResolver resolver(dir.path());
  auto plugin = resolver.Instance("instance-process");
  EXPECT_EQ(plugin.status(),
            absl::NotFoundError(absl::StrCat(
                "no plugin named instance-process in ", dir.path(),
                " (is it running? start it with: infrakitctl plugin start instance-process "
                "--plugins-dir ",
                dir.path(), ")")));
  EXPECT_EQ(resolver.Flavor("flavor-vanilla").status(),
            absl::NotFoundError(absl::StrCat(
                "no plugin named flavor-vanilla in ", dir.path(),
                " (is it running? start it with: infrakitctl plugin start flavor-vanilla "
                "--plugins-dir ",
                dir.path(), ")")));
  // A plugin infrakitctl cannot start: where it must listen.
  EXPECT_EQ(resolver.Instance("instance-nope").status(),
            absl::NotFoundError(absl::StrCat("no plugin named instance-nope in ", dir.path(),
                                             " (is it running? start it so that it listens on ",
                                             dir.path(), "/instance-nope.sock)")));
}

TEST(SocketResolverTest, StaleSocketIsUnavailableSayingHowToStartItAgain) {
  TempDir dir;
  MakeStaleSocket(dir.Join("instance-file.sock"));
  SocketResolver resolver(dir.path());
  auto plugin = resolver.Instance("instance-file");
  EXPECT_EQ(plugin.status().code(), absl::StatusCode::kUnavailable) << plugin.status();
  EXPECT_EQ(plugin.status().message(),
            absl::StrCat("plugin instance-file at ", dir.Join("instance-file.sock"),
                         " does not answer (it has stopped or crashed; start it with: "
                         "infrakitctl plugin start instance-file --plugins-dir ",
                         dir.path(), ")"));
}

TEST(StartHintTest, BundledPluginsGetTheCommandOthersTheSocket) {
  for (const std::string& name : BundledPluginNames()) {
    EXPECT_EQ(StartHint(name, "/run/infrakit/plugins"),
              absl::StrCat("start it with: infrakitctl plugin start ", name,
                           " --plugins-dir /run/infrakit/plugins"));
  }
  EXPECT_EQ(StartHint("zookeeper", "/tmp/p"),
            "start it so that it listens on /tmp/p/zookeeper.sock");
}

// Configs written for the original InfraKit name the zookeeper flavor "zookeeper" and the swarm
// flavor "swarm": the bundled flavor-zookeeper and flavor-swarm serve them when no plugin runs
// under that name; one that does wins.
TEST(SocketResolverTest, OriginalNamesReachTheirBundledPlugin) {
  TempDir dir;
  SocketResolver resolver(dir.path());
  EXPECT_EQ(resolver.Flavor("zookeeper").status().code(), absl::StatusCode::kNotFound);

  auto bundled = std::make_shared<FakeFlavorPlugin>();
  FlavorService bundled_service(bundled);
  auto bundled_server = TestServer::Start(dir.Join("flavor-zookeeper.sock"), {&bundled_service});
  ASSERT_TRUE(bundled_server.ok()) << bundled_server.status();
  flavor::v1::ValidateRequest validate;
  validate.mutable_allocation()->set_size(1);
  auto by_alias = resolver.Flavor("zookeeper");
  ASSERT_TRUE(by_alias.ok()) << by_alias.status();
  EXPECT_TRUE((*by_alias)->Validate(validate).ok());
  // Each alias reaches its own plugin only.
  EXPECT_EQ(resolver.Flavor("swarm").status().code(), absl::StatusCode::kNotFound);
  FlavorService swarm_service(std::make_shared<FakeFlavorPlugin>());
  auto swarm_server = TestServer::Start(dir.Join("flavor-swarm.sock"), {&swarm_service});
  ASSERT_TRUE(swarm_server.ok()) << swarm_server.status();
  auto swarm_by_alias = resolver.Flavor("swarm");
  ASSERT_TRUE(swarm_by_alias.ok()) << swarm_by_alias.status();
  EXPECT_TRUE((*swarm_by_alias)->Validate(validate).ok());
  EXPECT_EQ(OriginalNameAlias("zookeeper"), "flavor-zookeeper");
  EXPECT_EQ(OriginalNameAlias("swarm"), "flavor-swarm");
  EXPECT_EQ(OriginalNameAlias("vagrant"), "instance-vagrant");
  EXPECT_EQ(OriginalNameAlias("terraform"), "instance-terraform");
  EXPECT_EQ(OriginalNameAlias("flavor-vanilla"), "");
  EXPECT_EQ(resolver.Flavor("vanilla").status().code(), absl::StatusCode::kNotFound);
}

// The original InfraKit's terraform plugin was "terraform" in its configs: the bundled
// instance-terraform serves that name.
TEST(SocketResolverTest, TerraformReachesInstanceTerraform) {
  TempDir dir;
  SocketResolver resolver(dir.path());
  EXPECT_EQ(resolver.Instance("terraform").status().code(), absl::StatusCode::kNotFound);
  InstanceService service(std::make_shared<FakeInstancePlugin>());
  auto server = TestServer::Start(dir.Join("instance-terraform.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto by_alias = resolver.Instance("terraform");
  ASSERT_TRUE(by_alias.ok()) << by_alias.status();
  EXPECT_TRUE((*by_alias)->Describe(instance::v1::DescribeRequest()).ok());
}

TEST(SocketResolverTest, BadNameIsInvalidArgument) {
  TempDir dir;
  SocketResolver resolver(dir.path());
  EXPECT_EQ(resolver.Instance("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(resolver.Flavor("../x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SocketResolverTest, ResolvesLivePluginsAndReusesTheirChannelAndClients) {
  TempDir dir;
  auto instances = std::make_shared<FakeInstancePlugin>();
  ASSERT_TRUE(instances->Provision(instance::v1::ProvisionRequest()).ok());
  InstanceService instance_service(instances);
  auto flavors = std::make_shared<FakeFlavorPlugin>();
  FlavorService flavor_service(flavors);
  auto instance_server = TestServer::Start(dir.Join("instance-fake.sock"), {&instance_service});
  ASSERT_TRUE(instance_server.ok()) << instance_server.status();
  auto flavor_server = TestServer::Start(dir.Join("flavor-fake.sock"), {&flavor_service});
  ASSERT_TRUE(flavor_server.ok()) << flavor_server.status();

  SocketResolver resolver(dir.path());
  auto instance = resolver.Instance("instance-fake");
  ASSERT_TRUE(instance.ok()) << instance.status();
  EXPECT_EQ(CountInstances(**instance), 1);

  auto flavor = resolver.Flavor("flavor-fake");
  ASSERT_TRUE(flavor.ok()) << flavor.status();
  flavor::v1::ValidateRequest validate;
  validate.mutable_allocation()->set_size(1);
  EXPECT_TRUE((*flavor)->Validate(validate).ok());

  auto first = resolver.Channel("instance-fake");
  auto second = resolver.Channel("instance-fake");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->get(), second->get());
  auto other = resolver.Channel("flavor-fake");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(first->get(), other->get());

  // One client per plugin while its socket stays, so that what it learned is kept.
  auto instance_again = resolver.Instance("instance-fake");
  ASSERT_TRUE(instance_again.ok()) << instance_again.status();
  EXPECT_EQ(instance_again->get(), instance->get());
  auto flavor_again = resolver.Flavor("flavor-fake");
  ASSERT_TRUE(flavor_again.ok()) << flavor_again.status();
  EXPECT_EQ(flavor_again->get(), flavor->get());
}

TEST(SocketResolverTest, ReachesAPluginRestartedOnTheSamePath) {
  TempDir dir;
  const std::string socket = dir.Join("instance-fake.sock");
  SocketResolver resolver(dir.path());

  auto before = std::make_shared<FakeInstancePlugin>();
  ASSERT_TRUE(before->Provision(instance::v1::ProvisionRequest()).ok());
  {
    InstanceService service(before);
    auto server = TestServer::Start(socket, {&service});
    ASSERT_TRUE(server.ok()) << server.status();
    auto plugin = resolver.Instance("instance-fake");
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    EXPECT_EQ(CountInstances(**plugin), 1);
  }  // The plugin stops.

  auto down = resolver.Instance("instance-fake");
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.status().code() == absl::StatusCode::kNotFound ||
              down.status().code() == absl::StatusCode::kUnavailable)
      << down.status();

  auto after = std::make_shared<FakeInstancePlugin>();
  ASSERT_TRUE(after->Provision(instance::v1::ProvisionRequest()).ok());
  ASSERT_TRUE(after->Provision(instance::v1::ProvisionRequest()).ok());
  InstanceService service(after);
  auto server = TestServer::Start(socket, {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto plugin = resolver.Instance("instance-fake");
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  EXPECT_EQ(CountInstances(**plugin), 2);  // The new process answers.
}

TEST(SocketResolverTest, ClientsNameTheirPluginWhenItStops) {
  TempDir dir;
  std::shared_ptr<spi::instance::InstancePlugin> instance;
  std::shared_ptr<spi::flavor::FlavorPlugin> flavor;
  {
    InstanceService instance_service(std::make_shared<FakeInstancePlugin>());
    FlavorService flavor_service(std::make_shared<FakeFlavorPlugin>());
    auto instance_server = TestServer::Start(dir.Join("instance-fake.sock"), {&instance_service});
    ASSERT_TRUE(instance_server.ok()) << instance_server.status();
    auto flavor_server = TestServer::Start(dir.Join("flavor-fake.sock"), {&flavor_service});
    ASSERT_TRUE(flavor_server.ok()) << flavor_server.status();
    SocketResolver resolver(dir.path());
    auto resolved_instance = resolver.Instance("instance-fake");
    ASSERT_TRUE(resolved_instance.ok()) << resolved_instance.status();
    instance = *std::move(resolved_instance);
    auto resolved_flavor = resolver.Flavor("flavor-fake");
    ASSERT_TRUE(resolved_flavor.ok()) << resolved_flavor.status();
    flavor = *std::move(resolved_flavor);
    EXPECT_EQ(CountInstances(*instance), 0);
  }  // Both plugins stop; their clients are still held, as a caller mid-work holds them.
  unlink(dir.Join("instance-fake.sock").c_str());
  unlink(dir.Join("flavor-fake.sock").c_str());

  absl::Status status = instance->Describe(instance::v1::DescribeRequest()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(status.message().rfind("plugin \"instance-fake\" is unavailable: ", 0), 0u) << status;
  status = flavor->Validate(flavor::v1::ValidateRequest());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(status.message().rfind("plugin \"flavor-fake\" is unavailable: ", 0), 0u) << status;
}

TEST(SocketResolverTest, PluginKilledLeavingItsSocketIsUnavailableNotItsCachedChannel) {
  TempDir dir;
  const std::string socket = dir.Join("instance-fake.sock");
  SocketResolver resolver(dir.path());
  {
    InstanceService service(std::make_shared<FakeInstancePlugin>());
    auto server = TestServer::Start(socket, {&service});
    ASSERT_TRUE(server.ok()) << server.status();
    // Connected and cached: later resolutions skip the probe while it stays connected.
    auto plugin = resolver.Instance("instance-fake");
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    EXPECT_EQ(CountInstances(**plugin), 0);
  }
  // What a kill -9 leaves behind: a socket file nobody listens on.
  unlink(socket.c_str());
  MakeStaleSocket(socket);
  auto plugin = resolver.Instance("instance-fake");
  EXPECT_EQ(plugin.status().code(), absl::StatusCode::kUnavailable) << plugin.status();
}

TEST(SocketResolverTest, ConcurrentLookupsShareOneClient) {
  TempDir dir;
  InstanceService service(std::make_shared<FakeInstancePlugin>());
  auto server = TestServer::Start(dir.Join("instance-fake.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  SocketResolver resolver(dir.path());

  constexpr int kThreads = 8;
  constexpr int kLookups = 20;
  std::vector<std::vector<spi::instance::InstancePlugin*>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLookups; ++i) {
        auto plugin = resolver.Instance("instance-fake");
        seen[t].push_back(plugin.ok() ? plugin->get() : nullptr);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  auto first = resolver.Instance("instance-fake");
  ASSERT_TRUE(first.ok()) << first.status();
  for (const auto& pointers : seen) {
    for (spi::instance::InstancePlugin* p : pointers) EXPECT_EQ(p, first->get());
  }
}

// Two provisions in one batch call.
instance::v1::BatchProvisionRequest BatchOfTwo() {
  instance::v1::BatchProvisionRequest request;
  request.add_requests()->mutable_spec()->set_init("a");
  request.add_requests()->mutable_spec()->set_init("b");
  return request;
}

TEST(SocketResolverTest, AnUnimplementedBatchCostsOneRoundTripUntilThePluginRestarts) {
  TempDir dir;
  const std::string socket = dir.Join("instance-legacy.sock");
  SocketResolver resolver(dir.path());
  std::shared_ptr<spi::instance::InstancePlugin> before;
  {
    LegacyInstanceService legacy(LegacyInstanceService::BatchMode::kUnimplemented);
    auto server = TestServer::Start(socket, {&legacy});
    ASSERT_TRUE(server.ok()) << server.status();
    for (int lookup = 0; lookup < 3; ++lookup) {
      auto plugin = resolver.Instance("instance-legacy");
      ASSERT_TRUE(plugin.ok()) << plugin.status();
      if (before == nullptr) before = *plugin;
      EXPECT_EQ(plugin->get(), before.get());
      auto provisioned = (*plugin)->BatchProvision(BatchOfTwo());
      ASSERT_TRUE(provisioned.ok()) << provisioned.status();
      EXPECT_EQ(provisioned->results_size(), 2);
    }
    // Asked once; every later batch, whichever lookup it came through, went unary at once.
    EXPECT_EQ(legacy.batch_attempts(), 1);
    EXPECT_EQ(legacy.provisions(), 6);
  }  // The plugin stops, and a build of it that serves the batch calls starts on the same path.
  auto fake = std::make_shared<FakeInstancePlugin>();
  InstanceService service(fake);
  auto server = TestServer::Start(socket, {&service});
  ASSERT_TRUE(server.ok()) << server.status();

  auto after = resolver.Instance("instance-legacy");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->get(), before.get());
  auto provisioned = (*after)->BatchProvision(BatchOfTwo());
  ASSERT_TRUE(provisioned.ok()) << provisioned.status();
  EXPECT_EQ(provisioned->results_size(), 2);
  EXPECT_EQ(fake->batch_provision_calls(), 1);  // Asked afresh, and served as one batch.
}

// A service shutting down cancels its calls to a plugin that hangs: a call under way ends at
// once with CANCELLED (its deadline is infinite here: only the cancellation can end it), and
// later calls fail the same way without reaching the plugin.
TEST(SocketResolverTest, CancelCallsEndsTheCallsUnderWayAndRefusesLaterOnes) {
  TempDir dir;
  auto fake = std::make_shared<FakeInstancePlugin>();
  InstanceService service(fake);
  auto server = TestServer::Start(dir.Join("instance-file.sock"), {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  SocketResolverOptions options;
  options.call_deadline = absl::InfiniteDuration();
  SocketResolver resolver(dir.path(), options);
  auto plugin = resolver.Instance("instance-file");
  ASSERT_TRUE(plugin.ok()) << plugin.status();

  fake->BlockCalls();
  absl::Status provisioned;
  std::thread caller(
      [&] { provisioned = (*plugin)->Provision(instance::v1::ProvisionRequest()).status(); });
  ASSERT_TRUE(WaitFor([&] { return fake->blocked_calls() == 1; }, absl::Seconds(30)));
  resolver.CancelCalls();
  caller.join();
  EXPECT_EQ(provisioned.code(), absl::StatusCode::kCancelled) << provisioned;
  EXPECT_THAT(provisioned.message(), HasSubstr("plugin \"instance-file\""));

  const int calls = fake->calls();
  absl::Status later = (*plugin)->Describe(instance::v1::DescribeRequest()).status();
  EXPECT_EQ(later.code(), absl::StatusCode::kCancelled) << later;
  EXPECT_EQ(fake->calls(), calls);
  fake->UnblockCalls();
}

}  // namespace
}  // namespace infrakit::client
