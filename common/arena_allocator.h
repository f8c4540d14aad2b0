// A gRPC callback method's request and response on one protobuf Arena per call, for methods
// whose response is large and made of many small parts (a page of 500 members or instance
// descriptions, each with a map of tags): built on the heap, each string and map node of such
// a response is a malloc and a free; on an arena they come from a few blocks freed at once when
// the call ends. (tools/bench's readers scenario: malloc and free were most of the serving
// threads' CPU while 50 readers paged InspectGroup and Describe.)
//
// The method's handler must build its answer in the response it is given (not build one
// elsewhere and assign it: a message moved between arenas is copied).
//
// Threading: AllocateMessages is called by gRPC's threads concurrently; it shares nothing.
#ifndef INFRAKIT_COMMON_ARENA_ALLOCATOR_H_
#define INFRAKIT_COMMON_ARENA_ALLOCATOR_H_

#include <grpcpp/support/message_allocator.h>

#include <cstddef>

#include "google/protobuf/arena.h"

namespace infrakit::common {

template <typename Request, typename Response>
class ArenaAllocator : public grpc::MessageAllocator<Request, Response> {
 public:
  // The arena's blocks grow from `first_block` bytes up to `max_block` bytes.
  explicit ArenaAllocator(size_t first_block = 8 << 10, size_t max_block = 256 << 10) {
    options_.start_block_size = first_block;
    options_.max_block_size = max_block;
  }

  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    return new Holder(options_);
  }

 private:
  class Holder : public grpc::MessageHolder<Request, Response> {
   public:
    explicit Holder(const google::protobuf::ArenaOptions& options) : arena_(options) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    // gRPC is done with both messages: the arena frees them with everything they hold.
    void Release() override { delete this; }

   private:
    google::protobuf::Arena arena_;
  };

  google::protobuf::ArenaOptions options_;
};

}  // namespace infrakit::common

#endif  // INFRAKIT_COMMON_ARENA_ALLOCATOR_H_
