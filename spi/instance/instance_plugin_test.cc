// The default batch methods of InstancePlugin: a loop over the unary ones, in order, with one
// result per item and the whole call refused beyond spi::kMaxBatchSize.
#include "spi/instance/instance_plugin.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace infrakit::spi::instance {
namespace {

// Provision creates "id-<init>" unless the init is "bad" (INVALID_ARGUMENT); Destroy knows
// only the IDs it created. Records the order of the calls. Not thread-safe (tests are not).
class ListPlugin final : public InstancePlugin {
 public:
  absl::Status Validate(const v1::ValidateRequest&) override { return absl::OkStatus(); }
  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest& request) override {
    calls.push_back(absl::StrCat("provision ", request.spec().init()));
    if (request.spec().init() == "bad") {
      return absl::InvalidArgumentError("spec.init: bad");
    }
    v1::ProvisionResponse response;
    response.set_id(absl::StrCat("id-", request.spec().init()));
    response.set_created(true);
    existing.push_back(response.id());
    return response;
  }
  absl::Status Destroy(const v1::DestroyRequest& request) override {
    calls.push_back(absl::StrCat("destroy ", request.id()));
    for (auto it = existing.begin(); it != existing.end(); ++it) {
      if (*it == request.id()) {
        existing.erase(it);
        return absl::OkStatus();
      }
    }
    return absl::NotFoundError(absl::StrCat("no instance ", request.id()));
  }
  absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest&) override {
    return absl::UnimplementedError("not needed");
  }
  absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest&) override {
    return absl::UnimplementedError("not needed");
  }
  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(const v1::WatchRequest&, WatchSink*) override {
    return absl::UnimplementedError("not needed");
  }

  std::vector<std::string> calls;
  std::vector<std::string> existing;
};

v1::BatchProvisionRequest Provisions(const std::vector<std::string>& inits) {
  v1::BatchProvisionRequest request;
  for (const std::string& init : inits) request.add_requests()->mutable_spec()->set_init(init);
  return request;
}

TEST(InstancePluginBatchTest, BatchProvisionCallsProvisionInOrderWithOneResultEach) {
  ListPlugin plugin;
  absl::StatusOr<v1::BatchProvisionResponse> response =
      plugin.BatchProvision(Provisions({"a", "bad", "c"}));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(plugin.calls,
            (std::vector<std::string>{"provision a", "provision bad", "provision c"}));
  ASSERT_EQ(response->results_size(), 3);
  ASSERT_TRUE(response->results(0).has_response());
  EXPECT_EQ(response->results(0).response().id(), "id-a");
  EXPECT_TRUE(response->results(0).response().created());
  // The failing item carries Provision's error; the others are created all the same.
  ASSERT_TRUE(response->results(1).has_error());
  EXPECT_EQ(FromItemStatus(response->results(1).error()),
            absl::InvalidArgumentError("spec.init: bad"));
  ASSERT_TRUE(response->results(2).has_response());
  EXPECT_EQ(response->results(2).response().id(), "id-c");
  EXPECT_EQ(plugin.existing, (std::vector<std::string>{"id-a", "id-c"}));
}

TEST(InstancePluginBatchTest, EmptyBatchesAnswerNoResults) {
  ListPlugin plugin;
  absl::StatusOr<v1::BatchProvisionResponse> provisioned =
      plugin.BatchProvision(v1::BatchProvisionRequest());
  ASSERT_TRUE(provisioned.ok()) << provisioned.status();
  EXPECT_EQ(provisioned->results_size(), 0);
  absl::StatusOr<v1::BatchDestroyResponse> destroyed =
      plugin.BatchDestroy(v1::BatchDestroyRequest());
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  EXPECT_EQ(destroyed->results_size(), 0);
  EXPECT_TRUE(plugin.calls.empty());
}

TEST(InstancePluginBatchTest, BatchDestroyCallsDestroyInOrderWithOneStatusEach) {
  ListPlugin plugin;
  ASSERT_TRUE(plugin.BatchProvision(Provisions({"a", "b"})).ok());
  plugin.calls.clear();
  v1::BatchDestroyRequest request;
  for (const char* id : {"id-b", "id-unknown", "id-a"}) request.add_requests()->set_id(id);
  absl::StatusOr<v1::BatchDestroyResponse> response = plugin.BatchDestroy(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(plugin.calls,
            (std::vector<std::string>{"destroy id-b", "destroy id-unknown", "destroy id-a"}));
  ASSERT_EQ(response->results_size(), 3);
  EXPECT_EQ(response->results(0).code(), 0);
  EXPECT_EQ(FromItemStatus(response->results(1)), absl::NotFoundError("no instance id-unknown"));
  EXPECT_EQ(response->results(2).code(), 0);
  EXPECT_TRUE(plugin.existing.empty());
}

TEST(InstancePluginBatchTest, BatchesBeyondTheLimitAreRefusedAndDoNothing) {
  ListPlugin plugin;
  std::vector<std::string> inits(kMaxBatchSize + 1, "x");
  absl::StatusOr<v1::BatchProvisionResponse> provisioned = plugin.BatchProvision(Provisions(inits));
  EXPECT_EQ(provisioned.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(provisioned.status().message().find("requests"), absl::string_view::npos)
      << provisioned.status();

  v1::BatchDestroyRequest destroy;
  for (size_t i = 0; i <= kMaxBatchSize; ++i) destroy.add_requests()->set_id("id-x");
  absl::StatusOr<v1::BatchDestroyResponse> destroyed = plugin.BatchDestroy(destroy);
  EXPECT_EQ(destroyed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(plugin.calls.empty());

  // Exactly the limit is fine.
  inits.pop_back();
  absl::StatusOr<v1::BatchProvisionResponse> full = plugin.BatchProvision(Provisions(inits));
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->results_size(), static_cast<int>(kMaxBatchSize));
}

}  // namespace
}  // namespace infrakit::spi::instance
