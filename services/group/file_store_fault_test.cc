// The group service's FileStore under injected faults: a failure (EIO, ENOSPC, EMFILE) or a
// crash at every file-system call of Put (a compaction: a new journal and snapshot; and a
// journal entry) and Delete, each followed by a reload from disk as a restarted service would
// do it. The record is always the old one or the new one, never torn,
// and every failure is reported.
#include <errno.h>
#include <string.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/testing/fault_file_ops.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/group/file_store.h"
#include "tests/testing/temp_dir.h"

namespace infrakit::services::group {
namespace {

using ::infrakit::common::testing::FaultFileOps;
using ::infrakit::testing::TempDir;

constexpr int kFaults[] = {EIO, ENOSPC, EMFILE};

GroupRecord Record(int64_t size, const std::string& note) {
  GroupRecord r;
  r.set_format_version(1);
  r.mutable_spec()->set_id("cattle");
  r.mutable_spec()->mutable_instance()->set_plugin("instance-file");
  (*r.mutable_spec()->mutable_instance()->mutable_properties()->mutable_fields())["Note"]
      .set_string_value(note);
  r.mutable_spec()->mutable_flavor()->set_plugin("flavor-vanilla");
  r.mutable_spec()->mutable_allocation()->set_size(size);
  r.set_sequence_reserved(size * 1000);
  return r;
}

// What a restarted service reads: the record of "cattle" (nullopt when there is none). Fails
// the test when the directory does not load.
std::optional<GroupRecord> Reload(const std::string& dir, const std::string& where) {
  auto store = FileStore::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::vector<GroupRecord>> records = (*store)->LoadAll();
  EXPECT_TRUE(records.ok()) << records.status() << "\n" << where;
  if (!records.ok() || records->empty()) return std::nullopt;
  EXPECT_EQ(records->size(), 1u) << where;
  return records->front();
}

bool Same(const std::optional<GroupRecord>& a, const std::optional<GroupRecord>& b) {
  if (!a.has_value() || !b.has_value()) return a.has_value() == b.has_value();
  return google::protobuf::util::MessageDifferencer::Equals(*a, *b);
}

// Puts `after` over `before` (nullopt: no record yet) with a fault at each call in turn: a
// failure with each errno, then a crash. Checks the reloaded record each time.
void PutUnderEveryFault(const std::optional<GroupRecord>& before, const GroupRecord& after) {
  TempDir scratch;
  const std::string dir = scratch.path();
  auto reset = [&] {
    auto store = FileStore::Open(dir);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Delete("cattle").ok());
    if (before.has_value()) {
      ASSERT_TRUE((*store)->Put(*before).ok());
    }
  };
  FaultFileOps counting;
  ASSERT_NO_FATAL_FAILURE(reset());
  ASSERT_TRUE((*FileStore::Open(dir, &counting))->Put(after).ok());
  const int calls = counting.calls();
  ASSERT_GT(calls, 3);

  for (int index = 0; index < calls; ++index) {
    for (int error : kFaults) {
      ASSERT_NO_FATAL_FAILURE(reset());
      FaultFileOps ops;
      ops.FailAt(index, error);
      const absl::Status put = (*FileStore::Open(dir, &ops))->Put(after);
      const std::string where =
          absl::StrCat(strerror(error), " at call ", index, ":\n", absl::StrJoin(ops.log(), "\n"));
      EXPECT_FALSE(put.ok()) << "swallowed: " << where;
      EXPECT_TRUE(absl::StrContains(put.message(), dir)) << put << "\n" << where;
      const std::optional<GroupRecord> now = Reload(dir, where);
      EXPECT_TRUE(Same(now, before) || Same(now, after)) << where;
    }
    ASSERT_NO_FATAL_FAILURE(reset());
    FaultFileOps ops;
    ops.CrashAt(index);
    EXPECT_FALSE((*FileStore::Open(dir, &ops))->Put(after).ok());
    const std::string where =
        absl::StrCat("crash at call ", index, ":\n", absl::StrJoin(ops.log(), "\n"));
    const std::optional<GroupRecord> now = Reload(dir, where);
    EXPECT_TRUE(Same(now, before) || Same(now, after)) << where;
  }
}

// Puts `after` over `before` with the same store, whose journal then takes it, with a fault at
// each call of that second Put in turn.
void AppendUnderEveryFault(const GroupRecord& before, const GroupRecord& after) {
  TempDir scratch;
  const std::string dir = scratch.path();
  int calls = 0;
  {
    FaultFileOps counting;
    auto store = FileStore::Open(dir, &counting);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put(before).ok());
    const int first = counting.calls();
    ASSERT_TRUE((*store)->Put(after).ok());
    calls = counting.calls() - first;
    ASSERT_EQ(calls, 2) << "a journal entry is one pwrite and one fdatasync:\n"
                        << absl::StrJoin(counting.log(), "\n");
  }
  auto run = [&](int index, std::optional<int> error) {
    ASSERT_TRUE((*FileStore::Open(dir))->Delete("cattle").ok());
    FaultFileOps ops;
    auto store = FileStore::Open(dir, &ops);
    ASSERT_TRUE((*store)->Put(before).ok());
    if (error.has_value()) {
      ops.FailAt(ops.calls() + index, *error);
    } else {
      ops.CrashAt(ops.calls() + index);
    }
    const absl::Status put = (*store)->Put(after);
    const std::string where =
        absl::StrCat(error.has_value() ? strerror(*error) : "crash", " at call ", index, ":\n",
                     absl::StrJoin(ops.log(), "\n"));
    EXPECT_FALSE(put.ok()) << "swallowed: " << where;
    EXPECT_TRUE(absl::StrContains(put.message(), dir)) << put << "\n" << where;
    const std::optional<GroupRecord> now = Reload(dir, where);
    EXPECT_TRUE(Same(now, before) || Same(now, after)) << where;
    if (!error.has_value()) return;
    // The store goes on after a failure (a new journal) and keeps what it is given.
    ops.Clear();
    ASSERT_TRUE((*store)->Put(after).ok()) << where;
    EXPECT_TRUE(Same(Reload(dir, where), after)) << where;
  };
  for (int index = 0; index < calls; ++index) {
    for (int error : kFaults) ASSERT_NO_FATAL_FAILURE(run(index, error));
    ASSERT_NO_FATAL_FAILURE(run(index, std::nullopt));
  }
}

TEST(FileStoreFaultTest, AJournaledPutLeavesTheOldOrTheNewRecord) {
  AppendUnderEveryFault(Record(3, "v1"), Record(40, std::string(20000, 'x')));
}

TEST(FileStoreFaultTest, PutOverARecordLeavesTheOldOrTheNewOne) {
  PutUnderEveryFault(Record(3, "v1"), Record(40, std::string(20000, 'x')));
}

TEST(FileStoreFaultTest, PutOfANewGroupLeavesNothingOrTheRecord) {
  PutUnderEveryFault(std::nullopt, Record(3, "v1"));
}

TEST(FileStoreFaultTest, DeleteLeavesTheRecordOrNothingAndReportsFailures) {
  TempDir scratch;
  const std::string dir = scratch.path();
  const GroupRecord record = Record(3, "v1");
  FaultFileOps counting;
  ASSERT_TRUE((*FileStore::Open(dir))->Put(record).ok());
  ASSERT_TRUE((*FileStore::Open(dir, &counting))->Delete("cattle").ok());
  const int calls = counting.calls();
  ASSERT_GT(calls, 1);
  for (int index = 0; index < calls; ++index) {
    for (int error : kFaults) {
      ASSERT_TRUE((*FileStore::Open(dir))->Put(record).ok());
      FaultFileOps ops;
      ops.FailAt(index, error);
      const absl::Status deleted = (*FileStore::Open(dir, &ops))->Delete("cattle");
      const std::string where =
          absl::StrCat(strerror(error), " at call ", index, ":\n", absl::StrJoin(ops.log(), "\n"));
      EXPECT_FALSE(deleted.ok()) << "swallowed: " << where;
      const std::optional<GroupRecord> now = Reload(dir, where);
      EXPECT_TRUE(Same(now, record) || !now.has_value()) << where;
    }
  }
}

}  // namespace
}  // namespace infrakit::services::group
