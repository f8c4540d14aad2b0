// GroupClient against a scripted GroupService over a real unix socket.
#include "client/group_client.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/testing/test_server.h"
#include "gtest/gtest.h"
#include "infrakit/group/v1/group.grpc.pb.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait_for.h"

namespace infrakit::client {
namespace {

namespace v1 = ::infrakit::group::v1;
using ::infrakit::client::testing::TestServer;
using ::infrakit::testing::TempDir;
using ::infrakit::testing::WaitFor;

constexpr absl::Duration kWait = absl::Seconds(20);

// Writes `messages`, then either finishes with `status` or, with `until_cancelled`, stays open
// until the client cancels.
template <typename Message>
class ScriptedWriter final : public grpc::ServerWriteReactor<Message> {
 public:
  ScriptedWriter(std::vector<Message> messages, grpc::Status status, bool until_cancelled)
      : messages_(messages.begin(), messages.end()),
        status_(std::move(status)),
        until_cancelled_(until_cancelled) {
    Next();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) cancelled_ = true;
    }
    Next();
  }
  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    enum { kNone, kWrite, kFinish } op = kNone;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finished_) return;
      if (!cancelled_ && !messages_.empty()) {
        current_ = std::move(messages_.front());
        messages_.pop_front();
        writing_ = true;
        op = kWrite;
      } else if (cancelled_ || !until_cancelled_) {
        finished_ = true;
        status = cancelled_ ? grpc::Status::CANCELLED : status_;
        op = kFinish;
      }
    }
    if (op == kWrite) this->StartWrite(&current_);
    if (op == kFinish) this->Finish(status);
  }

  absl::Mutex mu_;
  std::deque<Message> messages_ ABSL_GUARDED_BY(mu_);
  Message current_;
  const grpc::Status status_;
  const bool until_cancelled_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class ScriptedGroupService final : public v1::GroupService::CallbackService {
 public:
  grpc::ServerUnaryReactor* WatchGroup(grpc::CallbackServerContext* context,
                                       const v1::WatchGroupRequest* request,
                                       v1::WatchGroupResponse* response) override {
    auto* reactor = context->DefaultReactor();
    if (request->spec().id().empty()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "spec.id: empty"));
    } else {
      response->set_message("watching " + request->spec().id());
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
  grpc::ServerUnaryReactor* InspectGroup(grpc::CallbackServerContext* context,
                                         const v1::InspectGroupRequest* request,
                                         v1::InspectGroupResponse* response) override {
    auto* reactor = context->DefaultReactor();
    if (request->id() != "cattle") {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no group " + request->id()));
    } else {
      response->mutable_spec()->set_id("cattle");
      response->mutable_status()->set_desired(5);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
  grpc::ServerUnaryReactor* SetSize(grpc::CallbackServerContext* context,
                                    const v1::SetSizeRequest* request,
                                    v1::SetSizeResponse* response) override {
    response->set_previous_size(request->size() - 1);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* ListGroups(grpc::CallbackServerContext* context,
                                       const v1::ListGroupsRequest*,
                                       v1::ListGroupsResponse* response) override {
    response->add_groups()->mutable_spec()->set_id("cattle");
    response->add_groups()->mutable_spec()->set_id("pets");
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerWriteReactor<v1::UpdateGroupResponse>* UpdateGroup(
      grpc::CallbackServerContext*, const v1::UpdateGroupRequest* request) override {
    if (request->spec().id() == "paused") {
      return new ScriptedWriter<v1::UpdateGroupResponse>(
          {Progress(v1::UPDATE_PHASE_STARTED, 0)},
          grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "group paused is paused"), false);
    }
    return new ScriptedWriter<v1::UpdateGroupResponse>(
        {Progress(v1::UPDATE_PHASE_STARTED, 0), Progress(v1::UPDATE_PHASE_PROGRESS, 1),
         Progress(v1::UPDATE_PHASE_COMPLETED, 2)},
        grpc::Status::OK, false);
  }
  grpc::ServerWriteReactor<v1::GroupEvent>* StreamGroupEvents(
      grpc::CallbackServerContext*, const v1::StreamGroupEventsRequest* request) override {
    std::vector<v1::GroupEvent> events;
    for (int i = 0; i < 2; ++i) {
      v1::GroupEvent event;
      event.set_type(v1::GROUP_EVENT_TYPE_CREATED);
      event.set_group(request->id());
      event.set_instance_id("instance-" + std::to_string(i));
      events.push_back(event);
    }
    return new ScriptedWriter<v1::GroupEvent>(events, grpc::Status::OK, true);
  }

 private:
  static v1::UpdateGroupResponse Progress(v1::UpdatePhase phase, int updated) {
    v1::UpdateGroupResponse response;
    response.set_phase(phase);
    response.set_updated(updated);
    response.set_total(2);
    return response;
  }
};

class GroupClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = TestServer::Start(dir_.Join("group.sock"), {&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<GroupClient>(server_->NewChannel());
  }

  TempDir dir_;
  ScriptedGroupService service_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<GroupClient> client_;
};

TEST_F(GroupClientTest, UnaryCallsReturnResponsesAndStatuses) {
  v1::WatchGroupRequest watch;
  watch.mutable_spec()->set_id("cattle");
  absl::StatusOr<v1::WatchGroupResponse> watched = client_->WatchGroup(watch);
  ASSERT_TRUE(watched.ok()) << watched.status();
  EXPECT_EQ(watched->message(), "watching cattle");
  EXPECT_EQ(client_->WatchGroup(v1::WatchGroupRequest()).status(),
            absl::InvalidArgumentError("spec.id: empty"));

  v1::InspectGroupRequest inspect;
  inspect.set_id("cattle");
  absl::StatusOr<v1::InspectGroupResponse> inspected = client_->InspectGroup(inspect);
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  EXPECT_EQ(inspected->status().desired(), 5);
  inspect.set_id("nope");
  EXPECT_EQ(client_->InspectGroup(inspect).status(), absl::NotFoundError("no group nope"));

  v1::SetSizeRequest resize;
  resize.set_id("cattle");
  resize.set_size(4);
  absl::StatusOr<v1::SetSizeResponse> resized = client_->SetSize(resize);
  ASSERT_TRUE(resized.ok()) << resized.status();
  EXPECT_EQ(resized->previous_size(), 3);

  absl::StatusOr<v1::ListGroupsResponse> listed = client_->ListGroups(v1::ListGroupsRequest());
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->groups_size(), 2);
  EXPECT_EQ(listed->groups(1).spec().id(), "pets");

  // Not scripted: the generated service answers UNIMPLEMENTED, passed through.
  EXPECT_EQ(client_->StopUpdate(v1::StopUpdateRequest()).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(GroupClientTest, UpdateGroupReportsEveryProgressMessageThenTheStatus) {
  v1::UpdateGroupRequest update;
  update.mutable_spec()->set_id("cattle");
  std::vector<v1::UpdatePhase> phases;
  absl::Status status = client_->UpdateGroup(
      update, [&](const v1::UpdateGroupResponse& progress) { phases.push_back(progress.phase()); });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(phases,
            (std::vector<v1::UpdatePhase>{v1::UPDATE_PHASE_STARTED, v1::UPDATE_PHASE_PROGRESS,
                                          v1::UPDATE_PHASE_COMPLETED}));

  update.mutable_spec()->set_id("paused");
  phases.clear();
  status = client_->UpdateGroup(
      update, [&](const v1::UpdateGroupResponse& progress) { phases.push_back(progress.phase()); });
  EXPECT_EQ(status, absl::FailedPreconditionError("group paused is paused"));
  EXPECT_EQ(phases, std::vector<v1::UpdatePhase>{v1::UPDATE_PHASE_STARTED});
}

TEST_F(GroupClientTest, StreamGroupEventsRunsUntilCancelledFromAnotherThread) {
  StreamCancelToken cancel;
  absl::Mutex mu;
  std::vector<std::string> seen;
  absl::Status status = absl::UnknownError("not returned");
  std::thread reader([&] {
    v1::StreamGroupEventsRequest request;
    request.set_id("cattle");
    absl::Status result = client_->StreamGroupEvents(
        request,
        [&](const v1::GroupEvent& event) {
          absl::MutexLock lock(&mu);
          seen.push_back(event.instance_id());
        },
        &cancel);
    absl::MutexLock lock(&mu);
    status = result;
  });
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return seen.size() == 2;
      },
      kWait));
  cancel.Cancel();
  reader.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(seen, (std::vector<std::string>{"instance-0", "instance-1"}));
  EXPECT_TRUE(cancel.cancelled());
}

TEST_F(GroupClientTest, StreamCancelledBeforeItStartsReturnsAtOnce) {
  StreamCancelToken cancel;
  cancel.Cancel();
  int events = 0;
  v1::StreamGroupEventsRequest request;
  request.set_id("cattle");
  EXPECT_TRUE(client_
                  ->StreamGroupEvents(
                      request, [&](const v1::GroupEvent&) { ++events; }, &cancel)
                  .ok());
  EXPECT_EQ(events, 0);
}

TEST_F(GroupClientTest, StreamEndedByServerShutdownIsAnError) {
  StreamCancelToken cancel;
  absl::Status status = absl::OkStatus();
  std::atomic<int> events{0};
  std::thread reader([&] {
    v1::StreamGroupEventsRequest request;
    request.set_id("cattle");
    status = client_->StreamGroupEvents(
        request, [&](const v1::GroupEvent&) { ++events; }, &cancel);
  });
  ASSERT_TRUE(WaitFor([&] { return events.load() == 2; }, kWait));
  server_->Shutdown();
  reader.join();
  EXPECT_FALSE(status.ok());
}

}  // namespace
}  // namespace infrakit::client
