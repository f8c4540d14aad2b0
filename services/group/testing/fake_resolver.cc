#include "services/group/testing/fake_resolver.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace infrakit::services::group::testing {

void FakeResolver::AddInstance(const std::string& name,
                               std::shared_ptr<spi::instance::InstancePlugin> p) {
  absl::MutexLock lock(&mu_);
  instances_[name] = std::move(p);
}

void FakeResolver::AddFlavor(const std::string& name,
                             std::shared_ptr<spi::flavor::FlavorPlugin> p) {
  absl::MutexLock lock(&mu_);
  flavors_[name] = std::move(p);
}

void FakeResolver::SetDown(const std::string& name, bool down) {
  absl::MutexLock lock(&mu_);
  if (down) {
    down_.insert(name);
  } else {
    down_.erase(name);
  }
}

absl::StatusOr<std::shared_ptr<spi::instance::InstancePlugin>> FakeResolver::Instance(
    absl::string_view name) {
  absl::MutexLock lock(&mu_);
  std::string n(name);
  if (down_.count(n)) return absl::UnavailableError(absl::StrCat("plugin ", n, " is down"));
  auto it = instances_.find(n);
  if (it == instances_.end()) return absl::NotFoundError(absl::StrCat("no plugin named ", n));
  return it->second;
}

absl::StatusOr<std::shared_ptr<spi::flavor::FlavorPlugin>> FakeResolver::Flavor(
    absl::string_view name) {
  absl::MutexLock lock(&mu_);
  std::string n(name);
  if (down_.count(n)) return absl::UnavailableError(absl::StrCat("plugin ", n, " is down"));
  auto it = flavors_.find(n);
  if (it == flavors_.end()) return absl::NotFoundError(absl::StrCat("no plugin named ", n));
  return it->second;
}

}  // namespace infrakit::services::group::testing
