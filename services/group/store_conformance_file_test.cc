// The Store conformance checks (testing/store_conformance.h) on the file store.
#include <stdlib.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/group/file_store.h"
#include "services/group/testing/store_conformance.h"

namespace infrakit::services::group {
namespace {

std::unique_ptr<FileStore> NewStore() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/conformance-XXXXXX");
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  absl::StatusOr<std::unique_ptr<FileStore>> store = FileStore::Open(tmpl);
  EXPECT_TRUE(store.ok()) << store.status();
  return *std::move(store);
}

TEST(FileStoreConformanceTest, RoundTripOrderedById) {
  testing::CheckRoundTripOrderedById(NewStore().get());
}

TEST(FileStoreConformanceTest, PutReplacesAndDeleteForgets) {
  testing::CheckPutReplacesAndDeleteForgets(NewStore().get());
}

TEST(FileStoreConformanceTest, BadIdsAreRefused) {
  testing::CheckBadIdsAreRefused(NewStore().get());
}

}  // namespace
}  // namespace infrakit::services::group
