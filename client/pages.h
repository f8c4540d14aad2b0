// Following the pages of a paged list RPC (Describe, ListGroups, InspectGroup: page_size,
// page_token, next_page_token) on the client side.
#ifndef INFRAKIT_CLIENT_PAGES_H_
#define INFRAKIT_CLIENT_PAGES_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace infrakit::client {

// Calls `call(request)` (returning absl::StatusOr<Response>), hands the page to
// `on_page(Response)`, and calls again with the page's next_page_token in page_token, until a
// page has an empty next_page_token. `request` is the first page's request (its page_size is
// kept for every page). Returns OK after the last page; else the first failing call's status
// (the pages before it have been handed over), or INTERNAL when the server answers with the
// token it was just given (it would never end).
template <typename Request, typename Call, typename OnPage>
absl::Status FollowPages(Request request, const Call& call, const OnPage& on_page) {
  while (true) {
    auto page = call(request);
    if (!page.ok()) return page.status();
    std::string next = page->next_page_token();
    on_page(*std::move(page));
    if (next.empty()) return absl::OkStatus();
    if (next == request.page_token()) {
      return absl::InternalError(
          absl::StrCat("the server answered page_token \"", next, "\" with the same token"));
    }
    request.set_page_token(std::move(next));
  }
}

// Every item of every page, in one response: the first page's response with the items of the
// following pages appended to its repeated field `items(response)` (a pointer to it), and no
// next_page_token. Errors: FollowPages'.
template <typename Response, typename Request, typename Call, typename Items>
absl::StatusOr<Response> CollectPages(const Request& request, const Call& call,
                                      const Items& items) {
  Response all;
  bool first = true;
  absl::Status status = FollowPages(request, call, [&](Response page) {
    if (first) {
      all = std::move(page);
      first = false;
    } else {
      auto* into = items(&all);
      for (auto& item : *items(&page)) *into->Add() = std::move(item);
    }
  });
  if (!status.ok()) return status;
  all.clear_next_page_token();
  return all;
}

}  // namespace infrakit::client

#endif  // INFRAKIT_CLIENT_PAGES_H_
