// Concurrent readers of a running stack: N client threads, each on connections of its own,
// calling ListGroups and InspectGroup (group service) and Describe (instance plugin) one after
// another, timing every call and counting errors by status code. What the `readers` scenario
// measures during a convergence, and what tests/e2e/readers checks for errors.
#ifndef INFRAKIT_TOOLS_BENCH_READER_LOAD_H_
#define INFRAKIT_TOOLS_BENCH_READER_LOAD_H_

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace infrakit::tools::bench {

// The RPCs a reader calls, in the order each reader cycles through them (each reader starts at
// another one, so that the three are called equally at every moment).
enum class ReadRpc { kListGroups = 0, kInspectGroup = 1, kDescribe = 2 };
inline constexpr int kReadRpcs = 3;
// "ListGroups", "InspectGroup", "Describe".
const char* ReadRpcName(ReadRpc rpc);

struct ReaderLoadOptions {
  // Concurrent readers (threads), each with its own connection to each socket.
  int readers = 50;
  std::string group_socket;
  std::string instance_socket;
  // The group InspectGroup asks for, and whose tag (infrakit.group) Describe filters on.
  std::string group_id;
  // Each call's deadline: a call slower than this counts as DEADLINE_EXCEEDED.
  absl::Duration deadline = absl::Seconds(5);
  // Pause of a reader between two of its calls (0: back to back).
  absl::Duration pause = absl::ZeroDuration();
  // How long readers may take to connect before Start fails.
  absl::Duration connect_timeout = absl::Seconds(30);
  // Readers stop by themselves after this long, or after this many calls each, whichever
  // comes first, should Stop never be called.
  absl::Duration max_duration = absl::Minutes(10);
  int64_t max_calls_per_reader = 1000000;
};

// What the readers saw of one RPC.
struct ReadRpcResult {
  int64_t calls = 0;
  // The latency of every call, failed ones included, in the order they ended per reader.
  std::vector<absl::Duration> latencies;
  // Failed calls by status code (DEADLINE_EXCEEDED included).
  std::map<absl::StatusCode, int64_t> errors;
  // The first error message of each code, to say what went wrong.
  std::map<absl::StatusCode, std::string> first_error;

  int64_t error_count() const;
  int64_t deadline_exceeded() const;
};

struct ReaderLoadResult {
  std::array<ReadRpcResult, kReadRpcs> rpcs;
  // From Go() to the moment Stop() was called.
  absl::Duration window;

  const ReadRpcResult& of(ReadRpc rpc) const { return rpcs[static_cast<int>(rpc)]; }
  int64_t error_count() const;
  // "INTERNAL: 3 (ListGroups: ...)", one code after another; "" without errors.
  std::string ErrorSummary() const;
};

// Thread-compatible: Start, Go and Stop from one thread. The readers are threads of their own.
class ReaderLoad {
 public:
  // Starts the readers and waits until each has connected to both sockets; they call nothing
  // before Go(). Errors: INVALID_ARGUMENT for readers < 1 or an empty socket or group ID,
  // DEADLINE_EXCEEDED when a reader cannot connect in time.
  static absl::StatusOr<std::unique_ptr<ReaderLoad>> Start(ReaderLoadOptions options);

  // Stops the readers if Stop was not called.
  ~ReaderLoad();

  ReaderLoad(const ReaderLoad&) = delete;
  ReaderLoad& operator=(const ReaderLoad&) = delete;

  // Lets the readers call. Once.
  void Go();
  // Every call ended so far, by every reader (for tests waiting until the readers have made
  // some calls). Thread-safe.
  int64_t calls() const { return calls_.load(); }
  // Stops the readers after their call under way and returns what they saw. Once.
  ReaderLoadResult Stop();

 private:
  struct Reader;

  explicit ReaderLoad(ReaderLoadOptions options);
  void Run(Reader* reader);

  const ReaderLoadOptions options_;
  absl::Notification go_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> calls_{0};
  absl::Time started_;
  std::vector<std::unique_ptr<Reader>> readers_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace infrakit::tools::bench

#endif  // INFRAKIT_TOOLS_BENCH_READER_LOAD_H_
