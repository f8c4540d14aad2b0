#include "spi/request_limits.h"

#include <functional>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace infrakit::spi {
namespace {

namespace v1 = ::infrakit::instance::v1;

// OK at the limit, INVALID_ARGUMENT naming `field` one byte above.
void ExpectBoundary(const std::function<absl::Status(size_t)>& check, size_t limit,
                    const std::string& field) {
  EXPECT_TRUE(check(limit).ok()) << check(limit);
  const absl::Status above = check(limit + 1);
  EXPECT_EQ(above.code(), absl::StatusCode::kInvalidArgument) << field;
  EXPECT_TRUE(absl::StrContains(above.message(), field)) << above;
}

TEST(RequestLimitsTest, EachLimitAtItsBoundary) {
  ExpectBoundary([](size_t n) { return CheckIdSize(std::string(n, 'i'), "id"); }, kMaxIdBytes,
                 "id");
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        (*spec.mutable_tags())[std::string(n, 'k')] = "v";
        return CheckSpecSize(spec, "spec");
      },
      kMaxTagKeyBytes, "spec.tags");
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        (*spec.mutable_tags())["k"] = std::string(n, 'v');
        return CheckSpecSize(spec, "spec");
      },
      kMaxTagValueBytes, "spec.tags[\"k\"]");
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        for (size_t i = 0; i < n; ++i) (*spec.mutable_tags())[std::to_string(i)] = "v";
        return CheckSpecSize(spec, "spec");
      },
      kMaxTags, "spec.tags");
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        spec.set_init(std::string(n, 'x'));
        return CheckSpecSize(spec, "spec");
      },
      kMaxInitBytes, "spec.init");
  ExpectBoundary(
      [](size_t n) {
        v1::Spec spec;
        spec.set_idempotency_key(std::string(n, 'x'));
        return CheckSpecSize(spec, "spec");
      },
      kMaxIdBytes, "spec.idempotency_key");
}

TEST(RequestLimitsTest, PropertiesAreMeasuredEncoded) {
  google::protobuf::Struct properties;
  (*properties.mutable_fields())["Note"].set_string_value(std::string(kMaxPropertiesBytes, 'x'));
  const absl::Status status = CheckPropertiesSize(properties, "properties");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "properties")) << status;
  (*properties.mutable_fields())["Note"].set_string_value(std::string(1000, 'x'));
  EXPECT_TRUE(CheckPropertiesSize(properties, "properties").ok());
}

}  // namespace
}  // namespace infrakit::spi
