#include "client/unary_call.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace infrakit::client {
namespace {

TEST(NamePluginTest, NamesThePluginInGrpcsUnavailableAndDeadlineExceeded) {
  EXPECT_EQ(
      NamePlugin(absl::UnavailableError("Cancelling all calls"), "instance-process"),
      absl::UnavailableError("plugin \"instance-process\" is unavailable: Cancelling all calls"));
  EXPECT_EQ(NamePlugin(absl::DeadlineExceededError("Deadline Exceeded"), "flavor-vanilla"),
            absl::DeadlineExceededError(
                "plugin \"flavor-vanilla\" did not answer in time: Deadline Exceeded"));
}

TEST(NamePluginTest, LeavesEverythingElseAsItIs) {
  // The plugin's own answers already say what is wrong, in the plugin's words.
  for (const absl::Status& status :
       {absl::OkStatus(), absl::NotFoundError("no instance instance-9"),
        absl::InvalidArgumentError("properties.Env: must be an object"),
        absl::UnimplementedError("this plugin cannot watch"), absl::CancelledError("cancelled")}) {
    EXPECT_EQ(NamePlugin(status, "instance-process"), status);
  }
  // A client that does not know its plugin's name.
  EXPECT_EQ(NamePlugin(absl::UnavailableError("Cancelling all calls"), ""),
            absl::UnavailableError("Cancelling all calls"));
  // Named once, however often it passes through.
  const absl::Status once = NamePlugin(absl::UnavailableError("gone"), "p");
  EXPECT_EQ(NamePlugin(once, "p"), once);
}

}  // namespace
}  // namespace infrakit::client
