#include "client/testing/fake_flavor_plugin.h"

#include "absl/strings/str_cat.h"

namespace infrakit::client::testing {
namespace {
namespace v1 = ::infrakit::flavor::v1;
}  // namespace

void FakeFlavorPlugin::Gate() {
  ++blocked_calls_;
  mu_.Await(absl::Condition(this, &FakeFlavorPlugin::Unblocked));
  --blocked_calls_;
}

absl::Status FakeFlavorPlugin::Validate(const v1::ValidateRequest& request) {
  absl::MutexLock lock(&mu_);
  Gate();
  switch (request.allocation().kind_case()) {
    case v1::Allocation::KIND_NOT_SET:
      return absl::InvalidArgumentError("allocation: neither size nor logical_ids is set");
    case v1::Allocation::kSize:
      if (request.allocation().size() < 0) {
        return absl::InvalidArgumentError("allocation.size: must be >= 0");
      }
      break;
    case v1::Allocation::kLogicalIds:
      break;
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::PrepareResponse> FakeFlavorPlugin::Prepare(const v1::PrepareRequest& request) {
  absl::MutexLock lock(&mu_);
  Gate();
  v1::PrepareResponse response;
  *response.mutable_spec() = request.spec();
  std::string line =
      absl::StrCat("echo ", request.index().group(), "-", request.index().sequence());
  std::string init = request.spec().init();
  response.mutable_spec()->set_init(init.empty() ? line : absl::StrCat(init, "\n", line));
  (*response.mutable_spec()->mutable_tags())["infrakit.flavor"] = "fake";
  return response;
}

absl::StatusOr<v1::HealthyResponse> FakeFlavorPlugin::Healthy(const v1::HealthyRequest& request) {
  absl::MutexLock lock(&mu_);
  Gate();
  if (request.instance().id().empty()) {
    return absl::InvalidArgumentError("instance.id: empty");
  }
  v1::HealthyResponse response;
  auto it = health_.find(request.instance().id());
  if (it == health_.end()) {
    response.set_health(v1::HEALTH_UNKNOWN);
    response.set_reason("no verdict yet");
  } else {
    response.set_health(it->second.first);
    response.set_reason(it->second.second);
  }
  return response;
}

absl::Status FakeFlavorPlugin::Drain(const v1::DrainRequest& request) {
  absl::MutexLock lock(&mu_);
  Gate();
  drained_.push_back(request.instance().id());
  return absl::OkStatus();
}

// The batch methods count the call, then release the lock before the default loop: each item's
// unary call takes it again (and may wait in Gate()).
absl::StatusOr<v1::BatchPrepareResponse> FakeFlavorPlugin::BatchPrepare(
    const v1::BatchPrepareRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    ++batch_prepare_calls_;
  }
  return FlavorPlugin::BatchPrepare(request);
}

absl::StatusOr<v1::BatchHealthyResponse> FakeFlavorPlugin::BatchHealthy(
    const v1::BatchHealthyRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    ++batch_healthy_calls_;
  }
  return FlavorPlugin::BatchHealthy(request);
}

absl::StatusOr<v1::BatchDrainResponse> FakeFlavorPlugin::BatchDrain(
    const v1::BatchDrainRequest& request) {
  {
    absl::MutexLock lock(&mu_);
    ++batch_drain_calls_;
  }
  return FlavorPlugin::BatchDrain(request);
}

void FakeFlavorPlugin::SetHealth(const std::string& instance_id, v1::Health health,
                                 std::string reason) {
  absl::MutexLock lock(&mu_);
  health_[instance_id] = {health, std::move(reason)};
}

void FakeFlavorPlugin::BlockCalls() {
  absl::MutexLock lock(&mu_);
  blocked_ = true;
}

void FakeFlavorPlugin::UnblockCalls() {
  absl::MutexLock lock(&mu_);
  blocked_ = false;
}

int FakeFlavorPlugin::blocked_calls() const {
  absl::MutexLock lock(&mu_);
  return blocked_calls_;
}

std::vector<std::string> FakeFlavorPlugin::drained() const {
  absl::MutexLock lock(&mu_);
  return drained_;
}

int FakeFlavorPlugin::batch_prepare_calls() const {
  absl::MutexLock lock(&mu_);
  return batch_prepare_calls_;
}

int FakeFlavorPlugin::batch_healthy_calls() const {
  absl::MutexLock lock(&mu_);
  return batch_healthy_calls_;
}

int FakeFlavorPlugin::batch_drain_calls() const {
  absl::MutexLock lock(&mu_);
  return batch_drain_calls_;
}

}  // namespace infrakit::client::testing
