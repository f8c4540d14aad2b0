#include "services/group/controller_metrics.h"

namespace infrakit::services::group {
namespace {

class NoMetrics : public ControllerMetrics {
 public:
  void Provisioned(const std::string&, int64_t) override {}
  void Destroyed(const std::string&, absl::string_view) override {}
  void Failed(const std::string&, absl::string_view, int64_t) override {}
  void Error(const std::string&) override {}
  void Healed(const std::string&, absl::string_view) override {}
  void WatchEvent(const std::string&, absl::string_view) override {}
  void UpdateProgress(const std::string&, int64_t, int64_t) override {}
};

}  // namespace

ControllerMetrics* NoControllerMetrics() {
  static NoMetrics* const kNone = new NoMetrics();
  return kNone;
}

}  // namespace infrakit::services::group
