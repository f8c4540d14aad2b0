#include "client/flavor_client.h"

#include <utility>

namespace infrakit::client {
namespace {

namespace v1 = ::infrakit::flavor::v1;
using Stub = v1::FlavorService::Stub;

}  // namespace

FlavorClient::FlavorClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline)
    : stub_(v1::FlavorService::NewStub(std::move(channel))), deadline_(deadline) {}

FlavorClient::~FlavorClient() = default;

absl::Status FlavorClient::Validate(const v1::ValidateRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Validate, request, deadline_).status();
}

absl::StatusOr<v1::PrepareResponse> FlavorClient::Prepare(const v1::PrepareRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Prepare, request, deadline_);
}

absl::StatusOr<v1::HealthyResponse> FlavorClient::Healthy(const v1::HealthyRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Healthy, request, deadline_);
}

absl::Status FlavorClient::Drain(const v1::DrainRequest& request) {
  return UnaryCall(stub_.get(), &Stub::Drain, request, deadline_).status();
}

}  // namespace infrakit::client
