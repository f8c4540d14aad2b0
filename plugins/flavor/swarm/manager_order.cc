#include "plugins/flavor/swarm/manager_order.h"

namespace infrakit::plugins::flavor::swarm {

std::vector<const SwarmManager*> ManagerOrder::Order(const SwarmProperties& properties,
                                                     const std::string& skip) const {
  std::string last;
  {
    absl::MutexLock lock(&mu_);
    last = last_;
  }
  std::vector<const SwarmManager*> order;
  for (const SwarmManager& manager : properties.managers) {
    if (manager.address != skip && manager.socket == last) order.push_back(&manager);
  }
  for (const SwarmManager& manager : properties.managers) {
    if (manager.address != skip && manager.socket != last) order.push_back(&manager);
  }
  return order;
}

void ManagerOrder::Answered(const std::string& socket) {
  absl::MutexLock lock(&mu_);
  last_ = socket;
}

}  // namespace infrakit::plugins::flavor::swarm
