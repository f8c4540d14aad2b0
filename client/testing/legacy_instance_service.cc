#include "client/testing/legacy_instance_service.h"

#include "absl/strings/str_cat.h"

namespace infrakit::client::testing {

namespace v1 = ::infrakit::instance::v1;

grpc::ServerUnaryReactor* LegacyInstanceService::Provision(grpc::CallbackServerContext* context,
                                                           const v1::ProvisionRequest* request,
                                                           v1::ProvisionResponse* response) {
  grpc::Status status;
  if (request->spec().init() == "bad") {
    status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "spec.init: bad");
  } else {
    absl::MutexLock lock(&mu_);
    ++provisions_;
    response->set_id(absl::StrCat("legacy-", provisions_));
    response->set_created(true);
    ids_.insert(response->id());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* LegacyInstanceService::Destroy(grpc::CallbackServerContext* context,
                                                         const v1::DestroyRequest* request,
                                                         v1::DestroyResponse* /*response*/) {
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    ++destroys_;
    if (ids_.erase(request->id()) == 0) {
      status =
          grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no instance ", request->id()));
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* LegacyInstanceService::BatchProvision(
    grpc::CallbackServerContext* context, const v1::BatchProvisionRequest* request,
    v1::BatchProvisionResponse* response) {
  CountBatchAttempt();
  if (mode_ == BatchMode::kUnimplemented) {
    return v1::InstanceService::CallbackService::BatchProvision(context, request, response);
  }
  for (int i = 0; i < request->requests_size(); ++i) {
    v1::ProvisionResult* result = response->add_results();
    if (mode_ == BatchMode::kNoOutcome && i == request->requests_size() - 1) continue;
    result->mutable_response()->set_id(absl::StrCat("batch-", i));
  }
  if (mode_ == BatchMode::kOneResultShort) response->mutable_results()->RemoveLast();
  return FinishBatch(context);
}

grpc::ServerUnaryReactor* LegacyInstanceService::BatchDestroy(
    grpc::CallbackServerContext* context, const v1::BatchDestroyRequest* request,
    v1::BatchDestroyResponse* response) {
  CountBatchAttempt();
  if (mode_ == BatchMode::kUnimplemented) {
    return v1::InstanceService::CallbackService::BatchDestroy(context, request, response);
  }
  for (int i = 0; i < request->requests_size(); ++i) response->add_results();
  if (mode_ == BatchMode::kOneResultShort) response->mutable_results()->RemoveLast();
  return FinishBatch(context);
}

void LegacyInstanceService::CountBatchAttempt() {
  absl::MutexLock lock(&mu_);
  ++batch_attempts_;
}

grpc::ServerUnaryReactor* LegacyInstanceService::FinishBatch(grpc::CallbackServerContext* context) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(mode_ == BatchMode::kUnavailable
                      ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "backend down")
                      : grpc::Status::OK);
  return reactor;
}

int LegacyInstanceService::provisions() {
  absl::MutexLock lock(&mu_);
  return provisions_;
}

int LegacyInstanceService::destroys() {
  absl::MutexLock lock(&mu_);
  return destroys_;
}

int LegacyInstanceService::batch_attempts() {
  absl::MutexLock lock(&mu_);
  return batch_attempts_;
}

}  // namespace infrakit::client::testing
