// Batch calls: the per-item status of the contracts (infrakit.plugin.v1.ItemStatus) and the
// limit on a batch's size, shared by plugin cores, servers, clients and the group controller.
#ifndef INFRAKIT_SPI_ITEM_STATUS_H_
#define INFRAKIT_SPI_ITEM_STATUS_H_

#include <cstddef>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "infrakit/plugin/v1/plugin.pb.h"

namespace infrakit::spi {

// The most items one batch call may carry (the contracts' documented limit). Large enough that
// a call's fixed cost is negligible, small enough that a batch of specs stays far below gRPC's
// 4 MiB default message size.
inline constexpr size_t kMaxBatchSize = 1000;

// OK, or INVALID_ARGUMENT naming the field and the limit when `size` > kMaxBatchSize.
absl::Status CheckBatchSize(size_t size, absl::string_view field);

// The wire form of a per-item outcome (code 0 and no message for OK).
::infrakit::plugin::v1::ItemStatus ToItemStatus(const absl::Status& status);

// Back from the wire form; a code outside absl's range becomes UNKNOWN (the message is kept).
absl::Status FromItemStatus(const ::infrakit::plugin::v1::ItemStatus& status);

// Fills one item of a batch response from that item's outcome: `result` (a ProvisionResult,
// PrepareResult or HealthyResult: a oneof of `response` and `error`) gets the response when
// `outcome` is OK, else the error in wire form. Thread-safe (touches only its arguments).
template <typename Result, typename Response>
void SetItemResult(absl::StatusOr<Response> outcome, Result* result) {
  if (outcome.ok()) {
    *result->mutable_response() = *std::move(outcome);
  } else {
    *result->mutable_error() = ToItemStatus(outcome.status());
  }
}

}  // namespace infrakit::spi

#endif  // INFRAKIT_SPI_ITEM_STATUS_H_
