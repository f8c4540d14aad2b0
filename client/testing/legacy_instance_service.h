// A hand-written InstanceService as an older or third-party plugin might serve it, for testing
// how clients cope with a plugin that lacks the batch RPCs or gets them wrong.
#ifndef INFRAKIT_CLIENT_TESTING_LEGACY_INSTANCE_SERVICE_H_
#define INFRAKIT_CLIENT_TESTING_LEGACY_INSTANCE_SERVICE_H_

#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "infrakit/instance/v1/instance.grpc.pb.h"

namespace infrakit::client::testing {

// Serves Provision and Destroy only, in memory (IDs "legacy-1", "legacy-2"...; a Provision
// whose spec's init is "bad" fails INVALID_ARGUMENT "spec.init: bad", a Destroy of an unknown
// ID NOT_FOUND). Its batch methods, each attempt counted, either are left to gRPC's generated
// default (UNIMPLEMENTED, what a server built without them answers) or misbehave as the
// BatchMode says. Every other method is gRPC's default (UNIMPLEMENTED). Thread-safe.
class LegacyInstanceService final
    : public ::infrakit::instance::v1::InstanceService::CallbackService {
 public:
  enum class BatchMode {
    kUnimplemented,   // gRPC's own answer for a method the service does not implement
    kUnavailable,     // the whole call fails UNAVAILABLE
    kOneResultShort,  // one result fewer than requests
    kNoOutcome,       // the right number of results, the last without an outcome
  };
  explicit LegacyInstanceService(BatchMode mode) : mode_(mode) {}

  grpc::ServerUnaryReactor* Provision(
      grpc::CallbackServerContext* context,
      const ::infrakit::instance::v1::ProvisionRequest* request,
      ::infrakit::instance::v1::ProvisionResponse* response) override;
  grpc::ServerUnaryReactor* Destroy(grpc::CallbackServerContext* context,
                                    const ::infrakit::instance::v1::DestroyRequest* request,
                                    ::infrakit::instance::v1::DestroyResponse* response) override;
  grpc::ServerUnaryReactor* BatchProvision(
      grpc::CallbackServerContext* context,
      const ::infrakit::instance::v1::BatchProvisionRequest* request,
      ::infrakit::instance::v1::BatchProvisionResponse* response) override;
  grpc::ServerUnaryReactor* BatchDestroy(
      grpc::CallbackServerContext* context,
      const ::infrakit::instance::v1::BatchDestroyRequest* request,
      ::infrakit::instance::v1::BatchDestroyResponse* response) override;

  // Provision calls that created an instance.
  int provisions();
  // Destroy calls, whether the instance existed or not.
  int destroys();
  // BatchProvision and BatchDestroy calls, however they were answered.
  int batch_attempts();

 private:
  void CountBatchAttempt();
  // Ends a batch call the way the mode says: UNAVAILABLE for kUnavailable, else OK.
  grpc::ServerUnaryReactor* FinishBatch(grpc::CallbackServerContext* context);

  const BatchMode mode_;
  absl::Mutex mu_;
  int provisions_ ABSL_GUARDED_BY(mu_) = 0;
  int destroys_ ABSL_GUARDED_BY(mu_) = 0;
  int batch_attempts_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> ids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::client::testing

#endif  // INFRAKIT_CLIENT_TESTING_LEGACY_INSTANCE_SERVICE_H_
