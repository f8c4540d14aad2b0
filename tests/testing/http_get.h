// A plain HTTP GET over TCP for tests of InfraKit's metrics listener (no HTTP client library
// needed, and the raw bytes of any request can be sent).
#ifndef INFRAKIT_TESTS_TESTING_HTTP_GET_H_
#define INFRAKIT_TESTS_TESTING_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace infrakit::testing {

// A parsed HTTP response.
struct HttpResponse {
  int status = 0;       // e.g. 200
  std::string headers;  // the header lines, as received
  std::string body;
};

// Connects to 127.0.0.1:`port`, sends `request` as is, reads until the server closes the
// connection, and parses the response. Errors: UNAVAILABLE when it cannot connect,
// DEADLINE_EXCEEDED after `deadline`, INTERNAL for a response that is not HTTP.
absl::StatusOr<HttpResponse> HttpExchange(int port, absl::string_view request,
                                          absl::Duration deadline = absl::Seconds(10));

// HttpExchange with "GET `path` HTTP/1.1".
absl::StatusOr<HttpResponse> HttpGet(int port, absl::string_view path,
                                     absl::Duration deadline = absl::Seconds(10));

}  // namespace infrakit::testing

#endif  // INFRAKIT_TESTS_TESTING_HTTP_GET_H_
