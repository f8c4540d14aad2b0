#include "common/etcd/endpoints.h"

#include "gtest/gtest.h"

namespace infrakit::etcd {
namespace {

TEST(EndpointsTest, ParsesWithOrWithoutScheme) {
  absl::StatusOr<std::unique_ptr<Endpoints>> e =
      Endpoints::Create("etcd://127.0.0.31:2379, 127.0.0.32:2379");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->size(), 2);
  EXPECT_EQ((*e)->ToString(), "127.0.0.31:2379,127.0.0.32:2379");
  EXPECT_EQ((*e)->Current().address, "127.0.0.31:2379");
  ASSERT_TRUE(Endpoints::Create("localhost:2379").ok());
}

TEST(EndpointsTest, RefusesBadListsNamingTheEntry) {
  for (const char* bad : {"", "etcd://", "host", ":2379", "host:0", "host:x", "a:1,b"}) {
    absl::StatusOr<std::unique_ptr<Endpoints>> e = Endpoints::Create(bad);
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(Endpoints::Create("a:1,b").status().message().find("\"b\""), std::string::npos);
}

TEST(EndpointsTest, FailureMovesOnOnceAndStaleFailuresAreIgnored) {
  absl::StatusOr<std::unique_ptr<Endpoints>> e = Endpoints::Create("a:1,b:2,c:3");
  ASSERT_TRUE(e.ok());
  Endpoints& endpoints = **e;
  EXPECT_EQ(endpoints.Current().index, 0);
  endpoints.Failed(0);
  EXPECT_EQ(endpoints.Current().index, 1);
  endpoints.Failed(0);  // a second caller that saw member 0 fail: already left
  EXPECT_EQ(endpoints.Current().index, 1);
  endpoints.Failed(1);
  endpoints.Failed(2);
  EXPECT_EQ(endpoints.Current().index, 0);  // wraps around
}

}  // namespace
}  // namespace infrakit::etcd
