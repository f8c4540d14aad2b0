// The order in which flavor-swarm asks a swarm's managers: the one that answered last first.
// A manager that is frozen (SIGSTOP) or overloaded then costs one call's timeout once, not on
// every call, while the swarm has another manager that answers.
#ifndef INFRAKIT_PLUGINS_FLAVOR_SWARM_MANAGER_ORDER_H_
#define INFRAKIT_PLUGINS_FLAVOR_SWARM_MANAGER_ORDER_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "plugins/flavor/swarm/swarm_properties.h"

namespace infrakit::plugins::flavor::swarm {

class ManagerOrder {
 public:
  // The managers of `properties` but the one at address `skip` (none when empty): the one
  // whose socket answered last first, then the others in the order given. The pointers point
  // into `properties`. Thread-safe.
  std::vector<const SwarmManager*> Order(const SwarmProperties& properties,
                                         const std::string& skip) const;

  // Notes that the manager engine at `socket` answered. Thread-safe.
  void Answered(const std::string& socket);

 private:
  mutable absl::Mutex mu_;
  std::string last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace infrakit::plugins::flavor::swarm

#endif  // INFRAKIT_PLUGINS_FLAVOR_SWARM_MANAGER_ORDER_H_
