#include "tools/bench/reader_load.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/discovery/channel.h"
#include "client/group_client.h"
#include "client/instance_client.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "spec/tags.h"

namespace infrakit::tools::bench {

namespace gv1 = ::infrakit::group::v1;
namespace iv1 = ::infrakit::instance::v1;

const char* ReadRpcName(ReadRpc rpc) {
  switch (rpc) {
    case ReadRpc::kListGroups:
      return "ListGroups";
    case ReadRpc::kInspectGroup:
      return "InspectGroup";
    case ReadRpc::kDescribe:
      return "Describe";
  }
  return "?";
}

int64_t ReadRpcResult::error_count() const {
  int64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

int64_t ReadRpcResult::deadline_exceeded() const {
  auto it = errors.find(absl::StatusCode::kDeadlineExceeded);
  return it == errors.end() ? 0 : it->second;
}

int64_t ReaderLoadResult::error_count() const {
  int64_t n = 0;
  for (const ReadRpcResult& rpc : rpcs) n += rpc.error_count();
  return n;
}

std::string ReaderLoadResult::ErrorSummary() const {
  std::string out;
  for (int i = 0; i < kReadRpcs; ++i) {
    for (const auto& [code, count] : rpcs[i].errors) {
      absl::StrAppend(&out, out.empty() ? "" : "; ", ReadRpcName(static_cast<ReadRpc>(i)), " ",
                      absl::StatusCodeToString(code), ": ", count, " (",
                      rpcs[i].first_error.at(code), ")");
    }
  }
  return out;
}

namespace {

// A channel of its own: gRPC shares connections between channels to one target unless told
// otherwise, and each reader is meant to be a client of its own.
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& socket) {
  grpc::ChannelArguments args = client::discovery::PluginChannelArguments();
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("unix:", socket),
                                   grpc::InsecureChannelCredentials(), args);
}

}  // namespace

struct ReaderLoad::Reader {
  int index = 0;
  std::shared_ptr<grpc::Channel> group_channel;
  std::shared_ptr<grpc::Channel> instance_channel;
  std::unique_ptr<client::GroupClient> group;
  std::unique_ptr<client::InstanceClient> instances;
  std::array<ReadRpcResult, kReadRpcs> results;
};

ReaderLoad::ReaderLoad(ReaderLoadOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<ReaderLoad>> ReaderLoad::Start(ReaderLoadOptions options) {
  if (options.readers < 1) {
    return absl::InvalidArgumentError(absl::StrCat("readers: must be >= 1, got ", options.readers));
  }
  if (options.group_socket.empty() || options.instance_socket.empty() || options.group_id.empty()) {
    return absl::InvalidArgumentError("the sockets and the group ID must not be empty");
  }
  std::unique_ptr<ReaderLoad> load(new ReaderLoad(std::move(options)));
  const ReaderLoadOptions& o = load->options_;
  const absl::Time connect_deadline = absl::Now() + o.connect_timeout;
  for (int i = 0; i < o.readers; ++i) {
    auto reader = std::make_unique<Reader>();
    reader->index = i;
    reader->group_channel = OwnChannel(o.group_socket);
    reader->instance_channel = OwnChannel(o.instance_socket);
    for (const auto& channel : {reader->group_channel, reader->instance_channel}) {
      if (!channel->WaitForConnected(absl::ToChronoTime(connect_deadline))) {
        return absl::DeadlineExceededError(absl::StrCat("reader ", i, " could not connect within ",
                                                        absl::FormatDuration(o.connect_timeout)));
      }
    }
    reader->group = std::make_unique<client::GroupClient>(reader->group_channel, o.deadline);
    reader->instances =
        std::make_unique<client::InstanceClient>(reader->instance_channel, o.deadline);
    load->readers_.push_back(std::move(reader));
  }
  for (const auto& reader : load->readers_) {
    load->threads_.emplace_back([raw = load.get(), r = reader.get()] { raw->Run(r); });
  }
  return load;
}

ReaderLoad::~ReaderLoad() {
  if (!stopped_) Stop();
}

void ReaderLoad::Go() {
  started_ = absl::Now();
  go_.Notify();
}

void ReaderLoad::Run(Reader* reader) {
  go_.WaitForNotification();
  if (stop_.load()) return;
  const absl::Time end = absl::Now() + options_.max_duration;
  gv1::ListGroupsRequest list;
  gv1::InspectGroupRequest inspect;
  inspect.set_id(options_.group_id);
  iv1::DescribeRequest describe;
  (*describe.mutable_tags())[spec::kGroupTag] = options_.group_id;
  for (int64_t i = 0; i < options_.max_calls_per_reader && !stop_.load(); ++i) {
    const int rpc = static_cast<int>((reader->index + i) % kReadRpcs);
    const absl::Time start = absl::Now();
    absl::Status status;
    switch (static_cast<ReadRpc>(rpc)) {
      case ReadRpc::kListGroups:
        status = reader->group->ListGroupsPage(list).status();
        break;
      case ReadRpc::kInspectGroup:
        status = reader->group->InspectGroupPage(inspect).status();
        break;
      case ReadRpc::kDescribe:
        status = reader->instances->DescribePage(describe).status();
        break;
    }
    const absl::Time done = absl::Now();
    ReadRpcResult& result = reader->results[rpc];
    ++result.calls;
    result.latencies.push_back(done - start);
    if (!status.ok()) {
      if (++result.errors[status.code()] == 1) {
        result.first_error[status.code()] = std::string(status.message());
      }
    }
    calls_.fetch_add(1);
    if (done >= end) break;
    if (options_.pause > absl::ZeroDuration()) absl::SleepFor(options_.pause);
  }
}

ReaderLoadResult ReaderLoad::Stop() {
  ReaderLoadResult result;
  if (stopped_) return result;
  stopped_ = true;
  result.window = go_.HasBeenNotified() ? absl::Now() - started_ : absl::ZeroDuration();
  stop_.store(true);
  if (!go_.HasBeenNotified()) go_.Notify();  // readers never let go leave at once
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  for (const auto& reader : readers_) {
    for (int i = 0; i < kReadRpcs; ++i) {
      ReadRpcResult& into = result.rpcs[i];
      ReadRpcResult& from = reader->results[i];
      into.calls += from.calls;
      into.latencies.insert(into.latencies.end(), from.latencies.begin(), from.latencies.end());
      for (const auto& [code, count] : from.errors) into.errors[code] += count;
      for (const auto& [code, message] : from.first_error) into.first_error.emplace(code, message);
    }
  }
  readers_.clear();
  return result;
}

}  // namespace infrakit::tools::bench
