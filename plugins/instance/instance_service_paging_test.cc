// Describe's pages as InstanceService serves them over a real unix socket: the adapter pages
// the core's full answer, whichever core it is.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/instance_client.h"
#include "client/testing/test_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/instance/instance_service.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::plugins::instance {
namespace {

namespace v1 = ::infrakit::instance::v1;
using ::infrakit::client::InstanceClient;
using ::infrakit::client::testing::TestServer;
using ::infrakit::testing::TempDir;
using ::testing::HasSubstr;

constexpr absl::Duration kDeadline = absl::Seconds(20);

std::string Id(int n) { return absl::StrFormat("instance-%05d", n); }

// A core over a list of instances it answers in reverse ID order (the adapter sorts), counting
// its Describe calls; only Describe works.
class ListPlugin final : public spi::instance::InstancePlugin {
 public:
  // `count` instances tagged "tier=web", each with `property_bytes` bytes of spec properties.
  void Fill(int count, size_t property_bytes = 0) {
    absl::MutexLock lock(&mu_);
    instances_.clear();
    for (int i = count - 1; i >= 0; --i) {
      v1::Description d;
      d.set_id(Id(i));
      (*d.mutable_tags())["tier"] = "web";
      if (property_bytes > 0) {
        (*d.mutable_spec()->mutable_properties()->mutable_fields())["Blob"].set_string_value(
            std::string(property_bytes, 'x'));
      }
      instances_.push_back(d);
    }
  }
  int describes() {
    absl::MutexLock lock(&mu_);
    return describes_;
  }

  absl::StatusOr<v1::DescribeResponse> Describe(const v1::DescribeRequest& request) override {
    absl::MutexLock lock(&mu_);
    ++describes_;
    v1::DescribeResponse response;
    for (const v1::Description& d : instances_) {
      auto it = request.tags().find("tier");
      if (it != request.tags().end() && d.tags().at("tier") != it->second) continue;
      *response.add_instances() = d;
    }
    return response;
  }
  absl::Status Validate(const v1::ValidateRequest&) override { return No(); }
  absl::StatusOr<v1::ProvisionResponse> Provision(const v1::ProvisionRequest&) override {
    return No();
  }
  absl::Status Destroy(const v1::DestroyRequest&) override { return No(); }
  absl::StatusOr<v1::LabelResponse> Label(const v1::LabelRequest&) override { return No(); }
  absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> Watch(
      const v1::WatchRequest&, spi::instance::WatchSink*) override {
    return No();
  }

 private:
  static absl::Status No() { return absl::UnimplementedError("list plugin"); }

  absl::Mutex mu_;
  std::vector<v1::Description> instances_ ABSL_GUARDED_BY(mu_);
  int describes_ ABSL_GUARDED_BY(mu_) = 0;
};

class InstanceServicePagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = TestServer::Start(dir_.Join("list.sock"), {&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<InstanceClient>(server_->NewChannel(), kDeadline);
  }
  void TearDown() override {
    client_.reset();
    if (server_ != nullptr) server_->Shutdown();
  }

  // The IDs of one page.
  static std::vector<std::string> Ids(const v1::DescribeResponse& page) {
    std::vector<std::string> ids;
    for (const v1::Description& d : page.instances()) ids.push_back(d.id());
    return ids;
  }

  TempDir dir_;
  std::shared_ptr<ListPlugin> core_ = std::make_shared<ListPlugin>();
  InstanceService service_{core_};
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<InstanceClient> client_;
};

TEST_F(InstanceServicePagingTest, PagesInIdOrderUntilAnEmptyToken) {
  core_->Fill(5);
  v1::DescribeRequest request;
  (*request.mutable_tags())["tier"] = "web";
  request.set_page_size(2);
  std::vector<std::vector<std::string>> pages;
  absl::Status followed = client_->DescribePages(
      request, [&](const v1::DescribeResponse& page) { pages.push_back(Ids(page)); });
  ASSERT_TRUE(followed.ok()) << followed;
  EXPECT_EQ(pages,
            (std::vector<std::vector<std::string>>{{Id(0), Id(1)}, {Id(2), Id(3)}, {Id(4)}}));
}

TEST_F(InstanceServicePagingTest, TheClientsDescribeFollowsTheDefaultPages) {
  core_->Fill(1200);
  auto all = client_->Describe(v1::DescribeRequest());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->instances_size(), 1200);
  EXPECT_EQ(all->next_page_token(), "");
  for (int i = 0; i < 1200; ++i) ASSERT_EQ(all->instances(i).id(), Id(i));
  EXPECT_EQ(core_->describes(), 3);  // Pages of 500.

  auto first = client_->DescribePage(v1::DescribeRequest());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->instances_size(), 500);
  v1::DescribeRequest huge;
  huge.set_page_size(100000);
  auto biggest = client_->DescribePage(huge);
  ASSERT_TRUE(biggest.ok()) << biggest.status();
  EXPECT_EQ(biggest->instances_size(), 1200);  // Below the maximum (2,000): all of them.
}

// Big properties: a page stops before 3.5 MiB, so the C++ client's default 4 MiB receive limit
// is never exceeded; the client still gets every instance.
TEST_F(InstanceServicePagingTest, BigPropertiesMakeSmallerPagesThatFitFourMiB) {
  core_->Fill(7, 1024 * 1024);
  std::vector<int> sizes;
  absl::Status followed =
      client_->DescribePages(v1::DescribeRequest(), [&](const v1::DescribeResponse& page) {
        EXPECT_LT(page.ByteSizeLong(), 4u * 1024 * 1024);
        sizes.push_back(page.instances_size());
      });
  ASSERT_TRUE(followed.ok()) << followed;
  EXPECT_EQ(sizes, (std::vector<int>{3, 3, 1}));
}

TEST_F(InstanceServicePagingTest, BadSizesAndTokensAreRefusedBeforeTheCore) {
  core_->Fill(3);
  v1::DescribeRequest request;
  (*request.mutable_tags())["tier"] = "web";
  request.set_page_size(1);
  auto first = client_->DescribePage(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_token().empty());
  const int calls = core_->describes();

  v1::DescribeRequest negative = request;
  negative.set_page_size(-5);
  auto refused = client_->DescribePage(negative);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("page_size: must be >= 0, got -5"));

  v1::DescribeRequest other_tags = request;
  other_tags.set_page_token(first->next_page_token());
  (*other_tags.mutable_tags())["tier"] = "db";
  refused = client_->DescribePage(other_tags);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("other filters"));

  v1::DescribeRequest with_properties = request;
  with_properties.set_page_token(first->next_page_token());
  with_properties.set_include_properties(true);
  EXPECT_EQ(client_->DescribePage(with_properties).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::DescribeRequest tampered = request;
  std::string token = first->next_page_token();
  token[token.size() / 2] = token[token.size() / 2] == 'a' ? 'b' : 'a';
  tampered.set_page_token(token);
  EXPECT_EQ(client_->DescribePage(tampered).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(core_->describes(), calls);

  // The same filters and another page size: accepted.
  v1::DescribeRequest resized = request;
  resized.set_page_token(first->next_page_token());
  resized.set_page_size(10);
  auto rest = client_->DescribePage(resized);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(Ids(*rest), (std::vector<std::string>{Id(1), Id(2)}));
}

}  // namespace
}  // namespace infrakit::plugins::instance
