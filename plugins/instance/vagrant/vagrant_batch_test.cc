// VagrantPlugin's BatchDestroy with a stand-in for vagrant (a shell script): the destroys of a
// batch run at once, up to max_parallel. The stand-in's `destroy` succeeds only once it has seen
// a second destroy running beside it, so destroys run one after another fail the test.
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/instance/vagrant/vagrant_plugin.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::plugins::instance::vagrant {
namespace {

using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

// up: records a machine; status: running; destroy: announces itself in $SYNC and waits (up to
// 20 s) for another destroy to do the same.
constexpr char kFakeVagrant[] = R"sh(#!/bin/sh
case "$1" in
  up)
    mkdir -p .vagrant/machines/default/docker && echo fake > .vagrant/machines/default/docker/id ;;
  status)
    echo "1,default,state,running" ;;
  destroy)
    touch "$SYNC/$$"
    i=0
    while [ "$(ls "$SYNC" | wc -l)" -lt 2 ]; do
      i=$((i + 1))
      [ "$i" -lt 400 ] || { echo "no other destroy ran beside this one" >&2; exit 1; }
      sleep 0.05
    done
    rm -rf .vagrant ;;
esac
)sh";

TEST(VagrantBatchTest, DestroysOfABatchRunAtOnce) {
  TempDir dir;
  const std::string vagrant = dir.Join("vagrant");
  std::ofstream(vagrant) << kFakeVagrant;
  ASSERT_EQ(chmod(vagrant.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dir.Join("sync").c_str(), 0755), 0);
  setenv("SYNC", dir.Join("sync").c_str(), 1);

  VagrantPlugin::Options options;
  options.dir = dir.Join("instances");
  options.vagrant = vagrant;
  options.watch_docker = false;
  options.max_parallel = 2;
  auto plugin = VagrantPlugin::Create(options);
  ASSERT_TRUE(plugin.ok()) << plugin.status();

  v1::BatchDestroyRequest batch;
  for (int i = 0; i < 2; ++i) {
    v1::ProvisionRequest provision;
    (*provision.mutable_spec()->mutable_properties()->mutable_fields())["Image"].set_string_value(
        "local/busybox");
    auto provisioned = (*plugin)->Provision(provision);
    ASSERT_TRUE(provisioned.ok()) << provisioned.status();
    batch.add_requests()->set_id(provisioned->id());
  }
  // Both machines up (RUNNING) before they are destroyed.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto described = (*plugin)->Describe(v1::DescribeRequest());
        if (!described.ok() || described->instances_size() != 2) return false;
        for (const auto& instance : described->instances()) {
          if (instance.state() != v1::LIFECYCLE_STATE_RUNNING) return false;
        }
        return true;
      },
      absl::Seconds(30), absl::Milliseconds(20)));

  auto destroyed = (*plugin)->BatchDestroy(batch);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  ASSERT_EQ(destroyed->results_size(), 2);
  for (const auto& result : destroyed->results()) {
    EXPECT_EQ(result.code(), 0) << result.message();
  }
  auto described = (*plugin)->Describe(v1::DescribeRequest());
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->instances_size(), 0);
}

}  // namespace
}  // namespace infrakit::plugins::instance::vagrant
