#include "services/group/ha/gated_resolver.h"

#include <atomic>
#include <memory>

#include "gtest/gtest.h"
#include "services/group/testing/fake_clock.h"
#include "services/group/testing/fake_flavor_plugin.h"
#include "services/group/testing/fake_instance_plugin.h"
#include "services/group/testing/fake_resolver.h"

namespace infrakit::services::group::ha {
namespace {

TEST(GatedResolverTest, ResolvesOnlyWhileTheGateIsOpen) {
  testing::FakeClock clock;
  testing::FakeResolver inner;
  inner.AddInstance("instance-file", std::make_shared<testing::FakeInstancePlugin>(&clock));
  inner.AddFlavor("flavor-vanilla", std::make_shared<testing::FakeFlavorPlugin>());
  std::atomic<bool> open{true};
  GatedResolver resolver(&inner, [&]() -> absl::Status {
    if (open) return absl::OkStatus();
    return absl::UnavailableError("not acting: leadership not confirmed");
  });

  EXPECT_TRUE(resolver.Instance("instance-file").ok());
  EXPECT_TRUE(resolver.Flavor("flavor-vanilla").ok());
  EXPECT_EQ(resolver.Instance("missing").status().code(), absl::StatusCode::kNotFound);

  open = false;
  auto refused = resolver.Instance("instance-file");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message(), "not acting: leadership not confirmed");
  EXPECT_EQ(resolver.Flavor("flavor-vanilla").status().code(), absl::StatusCode::kUnavailable);

  open = true;
  EXPECT_TRUE(resolver.Instance("instance-file").ok());
}

}  // namespace
}  // namespace infrakit::services::group::ha
