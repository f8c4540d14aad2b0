#include "services/group/ha/leader_value.h"

#include "gtest/gtest.h"

namespace infrakit::services::group::ha {
namespace {

TEST(LeaderValueTest, EncodesIdentityAndPeerAddressOnTwoLines) {
  LeaderValue value{"group-a on host1", "10.0.0.1:7301"};
  EXPECT_EQ(value.Encode(), "group-a on host1\npeer 10.0.0.1:7301");
  LeaderValue decoded = LeaderValue::Decode(value.Encode());
  EXPECT_EQ(decoded.identity, "group-a on host1");
  EXPECT_EQ(decoded.peer_address, "10.0.0.1:7301");
}

TEST(LeaderValueTest, WithoutAPeerAddressTheValueIsTheIdentity) {
  LeaderValue value{"group-a", ""};
  EXPECT_EQ(value.Encode(), "group-a");
  LeaderValue decoded = LeaderValue::Decode("group-a");
  EXPECT_EQ(decoded.identity, "group-a");
  EXPECT_EQ(decoded.peer_address, "");
}

TEST(LeaderValueTest, WhatIsNotUnderstoodStaysInTheIdentity) {
  LeaderValue decoded = LeaderValue::Decode("a\npeer b\nc");
  EXPECT_EQ(decoded.identity, "a\npeer b\nc");
  EXPECT_EQ(decoded.peer_address, "");
}

TEST(LeaderValueTest, IdentityMustBeOneNonEmptyLine) {
  EXPECT_TRUE(CheckIdentity("group-a pid 7", "--advertise").ok());
  absl::Status empty = CheckIdentity("", "--advertise");
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.message().find("--advertise"), std::string::npos);
  EXPECT_EQ(CheckIdentity("a\nb", "--advertise").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infrakit::services::group::ha
