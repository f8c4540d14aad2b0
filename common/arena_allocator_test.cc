#include "common/arena_allocator.h"

#include "common/stream_writer_test.pb.h"
#include "gtest/gtest.h"

namespace infrakit::common {
namespace {

using ::infrakit::common::testing::Item;
using ::infrakit::common::testing::StreamRequest;

TEST(ArenaAllocatorTest, RequestAndResponseShareOneArenaPerCall) {
  ArenaAllocator<StreamRequest, Item> allocator;
  grpc::MessageHolder<StreamRequest, Item>* first = allocator.AllocateMessages();
  grpc::MessageHolder<StreamRequest, Item>* second = allocator.AllocateMessages();
  ASSERT_NE(first->response()->GetArena(), nullptr);
  EXPECT_EQ(first->request()->GetArena(), first->response()->GetArena());
  EXPECT_NE(second->response()->GetArena(), first->response()->GetArena());

  // What a handler builds in the response lives on the call's arena.
  Item* item = first->response()->add_items();
  item->set_payload(std::string(1000, 'x'));
  EXPECT_EQ(item->GetArena(), first->response()->GetArena());
  EXPECT_EQ(first->response()->items(0).payload().size(), 1000u);

  first->Release();  // frees everything of the call (checked by the sanitizers' leak checks)
  second->Release();
}

}  // namespace
}  // namespace infrakit::common
