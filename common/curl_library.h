// libcurl, loaded when first used instead of when the process starts.
//
// Linking libcurl makes the dynamic loader map it and the ~30 libraries it needs (GnuTLS,
// OpenSSL, Kerberos, LDAP, libssh2, p11-kit, ...) at start-up, and their initialisers run:
// ~5.5 MiB resident in every process that links it (docs/benchmarks.md), although
// flavor-vanilla needs it only for HTTP health checks and flavor-swarm only once it talks to an
// engine. Curl() opens Debian's libcurl.so.4 (dlopen) on its first call instead.
#ifndef INFRAKIT_COMMON_CURL_LIBRARY_H_
#define INFRAKIT_COMMON_CURL_LIBRARY_H_

#include <curl/curl.h>

#include "absl/status/statusor.h"

namespace infrakit::common {

// The libcurl functions the project calls, with libcurl's own signatures (see curl.h; e.g.
// `easy_setopt` is curl_easy_setopt, without the compile-time type check of its argument that
// curl.h adds for direct calls under gcc).
struct CurlFunctions {
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_easy_escape) easy_escape;
  decltype(&::curl_free) free;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

// libcurl's functions. The first call loads libcurl.so.4 and calls
// curl_global_init(CURL_GLOBAL_DEFAULT). Errors: FAILED_PRECONDITION when the library cannot be
// loaded, lacks one of the functions or fails to initialise (the message names the library and
// the loader's or libcurl's reason). Thread-safe; every call returns what the first one did.
absl::StatusOr<const CurlFunctions*> Curl();

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_CURL_LIBRARY_H_
