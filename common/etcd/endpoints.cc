#include "common/etcd/endpoints.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace infrakit::etcd {
namespace {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  // Reconnect quickly to a member that comes back (the defaults back off up to 2 minutes). The
  // minimum is also gRPC's connect timeout: 1 s leaves a loaded member time to answer.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Notice a member that stopped answering (paused, partitioned) under an open stream. etcd
  // refuses pings more frequent than every 5 s (--grpc-keepalive-min-time) with GOAWAY.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
  // One channel per member: do not share subchannels with other clients in the process.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Endpoints>> Endpoints::Create(absl::string_view list) {
  absl::ConsumePrefix(&list, "etcd://");
  std::vector<Member> members;
  for (absl::string_view entry : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    const size_t colon = entry.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd endpoint \"", entry, "\": want HOST:PORT"));
    }
    Member member;
    member.index = static_cast<int>(members.size());
    member.address = std::string(entry);
    member.channel = MakeChannel(member.address);
    members.push_back(std::move(member));
  }
  if (members.empty()) {
    return absl::InvalidArgumentError("etcd endpoints: want HOST:PORT[,HOST:PORT...], got none");
  }
  return std::unique_ptr<Endpoints>(new Endpoints(std::move(members)));
}

Endpoints::Member Endpoints::Current() const {
  absl::MutexLock lock(&mu_);
  return members_[current_];
}

void Endpoints::Failed(int index) {
  const absl::Time now = absl::Now();
  std::string address;
  {
    absl::MutexLock lock(&mu_);
    if (current_ == index) current_ = (current_ + 1) % static_cast<int>(members_.size());
    if (now - renewed_[index] < absl::Seconds(1)) return;
    renewed_[index] = now;
    address = members_[index].address;
  }
  // Made outside the lock (it allocates and starts resolution), swapped in under it.
  std::shared_ptr<grpc::Channel> fresh = MakeChannel(address);
  absl::MutexLock lock(&mu_);
  members_[index].channel = std::move(fresh);
}

int Endpoints::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(members_.size());
}

std::string Endpoints::ToString() const {
  absl::MutexLock lock(&mu_);
  return absl::StrJoin(members_, ",",
                       [](std::string* out, const Member& m) { out->append(m.address); });
}

void RequireLeader(grpc::ClientContext* context) { context->AddMetadata("hasleader", "true"); }

}  // namespace infrakit::etcd
