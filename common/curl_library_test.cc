#include "common/curl_library.h"

#include <string>

#include "gtest/gtest.h"

namespace infrakit::common {
namespace {

TEST(CurlTest, LoadsOnceAndCallsLibcurl) {
  absl::StatusOr<const CurlFunctions*> curl = Curl();
  ASSERT_TRUE(curl.ok()) << curl.status();
  absl::StatusOr<const CurlFunctions*> again = Curl();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*curl, *again);

  const CurlFunctions& f = **curl;
  char* escaped = f.easy_escape(nullptr, "a b/c", 5);
  ASSERT_NE(escaped, nullptr);
  EXPECT_EQ(std::string(escaped), "a%20b%2Fc");
  f.free(escaped);
  EXPECT_STREQ(f.easy_strerror(CURLE_OK), "No error");
}

TEST(CurlTest, PerformsARequestAndReportsItsError) {
  absl::StatusOr<const CurlFunctions*> curl = Curl();
  ASSERT_TRUE(curl.ok()) << curl.status();
  const CurlFunctions& f = **curl;
  CURL* handle = f.easy_init();
  ASSERT_NE(handle, nullptr);
  curl_slist* headers = f.slist_append(nullptr, "Expect:");
  ASSERT_NE(headers, nullptr);
  // Nothing listens on a unix socket that does not exist: the transfer fails to connect.
  ASSERT_EQ(f.easy_setopt(handle, CURLOPT_UNIX_SOCKET_PATH, "/nonexistent/ik.sock"), CURLE_OK);
  ASSERT_EQ(f.easy_setopt(handle, CURLOPT_URL, "http://localhost/"), CURLE_OK);
  ASSERT_EQ(f.easy_setopt(handle, CURLOPT_HTTPHEADER, headers), CURLE_OK);
  EXPECT_EQ(f.easy_perform(handle), CURLE_COULDNT_CONNECT);
  long status = -1;
  EXPECT_EQ(f.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status), CURLE_OK);
  EXPECT_EQ(status, 0);
  f.slist_free_all(headers);
  f.easy_cleanup(handle);
}

}  // namespace
}  // namespace infrakit::common
