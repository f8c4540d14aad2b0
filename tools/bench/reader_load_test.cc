#include "tools/bench/reader_load.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace infrakit::tools::bench {
namespace {

TEST(ReaderLoadTest, RefusesBadOptions) {
  ReaderLoadOptions options;
  options.readers = 0;
  options.group_socket = "/tmp/none/group.sock";
  options.instance_socket = "/tmp/none/instance-file.sock";
  options.group_id = "g";
  EXPECT_EQ(ReaderLoad::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.readers = 1;
  options.group_id = "";
  EXPECT_EQ(ReaderLoad::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReaderLoadTest, NoServerIsADeadlineToConnect) {
  ReaderLoadOptions options;
  options.readers = 2;
  options.group_socket = "/tmp/ik-no-such-dir/group.sock";
  options.instance_socket = "/tmp/ik-no-such-dir/instance-file.sock";
  options.group_id = "g";
  options.connect_timeout = absl::Milliseconds(200);
  EXPECT_EQ(ReaderLoad::Start(options).status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ReaderLoadResultTest, CountsErrorsByCode) {
  ReaderLoadResult result;
  ReadRpcResult& list = result.rpcs[static_cast<int>(ReadRpc::kListGroups)];
  list.errors[absl::StatusCode::kDeadlineExceeded] = 2;
  list.first_error[absl::StatusCode::kDeadlineExceeded] = "too slow";
  ReadRpcResult& describe = result.rpcs[static_cast<int>(ReadRpc::kDescribe)];
  describe.errors[absl::StatusCode::kUnavailable] = 1;
  describe.first_error[absl::StatusCode::kUnavailable] = "gone";
  EXPECT_EQ(result.error_count(), 3);
  EXPECT_EQ(list.deadline_exceeded(), 2);
  EXPECT_EQ(describe.deadline_exceeded(), 0);
  EXPECT_EQ(result.ErrorSummary(),
            "ListGroups DEADLINE_EXCEEDED: 2 (too slow); Describe UNAVAILABLE: 1 (gone)");
  EXPECT_EQ(ReaderLoadResult().ErrorSummary(), "");
}

}  // namespace
}  // namespace infrakit::tools::bench
