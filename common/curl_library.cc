#include "common/curl_library.h"

#include <dlfcn.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace infrakit::common {
namespace {

// Debian's libcurl4 (OpenSSL flavour), the library the headers of libcurl4-openssl-dev
// describe.
constexpr char kLibrary[] = "libcurl.so.4";

// Sets `*function` to the symbol `name` of `handle`; false (with dlerror's reason in `error`)
// when it is missing.
template <typename Function>
bool Resolve(void* handle, const char* name, Function* function, std::string* error) {
  dlerror();
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) {
    const char* reason = dlerror();
    *error = absl::StrCat(kLibrary, ": ", reason != nullptr ? reason : name, " not found");
    return false;
  }
  *function = reinterpret_cast<Function>(symbol);
  return true;
}

absl::StatusOr<const CurlFunctions*> Load() {
  // Never closed: the functions are used until the process exits.
  void* handle = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot load ", kLibrary, " (Debian's libcurl4): ", reason != nullptr ? reason : "?"));
  }
  auto* functions = new CurlFunctions;
  decltype(&::curl_global_init) global_init = nullptr;
  std::string error;
  if (!Resolve(handle, "curl_global_init", &global_init, &error) ||
      !Resolve(handle, "curl_easy_init", &functions->easy_init, &error) ||
      !Resolve(handle, "curl_easy_setopt", &functions->easy_setopt, &error) ||
      !Resolve(handle, "curl_easy_perform", &functions->easy_perform, &error) ||
      !Resolve(handle, "curl_easy_getinfo", &functions->easy_getinfo, &error) ||
      !Resolve(handle, "curl_easy_cleanup", &functions->easy_cleanup, &error) ||
      !Resolve(handle, "curl_easy_strerror", &functions->easy_strerror, &error) ||
      !Resolve(handle, "curl_easy_escape", &functions->easy_escape, &error) ||
      !Resolve(handle, "curl_free", &functions->free, &error) ||
      !Resolve(handle, "curl_slist_append", &functions->slist_append, &error) ||
      !Resolve(handle, "curl_slist_free_all", &functions->slist_free_all, &error)) {
    delete functions;
    return absl::FailedPreconditionError(error);
  }
  // Not thread-safe in libcurl: done once, here, before any other call.
  const CURLcode initialised = global_init(CURL_GLOBAL_DEFAULT);
  if (initialised != CURLE_OK) {
    const std::string reason = functions->easy_strerror(initialised);
    delete functions;
    return absl::FailedPreconditionError(
        absl::StrCat(kLibrary, ": curl_global_init failed: ", reason));
  }
  return functions;
}

}  // namespace

absl::StatusOr<const CurlFunctions*> Curl() {
  // A function-local static: initialised once, thread-safely, on the first call.
  static const absl::StatusOr<const CurlFunctions*>* const loaded =
      new absl::StatusOr<const CurlFunctions*>(Load());
  return *loaded;
}

}  // namespace infrakit::common
