// StreamWriter seen from a gRPC client over an in-process channel: what is written, how it is
// packed, how the stream ends, and what a cancellation releases.
#include "common/stream_writer.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/stream_writer_test.grpc.pb.h"
#include "common/stream_writer_test.pb.h"
#include "common/worker_pool.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace infrakit::common {
namespace {

using ::infrakit::common::testing::Item;
using ::infrakit::common::testing::StreamRequest;
using ::infrakit::common::testing::TestStream;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kWait = absl::Seconds(20);
constexpr char kMetadataKey[] = "test-stream";

Item MakeItem(int n, size_t payload_bytes = 0) {
  Item item;
  item.set_n(n);
  item.set_payload(std::string(payload_bytes, 'x'));
  return item;
}

// The producer side: one subscription at a time. Pushes made through it are dropped once its
// subscription is gone, as a well-behaved producer must (the feed is invalid then).
class Producer {
 public:
  // What the subscribe function does: `initial` items are pushed before it returns; a
  // non-OK `refuse` is returned instead of a subscription.
  std::vector<Item> initial;
  absl::Status refuse;

  absl::StatusOr<std::unique_ptr<StreamSubscription>> Subscribe(StreamFeed<Item> feed) {
    if (!refuse.ok()) return refuse;
    absl::MutexLock lock(&mu_);
    for (const Item& item : initial) feed.Push(item);
    feed_ = feed;
    ++subscriptions_;
    return std::unique_ptr<StreamSubscription>(new Subscription(this));
  }

  // Pushes through the current subscription; false when there is none.
  bool Push(Item item) {
    absl::MutexLock lock(&mu_);
    if (!feed_.has_value()) return false;
    feed_->Push(std::move(item));
    return true;
  }

  bool End(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (!feed_.has_value()) return false;
    feed_->End(status);
    return true;
  }

  // While closed, destroying a subscription waits (as a core's handle waits for a sink call).
  void CloseReleaseGate() {
    absl::MutexLock lock(&mu_);
    gate_open_ = false;
  }
  void OpenReleaseGate() {
    absl::MutexLock lock(&mu_);
    gate_open_ = true;
  }

  int subscriptions() {
    absl::MutexLock lock(&mu_);
    return subscriptions_;
  }
  bool releasing() {
    absl::MutexLock lock(&mu_);
    return releasing_;
  }
  int released() {
    absl::MutexLock lock(&mu_);
    return released_;
  }

 private:
  class Subscription final : public StreamSubscription {
   public:
    explicit Subscription(Producer* producer) : producer_(producer) {}
    ~Subscription() override { producer_->Release(); }

   private:
    Producer* const producer_;
  };

  void Release() {
    absl::MutexLock lock(&mu_);
    releasing_ = true;
    mu_.Await(absl::Condition(&gate_open_));
    feed_.reset();
    ++released_;
  }

  absl::Mutex mu_;
  std::optional<StreamFeed<Item>> feed_ ABSL_GUARDED_BY(mu_);
  bool gate_open_ ABSL_GUARDED_BY(mu_) = true;
  bool releasing_ ABSL_GUARDED_BY(mu_) = false;
  int subscriptions_ ABSL_GUARDED_BY(mu_) = 0;
  int released_ ABSL_GUARDED_BY(mu_) = 0;
};

// Serves TestStream.Stream with a StreamWriter over `producer`.
class TestStreamService final : public TestStream::CallbackService {
 public:
  TestStreamService(Producer* producer, StreamWriterOptions options, int max_items,
                    size_t max_bytes)
      : producer_(producer), options_(std::move(options)), pool_(2, 100) {
    packing_.max_items = max_items;
    packing_.max_bytes = max_bytes;
    packing_.pack = [](Item item, Item* packed) { *packed->add_items() = std::move(item); };
  }

  grpc::ServerWriteReactor<Item>* Stream(grpc::CallbackServerContext* context,
                                         const StreamRequest* /*request*/) override {
    // Lives as long as the writer: counts the writers not destroyed yet.
    auto alive = std::shared_ptr<void>(nullptr, [this](void*) { writers_.fetch_sub(1); });
    writers_.fetch_add(1);
    return StreamWriter<Item>::Start(
        context, &pool_, options_, packing_,
        [producer = producer_, alive](StreamFeed<Item> feed) { return producer->Subscribe(feed); });
  }

  int writers() const { return writers_.load(); }

 private:
  Producer* const producer_;
  const StreamWriterOptions options_;
  StreamPacking<Item> packing_;
  std::atomic<int> writers_{0};
  WorkerPool pool_;
};

class StreamWriterTest : public ::testing::Test {
 protected:
  void Serve(int max_items = 0, size_t max_bytes = size_t{1} << 20, size_t max_backlog = 1000) {
    StreamWriterOptions options;
    options.subscribed_metadata_key = kMetadataKey;
    options.max_backlog = max_backlog;
    options.name = "test stream";
    options.items = "items";
    options.overflow_hint = "; try again";
    service_ = std::make_unique<TestStreamService>(&producer_, options, max_items, max_bytes);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = TestStream::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + kWait));
    server_.reset();
    service_.reset();  // Its pool finishes the releases still queued.
    EXPECT_EQ(producer_.subscriptions(), producer_.released());
  }

  std::unique_ptr<grpc::ClientReader<Item>> Open(grpc::ClientContext* context) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + kWait));
    return stub_->Stream(context, StreamRequest());
  }

  // Reads up to `n` messages (fewer when the stream ends first).
  static std::vector<Item> ReadSome(grpc::ClientReader<Item>* reader, size_t n) {
    std::vector<Item> messages;
    Item item;
    while (messages.size() < n && reader->Read(&item)) messages.push_back(item);
    return messages;
  }

  // Opens a stream and reads all of it: its messages, then its status.
  grpc::Status OpenAndReadAll(grpc::ClientContext* context, std::vector<Item>* messages) {
    auto reader = Open(context);
    return ReadAll(reader.get(), messages);
  }

  // Reads every message of the stream, then its status.
  grpc::Status ReadAll(grpc::ClientReader<Item>* reader, std::vector<Item>* messages) {
    Item item;
    while (reader->Read(&item)) messages->push_back(item);
    return reader->Finish();
  }

  static std::vector<int> Numbers(const Item& message) {
    std::vector<int> numbers;
    for (const Item& item : message.items()) numbers.push_back(item.n());
    return numbers;
  }

  Producer producer_;
  std::unique_ptr<TestStreamService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<TestStream::Stub> stub_;
};

TEST_F(StreamWriterTest, SendsTheMetadataThenEveryMessageThenEndsAfterTheLast) {
  Serve();
  grpc::ClientContext context;
  auto reader = Open(&context);
  reader->WaitForInitialMetadata();
  const auto& metadata = context.GetServerInitialMetadata();
  auto it = metadata.find(kMetadataKey);
  ASSERT_NE(it, metadata.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "subscribed");

  for (int n = 1; n <= 3; ++n) ASSERT_TRUE(producer_.Push(MakeItem(n)));
  ASSERT_TRUE(producer_.End(absl::NotFoundError("gone")));
  std::vector<Item> messages;
  grpc::Status status = ReadAll(reader.get(), &messages);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "gone");
  ASSERT_EQ(messages.size(), 3u);  // Every message queued before the end, unpacked.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(messages[i].n(), i + 1);
    EXPECT_EQ(messages[i].items_size(), 0);
  }
  EXPECT_TRUE(WaitFor([&] { return producer_.released() == 1; }, kWait));
  EXPECT_TRUE(WaitFor([&] { return service_->writers() == 0; }, kWait));
}

TEST_F(StreamWriterTest, PacksWaitingMessagesUpToTheCountCap) {
  Serve(/*max_items=*/3);
  for (int n = 1; n <= 7; ++n) producer_.initial.push_back(MakeItem(n));
  grpc::ClientContext context;
  auto reader = Open(&context);
  // The seven were queued before the first write, which takes three; the rest wait for it.
  std::vector<Item> messages = ReadSome(reader.get(), 3);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(Numbers(messages[0]), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(Numbers(messages[1]), (std::vector<int>{4, 5, 6}));
  EXPECT_EQ(Numbers(messages[2]), (std::vector<int>{7}));
  ASSERT_TRUE(producer_.End(absl::OkStatus()));
  messages.clear();
  EXPECT_TRUE(ReadAll(reader.get(), &messages).ok());
  EXPECT_TRUE(messages.empty());
}

TEST_F(StreamWriterTest, PacksWaitingMessagesUpToTheByteCapButAlwaysOne) {
  const size_t one = MakeItem(1, 400).ByteSizeLong();
  Serve(/*max_items=*/100, /*max_bytes=*/2 * one + 10);
  producer_.initial = {MakeItem(1, 400), MakeItem(2, 400), MakeItem(3, 400), MakeItem(4, 5000),
                       MakeItem(5, 400)};
  grpc::ClientContext context;
  auto reader = Open(&context);
  std::vector<Item> messages = ReadSome(reader.get(), 4);
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(Numbers(messages[0]), (std::vector<int>{1, 2}));
  EXPECT_EQ(Numbers(messages[1]), (std::vector<int>{3}));
  EXPECT_EQ(Numbers(messages[2]), (std::vector<int>{4}));  // Larger than the cap: alone.
  EXPECT_EQ(Numbers(messages[3]), (std::vector<int>{5}));
}

TEST_F(StreamWriterTest, ARefusedSubscriptionEndsTheStreamWithItsError) {
  producer_.refuse = absl::InvalidArgumentError("no such thing");
  Serve();
  grpc::ClientContext context;
  std::vector<Item> messages;
  grpc::Status status = OpenAndReadAll(&context, &messages);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "no such thing");
  EXPECT_TRUE(messages.empty());
  EXPECT_EQ(context.GetServerInitialMetadata().count(kMetadataKey), 0u);
  EXPECT_TRUE(WaitFor([&] { return service_->writers() == 0; }, kWait));
}

TEST_F(StreamWriterTest, AClientTooFarBehindGetsResourceExhausted) {
  Serve(/*max_items=*/0, size_t{1} << 20, /*max_backlog=*/5);
  for (int n = 1; n <= 6; ++n) producer_.initial.push_back(MakeItem(n));
  grpc::ClientContext context;
  std::vector<Item> messages;
  grpc::Status status = OpenAndReadAll(&context, &messages);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "test stream client too slow: more than 5 items waiting; try again");
  EXPECT_TRUE(messages.empty());  // What waited is dropped.
  EXPECT_TRUE(WaitFor([&] { return producer_.released() == 1; }, kWait));
}

TEST_F(StreamWriterTest, ClientCancelMidStreamReleasesTheSubscriptionAndLaterPushesDoNothing) {
  Serve();
  grpc::ClientContext context;
  auto reader = Open(&context);
  reader->WaitForInitialMetadata();  // Subscribed.
  ASSERT_TRUE(producer_.Push(MakeItem(1)));
  Item item;
  ASSERT_TRUE(reader->Read(&item));
  EXPECT_EQ(item.n(), 1);

  // Hold the release back, so that the producer can still push after the cancellation.
  producer_.CloseReleaseGate();
  context.TryCancel();
  ASSERT_TRUE(WaitFor([&] { return producer_.releasing(); }, kWait));
  for (int n = 2; n <= 50; ++n) EXPECT_TRUE(producer_.Push(MakeItem(n)));
  EXPECT_TRUE(producer_.End(absl::OkStatus()));
  producer_.OpenReleaseGate();
  ASSERT_TRUE(WaitFor([&] { return producer_.released() == 1; }, kWait));
  EXPECT_FALSE(producer_.Push(MakeItem(51)));  // No subscription any more.

  while (reader->Read(&item)) EXPECT_EQ(item.n(), 0) << "written after the cancellation";
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return service_->writers() == 0; }, kWait));
}

TEST_F(StreamWriterTest, ServerShutdownCancelsOpenStreams) {
  Serve();
  grpc::ClientContext context;
  auto reader = Open(&context);
  reader->WaitForInitialMetadata();
  ASSERT_EQ(producer_.subscriptions(), 1);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
  std::vector<Item> messages;
  EXPECT_FALSE(ReadAll(reader.get(), &messages).ok());
  EXPECT_TRUE(WaitFor([&] { return producer_.released() == 1; }, kWait));
  EXPECT_TRUE(WaitFor([&] { return service_->writers() == 0; }, kWait));
}

}  // namespace
}  // namespace infrakit::common
