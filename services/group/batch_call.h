// The one way the group controller makes a batch call to a plugin: resolve the plugin by name,
// make the call, check that it answered one result per item, and split the answer per item.
// Every part that calls a batch RPC (BatchPrepare, BatchProvision, BatchHealthy, BatchDrain,
// BatchDestroy) goes through it, so a plugin that answers the wrong number of results fails
// the whole call the same way everywhere.
//
// Threading: pure functions of their arguments; they block for as long as the call does. Never
// call them under the controller's lock.
#ifndef INFRAKIT_SERVICES_GROUP_BATCH_CALL_H_
#define INFRAKIT_SERVICES_GROUP_BATCH_CALL_H_

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "spi/item_status.h"

namespace infrakit::services::group {

// A few items go in one batch call rather than one each in several: a call's fixed cost (a
// gRPC round trip, ~100 us of CPU each side) is that of many items.
inline constexpr size_t kMinPerCall = 16;

// How many of `queued` items one of `parallel` calls carries, at most `max` (and at most
// spi::kMaxBatchSize): what is queued is spread over the
// calls allowed at once, so they all work (plugins run calls concurrently), and a call is capped
// so its results come back while others are under way.
inline size_t BatchSize(size_t queued, int parallel, int max) {
  const size_t cap = std::min(static_cast<size_t>(std::max(max, 1)), spi::kMaxBatchSize);
  const size_t p = static_cast<size_t>(std::max(parallel, 1));
  const size_t spread = (queued + p - 1) / p;
  return std::max<size_t>(1, std::min(cap, std::max(spread, std::min(queued, kMinPerCall))));
}

// Calls `call(plugin)` with the plugin `resolved` (the resolver's answer), or passes on why
// it could not be resolved.
template <typename PluginPtr, typename Call>
auto CallResolved(const absl::StatusOr<PluginPtr>& resolved, Call call)
    -> decltype(call(*resolved)) {
  if (!resolved.ok()) return resolved.status();
  return call(*resolved);
}

// Splits a batch answer into one result per item: `item(response, i)` for each of the
// `expected` items when the call succeeded with that many results; the call's error for each
// when it failed; INTERNAL "<call> answered N results for M <items>" for each when the count
// is wrong. `item` returns an absl::Status or an absl::StatusOr.
template <typename Response, typename ItemFn>
auto SplitBatch(absl::StatusOr<Response> response, size_t expected, absl::string_view call,
                absl::string_view items, ItemFn item)
    -> std::vector<std::invoke_result_t<ItemFn, Response&, int>> {
  using Result = std::invoke_result_t<ItemFn, Response&, int>;
  if (response.ok() && static_cast<size_t>(response->results_size()) != expected) {
    response = absl::InternalError(absl::StrCat(call, " answered ", response->results_size(),
                                                " results for ", expected, " ", items));
  }
  std::vector<Result> out;
  out.reserve(expected);
  for (size_t i = 0; i < expected; ++i) {
    if (response.ok()) {
      out.push_back(item(*response, static_cast<int>(i)));
    } else {
      out.push_back(Result(response.status()));
    }
  }
  return out;
}

}  // namespace infrakit::services::group

#endif  // INFRAKIT_SERVICES_GROUP_BATCH_CALL_H_
