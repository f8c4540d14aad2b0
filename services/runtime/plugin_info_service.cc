#include "services/runtime/plugin_info_service.h"

#include <utility>

namespace infrakit::services::runtime {

PluginInfoService::PluginInfoService(infrakit::plugin::v1::InfoResponse info)
    : info_(std::move(info)) {}

grpc::ServerUnaryReactor* PluginInfoService::Info(grpc::CallbackServerContext* context,
                                                  const infrakit::plugin::v1::InfoRequest* request,
                                                  infrakit::plugin::v1::InfoResponse* response) {
  *response = info_;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace infrakit::services::runtime
