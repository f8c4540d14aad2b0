#include "common/etcd/etcd_client.h"

#include "gtest/gtest.h"

namespace infrakit::etcd {
namespace {

TEST(PrefixEndTest, IncrementsTheLastByteThatCan) {
  EXPECT_EQ(PrefixEnd("/ik/groups/"), "/ik/groups0");
  EXPECT_EQ(PrefixEnd("a"), "b");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST(BuildersTest, FillTheirFields) {
  Compare c = Compare::CreateRevisionIs("k", 7);
  EXPECT_EQ(c.key, "k");
  EXPECT_EQ(c.target, Compare::Target::kCreateRevision);
  EXPECT_EQ(c.number, 7);
  EXPECT_EQ(Compare::ModRevisionIs("k", 3).target, Compare::Target::kModRevision);
  Compare v = Compare::ValueIs("k", "x");
  EXPECT_EQ(v.target, Compare::Target::kValue);
  EXPECT_EQ(v.value, "x");
  Op put = Op::Put("k", "v", 9);
  EXPECT_EQ(put.type, Op::Type::kPut);
  EXPECT_EQ(put.lease, 9);
  Op del = Op::Delete("k");
  EXPECT_EQ(del.type, Op::Type::kDelete);
  EXPECT_TRUE(del.range_end.empty());
}

}  // namespace
}  // namespace infrakit::etcd
