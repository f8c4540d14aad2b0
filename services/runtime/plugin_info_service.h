// infrakit.plugin.v1.PluginService: every plugin's answer to "who are you?".
#ifndef INFRAKIT_SERVICES_RUNTIME_PLUGIN_INFO_SERVICE_H_
#define INFRAKIT_SERVICES_RUNTIME_PLUGIN_INFO_SERVICE_H_

#include <grpcpp/support/server_callback.h>

#include "infrakit/plugin/v1/plugin.grpc.pb.h"
#include "infrakit/plugin/v1/plugin.pb.h"

namespace infrakit::services::runtime {

// Serves a fixed InfoResponse (a plugin's identity does not change while it runs), so there is
// no core behind this adapter: the answer is computed once by the runtime. Callback API; Info
// never blocks and never fails. Thread-safe (the response is immutable).
class PluginInfoService final : public infrakit::plugin::v1::PluginService::CallbackService {
 public:
  explicit PluginInfoService(infrakit::plugin::v1::InfoResponse info);

  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* context,
                                 const infrakit::plugin::v1::InfoRequest* request,
                                 infrakit::plugin::v1::InfoResponse* response) override;

  const infrakit::plugin::v1::InfoResponse& info() const { return info_; }

 private:
  const infrakit::plugin::v1::InfoResponse info_;
};

}  // namespace infrakit::services::runtime

#endif  // INFRAKIT_SERVICES_RUNTIME_PLUGIN_INFO_SERVICE_H_
