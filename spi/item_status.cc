#include "spi/item_status.h"

#include "absl/strings/str_cat.h"

namespace infrakit::spi {

absl::Status CheckBatchSize(size_t size, absl::string_view field) {
  if (size <= kMaxBatchSize) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", size, " items; a batch carries at most ", kMaxBatchSize));
}

::infrakit::plugin::v1::ItemStatus ToItemStatus(const absl::Status& status) {
  ::infrakit::plugin::v1::ItemStatus out;
  out.set_code(static_cast<int32_t>(status.code()));
  out.set_message(std::string(status.message()));
  return out;
}

absl::Status FromItemStatus(const ::infrakit::plugin::v1::ItemStatus& status) {
  int code = status.code();
  if (code == 0) return absl::OkStatus();
  // absl::StatusCode mirrors google.rpc.Code: 1 (CANCELLED) .. 16 (UNAUTHENTICATED).
  if (code < 1 || code > 16) {
    return absl::UnknownError(absl::StrCat("code ", code, ": ", status.message()));
  }
  return absl::Status(static_cast<absl::StatusCode>(code), status.message());
}

}  // namespace infrakit::spi
