// A PluginResolver over in-memory plugins, for tests; plugins can be taken down by name.
#ifndef INFRAKIT_SERVICES_GROUP_TESTING_FAKE_RESOLVER_H_
#define INFRAKIT_SERVICES_GROUP_TESTING_FAKE_RESOLVER_H_

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "spi/plugin_resolver.h"

namespace infrakit::services::group::testing {

class FakeResolver : public spi::PluginResolver {
 public:
  void AddInstance(const std::string& name, std::shared_ptr<spi::instance::InstancePlugin> p);
  void AddFlavor(const std::string& name, std::shared_ptr<spi::flavor::FlavorPlugin> p);
  // A down plugin resolves to UNAVAILABLE (as a socket nobody answers on).
  void SetDown(const std::string& name, bool down);

  absl::StatusOr<std::shared_ptr<spi::instance::InstancePlugin>> Instance(
      absl::string_view name) override;
  absl::StatusOr<std::shared_ptr<spi::flavor::FlavorPlugin>> Flavor(
      absl::string_view name) override;

 private:
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<spi::instance::InstancePlugin>> instances_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<spi::flavor::FlavorPlugin>> flavors_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> down_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::services::group::testing

#endif  // INFRAKIT_SERVICES_GROUP_TESTING_FAKE_RESOLVER_H_
