#include "client/discovery/discovery.h"

#include <dirent.h>
#include <errno.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "glog/logging.h"
#include "infrakit/plugin/v1/plugin.grpc.pb.h"

namespace infrakit::client::discovery {
namespace {

constexpr absl::string_view kSocketSuffix = ".sock";

std::string JoinPath(absl::string_view dir, absl::string_view file) {
  if (absl::EndsWith(dir, "/")) return absl::StrCat(dir, file);
  return absl::StrCat(dir, "/", file);
}

}  // namespace

absl::StatusOr<infrakit::plugin::v1::InfoResponse> GetInfo(absl::string_view socket,
                                                           absl::Duration deadline) {
  auto stub = infrakit::plugin::v1::PluginService::NewStub(MakePluginChannel(socket));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  infrakit::plugin::v1::InfoResponse response;
  grpc::Status status = stub->Info(&context, infrakit::plugin::v1::InfoRequest(), &response);
  if (!status.ok()) {
    absl::Status s = common::FromGrpcStatus(status);
    return absl::Status(s.code(), absl::StrCat("Info on ", socket, ": ", s.message()));
  }
  return response;
}

absl::StatusOr<std::vector<PluginEntry>> ListPlugins(absl::string_view dir,
                                                     absl::Duration info_deadline) {
  const std::string d(dir);
  std::unique_ptr<DIR, int (*)(DIR*)> handle(opendir(d.c_str()), &closedir);
  if (handle == nullptr) {
    if (errno == ENOENT) return std::vector<PluginEntry>();
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot read plugins directory ", d));
  }
  std::vector<PluginEntry> entries;
  errno = 0;
  while (dirent* e = readdir(handle.get())) {
    absl::string_view file(e->d_name);
    if (!absl::EndsWith(file, kSocketSuffix) || file.size() == kSocketSuffix.size()) continue;
    PluginEntry entry;
    entry.name = std::string(file.substr(0, file.size() - kSocketSuffix.size()));
    entry.socket_path = JoinPath(dir, file);
    entry.address = SocketAddress(entry.socket_path);
    entries.push_back(std::move(entry));
  }
  if (errno != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot read plugins directory ", d));
  }

  std::vector<PluginEntry> plugins;
  plugins.reserve(entries.size());
  for (PluginEntry& entry : entries) {
    absl::StatusOr<SocketState> state = ProbeSocket(entry.socket_path);
    if (!state.ok()) {
      // Unreadable entries are listed as stale rather than failing the whole listing.
      VLOG(1) << "discovery: " << state.status();
      entry.info_status = state.status();
    } else if (*state == SocketState::kMissing || *state == SocketState::kNotSocket) {
      continue;  // gone since readdir, or a file that only looks like a socket
    } else if (*state == SocketState::kStale) {
      entry.info_status = absl::UnavailableError(
          absl::StrCat("plugin ", entry.name, " at ", entry.socket_path, " does not answer"));
    } else {
      entry.alive = true;
      absl::StatusOr<infrakit::plugin::v1::InfoResponse> info =
          GetInfo(entry.socket_path, info_deadline);
      if (info.ok()) {
        entry.info = *std::move(info);
      } else {
        entry.info_status = info.status();
      }
    }
    plugins.push_back(std::move(entry));
  }
  std::sort(plugins.begin(), plugins.end(),
            [](const PluginEntry& a, const PluginEntry& b) { return a.name < b.name; });
  return plugins;
}

absl::StatusOr<std::string> Find(absl::string_view dir, absl::string_view name) {
  if (name.empty() || absl::StrContains(name, '/')) {
    return absl::InvalidArgumentError(
        absl::StrCat("plugin name \"", name, "\" must be non-empty and contain no '/'"));
  }
  std::string path = JoinPath(dir, absl::StrCat(name, kSocketSuffix));
  absl::StatusOr<SocketState> state = ProbeSocket(path);
  if (!state.ok()) return state.status();
  switch (*state) {
    case SocketState::kMissing:
      return absl::NotFoundError(absl::StrCat("no plugin named ", name, " in ", dir));
    case SocketState::kNotSocket:
    case SocketState::kStale:
      return absl::UnavailableError(
          absl::StrCat("plugin ", name, " at ", path, " does not answer"));
    case SocketState::kLive:
      return path;
  }
  return absl::InternalError("unreachable socket state");
}

}  // namespace infrakit::client::discovery
