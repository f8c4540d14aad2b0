#include "services/runtime/rpc_metrics.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace infrakit::services::runtime {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

const std::vector<std::string>& MethodLabels() {
  static const std::vector<std::string>* const kLabels =
      new std::vector<std::string>{"grpc_service", "grpc_method", "grpc_type"};
  return *kLabels;
}

const char* TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

// One call's interceptor: counts its messages and, at its status (or its end, if it ends
// without one), the call itself.
class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(RpcMetrics* metrics, const RpcMethodSeries* series)
      : metrics_(metrics), series_(series), start_(absl::Now()) {
    series_->started->Increment();
  }
  ~RpcMetricsInterceptor() override {
    if (!finished_) Finish(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      series_->received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      series_->sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        !finished_) {
      Finish(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Finish(grpc::StatusCode code) {
    finished_ = true;
    series_->seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start_));
    metrics_->Handled(*series_, code);
  }

  RpcMetrics* const metrics_;
  const RpcMethodSeries* const series_;
  const absl::Time start_;
  bool finished_ = false;  // the hooks of one call never run concurrently
};

class RpcMetricsFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsFactory(RpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    const char* method = info->method();
    return new RpcMetricsInterceptor(
        metrics_, metrics_->SeriesFor(method == nullptr ? "unknown" : method, info->type()));
  }

 private:
  RpcMetrics* const metrics_;
};

}  // namespace

RpcMetrics::RpcMetrics(metrics::Registry* registry)
    : started_(registry->AddCounter("grpc_server_started_total",
                                    "gRPC calls started on the server.", MethodLabels())),
      handled_(registry->AddCounter("grpc_server_handled_total",
                                    "gRPC calls finished on the server, by status code.",
                                    {"grpc_service", "grpc_method", "grpc_type", "grpc_code"})),
      seconds_(registry->AddHistogram(
          "grpc_server_handling_seconds",
          "Duration of gRPC calls on the server, from start to status (a stream: its life).",
          MethodLabels(), metrics::DefaultLatencyBuckets())),
      received_(registry->AddCounter("grpc_server_msg_received_total",
                                     "Request messages received by the server.", MethodLabels())),
      sent_(registry->AddCounter("grpc_server_msg_sent_total",
                                 "Response messages sent by the server (a stream's events).",
                                 MethodLabels())) {}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::NewInterceptorFactory() {
  return std::make_unique<RpcMetricsFactory>(this);
}

const RpcMethodSeries* RpcMetrics::SeriesFor(absl::string_view full_method,
                                             ServerRpcInfo::Type type) {
  const std::string key = absl::StrCat(full_method, "#", TypeName(type));
  absl::MutexLock lock(&mu_);
  std::unique_ptr<RpcMethodSeries>& series = methods_[key];
  if (series == nullptr) {
    // "/infrakit.group.v1.GroupService/WatchGroup" -> service, method.
    absl::string_view name = absl::StripPrefix(full_method, "/");
    const size_t slash = name.rfind('/');
    absl::string_view service = slash == absl::string_view::npos ? "" : name.substr(0, slash);
    absl::string_view method = slash == absl::string_view::npos ? name : name.substr(slash + 1);
    series = std::make_unique<RpcMethodSeries>();
    series->labels = {std::string(service), std::string(method), TypeName(type)};
    series->started = started_->WithLabels(series->labels);
    series->received = received_->WithLabels(series->labels);
    series->sent = sent_->WithLabels(series->labels);
    series->seconds = seconds_->WithLabels(series->labels);
  }
  return series.get();
}

void RpcMetrics::Handled(const RpcMethodSeries& series, grpc::StatusCode code) {
  std::vector<std::string> labels = series.labels;
  // gRPC and Abseil share their status codes and names (OK, NOT_FOUND, ...).
  labels.push_back(absl::StatusCodeToString(static_cast<absl::StatusCode>(code)));
  handled_->WithLabels(labels)->Increment();
}

}  // namespace infrakit::services::runtime
