#include "client/group_client.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "client/pages.h"
#include "common/grpc_status.h"

namespace infrakit::client {

namespace {
namespace v1 = ::infrakit::group::v1;
using Stub = v1::GroupService::Stub;
}  // namespace

// Ties a StreamCancelToken to one stream's context for the stream's duration.
class StreamAttachment {
 public:
  StreamAttachment(StreamCancelToken* token, grpc::ClientContext* context) : token_(token) {
    attached_ = token_ == nullptr || token_->Attach(context);
  }
  ~StreamAttachment() {
    if (token_ != nullptr && attached_) token_->Detach();
  }
  StreamAttachment(const StreamAttachment&) = delete;
  StreamAttachment& operator=(const StreamAttachment&) = delete;

  // False when the token was cancelled before the stream started.
  bool attached() const { return attached_; }
  // Whether the stream ended because the token was cancelled.
  bool cancelled() const { return token_ != nullptr && token_->cancelled(); }

 private:
  StreamCancelToken* const token_;
  bool attached_;
};

namespace {

// Reads a server stream to its end, handing each message to `on_message` on this thread.
// A stream cancelled through the token counts as a normal end (OK).
template <typename Response>
absl::Status ReadStream(std::unique_ptr<grpc::ClientReader<Response>> reader,
                        const StreamAttachment& attachment,
                        const std::function<void(const Response&)>& on_message) {
  Response message;
  while (reader->Read(&message)) on_message(message);
  grpc::Status status = reader->Finish();
  if (!status.ok() && attachment.cancelled()) return absl::OkStatus();
  return common::FromGrpcStatus(status);
}

}  // namespace

void StreamCancelToken::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool StreamCancelToken::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool StreamCancelToken::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  context_ = context;
  return true;
}

void StreamCancelToken::Detach() {
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
}

GroupClient::GroupClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline,
                         absl::Duration stream_deadline)
    : stub_(v1::GroupService::NewStub(std::move(channel))),
      deadline_(deadline),
      stream_deadline_(stream_deadline) {}

absl::StatusOr<v1::WatchGroupResponse> GroupClient::WatchGroup(
    const v1::WatchGroupRequest& request) {
  return UnaryCall(stub_.get(), &Stub::WatchGroup, request, deadline_);
}

absl::StatusOr<v1::UnwatchGroupResponse> GroupClient::UnwatchGroup(
    const v1::UnwatchGroupRequest& request) {
  return UnaryCall(stub_.get(), &Stub::UnwatchGroup, request, deadline_);
}

absl::StatusOr<v1::InspectGroupResponse> GroupClient::InspectGroup(
    const v1::InspectGroupRequest& request) {
  return CollectPages<v1::InspectGroupResponse>(
      request, [this](const v1::InspectGroupRequest& page) { return InspectGroupPage(page); },
      [](v1::InspectGroupResponse* response) { return response->mutable_members(); });
}

absl::StatusOr<v1::InspectGroupResponse> GroupClient::InspectGroupPage(
    const v1::InspectGroupRequest& request) {
  return UnaryCall(stub_.get(), &Stub::InspectGroup, request, deadline_);
}

absl::Status GroupClient::InspectGroupPages(
    const v1::InspectGroupRequest& request,
    const std::function<void(const v1::InspectGroupResponse&)>& on_page) {
  return FollowPages(
      request, [this](const v1::InspectGroupRequest& page) { return InspectGroupPage(page); },
      [&on_page](const v1::InspectGroupResponse& page) { on_page(page); });
}

absl::StatusOr<v1::DescribeUpdateResponse> GroupClient::DescribeUpdate(
    const v1::DescribeUpdateRequest& request) {
  return UnaryCall(stub_.get(), &Stub::DescribeUpdate, request, deadline_);
}

absl::StatusOr<v1::StopUpdateResponse> GroupClient::StopUpdate(
    const v1::StopUpdateRequest& request) {
  return UnaryCall(stub_.get(), &Stub::StopUpdate, request, deadline_);
}

absl::StatusOr<v1::DestroyGroupResponse> GroupClient::DestroyGroup(
    const v1::DestroyGroupRequest& request) {
  return UnaryCall(stub_.get(), &Stub::DestroyGroup, request, deadline_);
}

absl::StatusOr<v1::ListGroupsResponse> GroupClient::ListGroups(
    const v1::ListGroupsRequest& request) {
  return CollectPages<v1::ListGroupsResponse>(
      request, [this](const v1::ListGroupsRequest& page) { return ListGroupsPage(page); },
      [](v1::ListGroupsResponse* response) { return response->mutable_groups(); });
}

absl::StatusOr<v1::ListGroupsResponse> GroupClient::ListGroupsPage(
    const v1::ListGroupsRequest& request) {
  return UnaryCall(stub_.get(), &Stub::ListGroups, request, deadline_);
}

absl::Status GroupClient::ListGroupsPages(
    const v1::ListGroupsRequest& request,
    const std::function<void(const v1::ListGroupsResponse&)>& on_page) {
  return FollowPages(
      request, [this](const v1::ListGroupsRequest& page) { return ListGroupsPage(page); },
      [&on_page](const v1::ListGroupsResponse& page) { on_page(page); });
}

absl::StatusOr<v1::SetSizeResponse> GroupClient::SetSize(const v1::SetSizeRequest& request) {
  return UnaryCall(stub_.get(), &Stub::SetSize, request, deadline_);
}

absl::StatusOr<v1::DestroyInstancesResponse> GroupClient::DestroyInstances(
    const v1::DestroyInstancesRequest& request) {
  return UnaryCall(stub_.get(), &Stub::DestroyInstances, request, deadline_);
}

absl::Status GroupClient::UpdateGroup(
    const v1::UpdateGroupRequest& request,
    const std::function<void(const v1::UpdateGroupResponse&)>& on_progress,
    StreamCancelToken* cancel) {
  grpc::ClientContext context;
  SetDeadline(&context, stream_deadline_);
  StreamAttachment attachment(cancel, &context);
  if (!attachment.attached()) return absl::OkStatus();
  return ReadStream(stub_->UpdateGroup(&context, request), attachment, on_progress);
}

absl::Status GroupClient::StreamGroupEvents(
    const v1::StreamGroupEventsRequest& request,
    const std::function<void(const v1::GroupEvent&)>& on_event, StreamCancelToken* cancel) {
  grpc::ClientContext context;
  SetDeadline(&context, stream_deadline_);
  StreamAttachment attachment(cancel, &context);
  if (!attachment.attached()) return absl::OkStatus();
  return ReadStream(stub_->StreamGroupEvents(&context, request), attachment, on_event);
}

}  // namespace infrakit::client
