#include "tools/bench/machine.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace infrakit::tools::bench {
namespace {

TEST(ReadMachineInfoTest, DescribesThisMachine) {
  const MachineInfo info = ReadMachineInfo();
  EXPECT_EQ(info.cpus, sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_FALSE(info.cpu_model.empty());
  EXPECT_EQ(info.kernel.rfind("Linux ", 0), 0u) << info.kernel;
  EXPECT_GT(info.memory_kib, 0);
  EXPECT_GE(info.load1, 0);
  EXPECT_GE(info.load5, 0);
  EXPECT_GE(info.load15, 0);
}

TEST(ReadLoad1Test, ReadsTheLoadAverage) { EXPECT_GE(ReadLoad1(), 0); }

}  // namespace
}  // namespace infrakit::tools::bench
