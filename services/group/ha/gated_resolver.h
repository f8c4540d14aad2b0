// A PluginResolver that hands out plugins only while a condition (leadership) holds.
#ifndef INFRAKIT_SERVICES_GROUP_HA_GATED_RESOLVER_H_
#define INFRAKIT_SERVICES_GROUP_HA_GATED_RESOLVER_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "spi/plugin_resolver.h"

namespace infrakit::services::group::ha {

// The Controller resolves a plugin right before each call it makes (a creation, a destruction,
// a listing, a health check), so asking `gate` at that moment stops a leader whose leadership is
// no longer confirmed (its lease's keepalive lapsed: etcd unreachable or without a majority, or
// the process was paused) from touching any instance, before its election has even noticed. The
// Controller takes the refusal as a plugin that is down: it backs off and tries again later.
//
// What the gate cannot cover: a call that passed the gate just before the process was paused
// goes out when it resumes. Store writes are fenced in etcd (EtcdStore); plugin calls are not.
//
// Thread-safe when `inner` and `gate` are.
class GatedResolver : public spi::PluginResolver {
 public:
  // `inner` is not owned and must outlive this. `gate` returns OK when plugins may be used, or
  // the error to answer (UNAVAILABLE, naming why).
  GatedResolver(spi::PluginResolver* inner, std::function<absl::Status()> gate);

  // `inner`'s plugin, or the gate's error (nothing is resolved then).
  absl::StatusOr<std::shared_ptr<spi::instance::InstancePlugin>> Instance(
      absl::string_view name) override;
  absl::StatusOr<std::shared_ptr<spi::flavor::FlavorPlugin>> Flavor(
      absl::string_view name) override;

 private:
  spi::PluginResolver* const inner_;
  const std::function<absl::Status()> gate_;
};

}  // namespace infrakit::services::group::ha

#endif  // INFRAKIT_SERVICES_GROUP_HA_GATED_RESOLVER_H_
