// instance-file under injected faults: a failure (EIO, ENOSPC, EMFILE) or a crash at every
// file-system call of Provision, BatchProvision, Label and Destroy, each followed by a new
// plugin on the directory, as a restarted plugin would be. The new plugin always starts (no
// torn file is ever visible under an instance's name), sees the old state or the new one, and
// every failure that changed the outcome was reported.
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/testing/fault_file_ops.h"
#include "gtest/gtest.h"
#include "plugins/instance/file/file_plugin.h"
#include "plugins/instance/file/file_plugin_test_util.h"
#include "plugins/instance/file/instance_file_format.h"

namespace infrakit::plugins::instance::file {
namespace {

using ::infrakit::common::testing::FaultFileOps;

constexpr int kFaults[] = {EIO, ENOSPC, EMFILE};

// One fault to inject: a failure with `error`, or a crash (error 0), at call `index`.
struct Fault {
  int index;
  int error;
};

// Every fault for an operation of `calls` calls: each errno, then a crash, at each call.
std::vector<Fault> EveryFault(int calls) {
  std::vector<Fault> faults;
  for (int index = 0; index < calls; ++index) {
    for (int error : kFaults) faults.push_back({index, error});
    faults.push_back({index, 0});
  }
  return faults;
}

std::unique_ptr<FilePlugin> Open(const std::string& dir, FaultFileOps* ops, bool unnamed) {
  FilePlugin::Options options;
  options.unnamed_temp_files = unnamed;
  if (ops != nullptr) options.file_ops = ops;
  auto plugin = FilePlugin::Create(dir, options);
  EXPECT_TRUE(plugin.ok()) << plugin.status();
  return plugin.ok() ? *std::move(plugin) : nullptr;
}

// What a restarted plugin on `dir` sees: ID -> tags. Fails the test when it does not start.
std::map<std::string, std::map<std::string, std::string>> Reload(const std::string& dir,
                                                                 const std::string& where) {
  std::map<std::string, std::map<std::string, std::string>> seen;
  auto plugin = FilePlugin::Create(dir);
  EXPECT_TRUE(plugin.ok()) << plugin.status() << "\n" << where;
  if (!plugin.ok()) return seen;
  const absl::StatusOr<v1::DescribeResponse> described = (*plugin)->Describe(v1::DescribeRequest());
  for (const v1::Description& d : described->instances()) {
    seen[d.id()] = std::map<std::string, std::string>(d.tags().begin(), d.tags().end());
  }
  return seen;
}

std::string Where(const Fault& fault, const FaultFileOps& ops) {
  return absl::StrCat(fault.error == 0 ? "crash" : strerror(fault.error), " at call ", fault.index,
                      " of the operation:\n", absl::StrJoin(ops.log(), "\n"));
}

// Injects `fault`, its index counted from the next call.
void Inject(const Fault& fault, FaultFileOps* ops) {
  const int index = ops->calls() + fault.index;
  if (fault.error == 0) {
    ops->CrashAt(index);
  } else {
    ops->FailAt(index, fault.error);
  }
}

class FilePluginFaultTest : public ::testing::TestWithParam<bool> {
 protected:
  bool unnamed() const { return GetParam(); }

  // One tutorial Provision on `dir` with `fault` injected, then what a restarted plugin sees.
  struct ProvisionRun {
    absl::StatusOr<v1::ProvisionResponse> provisioned;
    std::string where;  // the fault and the calls, for messages
    std::map<std::string, std::map<std::string, std::string>> seen;
  };
  ProvisionRun ProvisionWithFault(const std::string& dir, const Fault& fault) {
    FaultFileOps ops;
    ProvisionRun run;
    {
      auto plugin = Open(dir, &ops, unnamed());
      Inject(fault, &ops);
      run.provisioned = plugin->Provision(TutorialRequest());
    }
    run.where = Where(fault, ops);
    run.seen = Reload(dir, run.where);
    return run;
  }
};

TEST_P(FilePluginFaultTest, ProvisionMakesAWholeInstanceOrNoneAndReportsFailures) {
  FaultFileOps counting;
  {
    auto plugin = Open(MakeDir(), &counting, unnamed());
    ASSERT_TRUE(plugin->Provision(TutorialRequest()).ok());
  }
  for (const Fault& fault : EveryFault(counting.calls())) {
    const auto [provisioned, where, seen] = ProvisionWithFault(MakeDir(), fault);
    if (provisioned.ok()) {
      // Only a fault with a fallback (EMFILE: a named temporary file) or in a clean-up after
      // the link ends well; the instance is then whole.
      ASSERT_EQ(seen.size(), 1u) << where;
      EXPECT_EQ(seen.begin()->first, provisioned->id()) << where;
      EXPECT_EQ(seen.begin()->second.at("tier"), "web") << where;
    } else {
      // A failed Provision may have published nothing, or (a crash after the link) the
      // whole instance: never a part.
      EXPECT_LE(seen.size(), 1u) << where;
      if (fault.error != 0) {
        EXPECT_TRUE(seen.empty()) << where;
      }
    }
  }
}

TEST_P(FilePluginFaultTest, BatchProvisionMakesWholeInstancesOnly) {
  FaultFileOps counting;
  {
    auto plugin = Open(MakeDir(), &counting, unnamed());
    ASSERT_TRUE(plugin->BatchProvision(TutorialBatch(3)).ok());
  }
  for (const Fault& fault : EveryFault(counting.calls())) {
    const std::string dir = MakeDir();
    FaultFileOps ops;
    std::set<std::string> created;
    {
      auto plugin = Open(dir, &ops, unnamed());
      Inject(fault, &ops);
      absl::StatusOr<v1::BatchProvisionResponse> batch = plugin->BatchProvision(TutorialBatch(3));
      ASSERT_TRUE(batch.ok()) << batch.status();
      for (const v1::ProvisionResult& result : batch->results()) {
        if (result.has_response()) created.insert(result.response().id());
      }
    }
    const std::string where = Where(fault, ops);
    const auto seen = Reload(dir, where);
    // Every instance answered as created is there, whole; a crash may leave more (linked,
    // not yet answered), never a part of one.
    for (const std::string& id : created) EXPECT_EQ(seen.count(id), 1u) << id << ", " << where;
    if (fault.error != 0) {
      EXPECT_EQ(seen.size(), created.size()) << where;
    }
    EXPECT_LE(seen.size(), 3u) << where;
    if (fault.error != 0 && created.size() == 3) {
      // The fault was absorbed: only where the batch does not depend on the call.
      const std::string call = ops.log()[fault.index];
      EXPECT_TRUE(fault.error == EMFILE || absl::StrContains(call, "fsync") ||
                  absl::StrContains(call, "close") || absl::StrContains(call, "unlink"))
          << where;
    }
  }
}

TEST_P(FilePluginFaultTest, LabelLeavesTheOldOrNewTagsAndReportsFailures) {
  FaultFileOps counting;
  const std::string count_dir = MakeDir();
  std::string id;
  {
    auto plugin = Open(count_dir, nullptr, unnamed());
    id = plugin->Provision(TutorialRequest())->id();
  }
  v1::LabelRequest label;
  label.set_id(id);
  (*label.mutable_labels())["tier"] = "db";
  {
    auto plugin = Open(count_dir, &counting, unnamed());
    ASSERT_TRUE(plugin->Label(label).ok());
  }
  for (const Fault& fault : EveryFault(counting.calls())) {
    const std::string dir = MakeDir();
    FaultFileOps ops;
    absl::StatusOr<v1::LabelResponse> labelled;
    {
      auto plugin = Open(dir, &ops, unnamed());
      label.set_id(plugin->Provision(TutorialRequest())->id());
      Inject(fault, &ops);
      labelled = plugin->Label(label);
    }
    const std::string where = Where(fault, ops);
    const auto seen = Reload(dir, where);
    ASSERT_EQ(seen.size(), 1u) << where;
    const std::string tier = seen.begin()->second.at("tier");
    EXPECT_TRUE(tier == "web" || tier == "db") << where;
    if (labelled.ok()) {
      EXPECT_EQ(tier, "db") << where;
    }
    if (fault.error != 0 && !labelled.ok()) {
      EXPECT_EQ(tier, "web") << where;
    }
  }
}

// Destroy moves the file to the spare files (rename; then, the lock released, an fsync of the
// directory and a truncate) or, should the rename fail, unlinks it.
TEST_P(FilePluginFaultTest, DestroyRemovesTheWholeFileOrReportsFailure) {
  FaultFileOps counting;
  int calls = 0;
  {
    auto plugin = Open(MakeDir(), &counting, unnamed());
    v1::DestroyRequest destroy;
    destroy.set_id(plugin->Provision(TutorialRequest())->id());
    const int before = counting.calls();
    ASSERT_TRUE(plugin->Destroy(destroy).ok());
    calls = counting.calls() - before;
    const std::string log = absl::StrJoin(counting.log(), "\n");
    ASSERT_TRUE(absl::StrContains(log, "/.spare/")) << log;
    ASSERT_TRUE(absl::StrContains(log, "truncate")) << log;
  }
  for (const Fault& fault : EveryFault(calls)) {
    const std::string dir = MakeDir();
    FaultFileOps ops;
    absl::Status destroyed;
    {
      auto plugin = Open(dir, &ops, unnamed());
      v1::DestroyRequest destroy;
      destroy.set_id(plugin->Provision(TutorialRequest())->id());
      Inject(fault, &ops);
      destroyed = plugin->Destroy(destroy);
    }
    const std::string where = Where(fault, ops);
    const size_t left = Reload(dir, where).size();
    if (fault.index == 0 && fault.error == 0) {
      // Dead before the rename: neither it nor the unlink after it happened.
      EXPECT_FALSE(destroyed.ok()) << where;
      EXPECT_TRUE(absl::StrContains(destroyed.message(), "removing")) << destroyed << where;
      EXPECT_EQ(left, 1u) << where;
    } else {
      // A failed rename is followed by an unlink; after the rename the instance is gone,
      // whatever happens to its spare file.
      EXPECT_TRUE(destroyed.ok()) << destroyed << where;
      EXPECT_EQ(left, 0u) << where;
    }
  }
}

// A Provision that writes into a spare file: claim (rename), write, sync, link, remove the
// claim name. A fault anywhere leaves a whole instance or none, and what the spare file held
// never shows (here a spare left unemptied, as by a crash before its truncate, whose tags say
// "ghost").
TEST_P(FilePluginFaultTest, AProvisionIntoASpareFileMakesAWholeInstanceOrNone) {
  auto make_spare = [](const std::string& dir) {
    v1::Description ghost;
    ghost.set_id("instance-1");
    (*ghost.mutable_tags())["tier"] = "ghost";
    absl::StatusOr<std::string> contents = EncodeInstanceFile(ghost);
    ASSERT_TRUE(contents.ok());
    ASSERT_EQ(mkdir(absl::StrCat(dir, "/.spare").c_str(), 0755), 0);
    WriteByHand(absl::StrCat(dir, "/.spare/1-1-00000000"), *contents);
  };
  FaultFileOps counting;
  {
    const std::string dir = MakeDir();
    make_spare(dir);
    auto plugin = Open(dir, &counting, unnamed());
    const int before = counting.calls();
    ASSERT_TRUE(plugin->Provision(TutorialRequest()).ok());
    ASSERT_TRUE(absl::StrContains(absl::StrJoin(counting.log(), "\n"), ".claim-"))
        << "the provision did not use the spare file:\n"
        << absl::StrJoin(counting.log(), "\n");
    ASSERT_GE(counting.calls() - before, 5);
  }
  for (const Fault& fault : EveryFault(counting.calls())) {
    const std::string dir = MakeDir();
    make_spare(dir);
    const auto [provisioned, where, seen] = ProvisionWithFault(dir, fault);
    for (const auto& [id, tags] : seen) EXPECT_EQ(tags.at("tier"), "web") << id << ", " << where;
    if (provisioned.ok()) {
      // A failed write into the spare falls back to a new file.
      ASSERT_EQ(seen.size(), 1u) << where;
      EXPECT_EQ(seen.begin()->first, provisioned->id()) << where;
    } else {
      EXPECT_LE(seen.size(), 1u) << where;
      if (fault.error != 0) {
        EXPECT_TRUE(seen.empty()) << where;
      }
    }
    for (const std::string& name : InstanceFiles(dir)) {
      EXPECT_FALSE(absl::StartsWith(name, ".")) << name << " left behind; " << where;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TempFiles, FilePluginFaultTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Unnamed" : "Named"; });

}  // namespace
}  // namespace infrakit::plugins::instance::file
