// Metrics of every gRPC call a plugin serves, recorded by a server interceptor, so that every
// service (InfraKit's, health, reflection) is measured the same way without touching them.
// Series (labels grpc_service, grpc_method, grpc_type = unary | client_stream | server_stream |
// bidi_stream):
//   grpc_server_started_total           calls started
//   grpc_server_handled_total           calls finished, also labelled grpc_code (OK, NOT_FOUND...)
//   grpc_server_handling_seconds        histogram of call durations, start to status
//   grpc_server_msg_received_total      request messages received
//   grpc_server_msg_sent_total          response messages sent (a Watch stream's events)
#ifndef INFRAKIT_SERVICES_RUNTIME_RPC_METRICS_H_
#define INFRAKIT_SERVICES_RUNTIME_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"

namespace infrakit::services::runtime {

// The series of one method, looked up once per method and shared by its calls.
struct RpcMethodSeries {
  std::vector<std::string> labels;  // grpc_service, grpc_method, grpc_type
  metrics::Counter* started = nullptr;
  metrics::Counter* received = nullptr;
  metrics::Counter* sent = nullptr;
  metrics::Histogram* seconds = nullptr;
};

// The metrics above, declared once in a registry, and the interceptors that record them.
// Thread-safe.
class RpcMetrics {
 public:
  // Declares the metrics in `registry`, which must outlive this object (CHECK-fails if they are
  // declared there already).
  explicit RpcMetrics(metrics::Registry* registry);
  RpcMetrics(const RpcMetrics&) = delete;
  RpcMetrics& operator=(const RpcMetrics&) = delete;

  // A factory to give grpc::ServerBuilder (experimental().SetInterceptorCreators); it and the
  // server must not outlive this object.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  // The series of `full_method` ("/package.Service/Method") called as `type`, created on first
  // use; valid as long as this object.
  const RpcMethodSeries* SeriesFor(absl::string_view full_method,
                                   grpc::experimental::ServerRpcInfo::Type type);
  // Counts a finished call of `series` with `code`.
  void Handled(const RpcMethodSeries& series, grpc::StatusCode code);

 private:
  metrics::CounterFamily* const started_;
  metrics::CounterFamily* const handled_;
  metrics::HistogramFamily* const seconds_;
  metrics::CounterFamily* const received_;
  metrics::CounterFamily* const sent_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<RpcMethodSeries>> methods_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::runtime

#endif  // INFRAKIT_SERVICES_RUNTIME_RPC_METRICS_H_
