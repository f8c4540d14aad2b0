// What a verb's handler works with: its parsed command line, the streams, the resolved global
// settings, and the helpers every verb shares (reading FILE or stdin, dialling a plugin by name,
// turning a failed call into "infrakitctl: ..." and an exit code, Ctrl-C).
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_COMMAND_CONTEXT_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_COMMAND_CONTEXT_H_

#include <grpcpp/channel.h>

#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "tools/infrakitctl/command_line.h"

namespace infrakit::tools::infrakitctl {

enum class OutputFormat { kTable, kJson };

// The process's streams. Not owned; they must outlive the Cli.
struct CliIo {
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool in_is_terminal = false;   // stdin is a terminal (reading a config from it: say so)
  bool out_is_terminal = false;  // stdout is a terminal (update progress: one live line)
};

// Facts about the process that tests replace.
struct CliEnvironment {
  std::string self_exe;  // this executable (plugin start looks for plugin binaries beside it)
  std::string path;      // $PATH (plugin start's last resort)
  std::string home;      // the InfraKit home (plugin start's default log dir is <home>/logs)
};

// Routes SIGINT / SIGTERM to the command that is running, if it wants them (an update or an
// event stream stops listening, the launcher stops its plugins). Thread-safe.
class Interrupts {
 public:
  using Handler = std::function<void(int signo)>;

  // Unregisters its handler when destroyed (waiting for a call of it in progress).
  class Scope {
   public:
    Scope(Scope&& other) noexcept;
    Scope& operator=(Scope&&) = delete;
    ~Scope();

   private:
    friend class Interrupts;
    explicit Scope(Interrupts* owner) : owner_(owner) {}
    Interrupts* owner_;
  };

  // Makes `handler` receive signals until the returned scope is destroyed. One handler at a
  // time: a newer one replaces an older one.
  Scope Handle(Handler handler);

  // Calls the current handler with `signo` and returns true, or returns false when there is
  // none (the caller then exits the process). The handler runs under this object's lock: it
  // must be quick and must not call Handle / Deliver.
  bool Deliver(int signo);

 private:
  absl::Mutex mu_;
  Handler handler_ ABSL_GUARDED_BY(mu_);
};

// Not thread-safe: used by the one thread running the command (except interrupts()).
class CommandContext {
 public:
  struct Settings {
    std::string plugins_dir;  // resolved: --plugins-dir, $INFRAKIT_PLUGINS_DIR, ...
    OutputFormat output = OutputFormat::kTable;
    absl::Duration timeout;  // --timeout: the deadline of each unary call
  };

  CommandContext(const CommandTable* table, const ParsedCommand* parsed, const CliIo& io,
                 const CliEnvironment* env, Interrupts* interrupts, Settings settings);

  const CommandTable& table() const { return *table_; }
  const CommandSpec& command() const { return *parsed_->command; }
  const FlagValues& flags() const { return parsed_->flags; }
  const std::vector<std::string>& args() const { return parsed_->args; }
  // The i-th argument, or "" when there are fewer.
  std::string arg(size_t i) const;
  std::istream& in() { return *io_.in; }
  std::ostream& out() { return *io_.out; }
  std::ostream& err() { return *io_.err; }
  bool out_is_terminal() const { return io_.out_is_terminal; }
  const CliEnvironment& env() const { return *env_; }
  Interrupts& interrupts() { return *interrupts_; }
  const std::string& plugins_dir() const { return settings_.plugins_dir; }
  bool json() const { return settings_.output == OutputFormat::kJson; }
  absl::Duration timeout() const { return settings_.timeout; }

  // Prints "infrakitctl: <status message>" to stderr; returns ExitCodeFor(status).
  int Fail(const absl::Status& status);
  // Prints "infrakitctl: <message>" to stderr; returns `exit_code`.
  int Fail(int exit_code, absl::string_view message);
  // Prints "infrakitctl: <message>; see '<command> --help'"; returns kExitUsage.
  int UsageError(absl::string_view message);

  // The text of the input `arg` names: stdin for "" or "-", else the file. `*source` is set to
  // what to call it in messages ("<stdin>" or the path). Errors: INVALID_ARGUMENT "cannot read
  // PATH: <errno text>".
  absl::StatusOr<std::string> ReadInput(absl::string_view arg, std::string* source);

  // A channel to the live plugin `name` in the plugins directory. Errors: NOT_FOUND "no plugin
  // named X in DIR" and UNAVAILABLE "plugin X at SOCK does not answer", each with what to do.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(absl::string_view name);

  // A typed client (client::InstanceClient, client::FlavorClient, ...) of the plugin named by
  // --name, else `default_plugin`, with the --timeout as its deadline. Errors: Dial's.
  template <typename Client>
  struct PluginTarget {
    std::string plugin;
    std::unique_ptr<Client> client;
  };
  template <typename Client>
  absl::StatusOr<PluginTarget<Client>> Connect(absl::string_view default_plugin) {
    PluginTarget<Client> target;
    target.plugin = flags().Get("name", std::string(default_plugin));
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Dial(target.plugin);
    if (!channel.ok()) return channel.status();
    target.client = std::make_unique<Client>(*std::move(channel), timeout());
    return target;
  }

  // Reads the message the first argument names (a file; stdin for none or "-") as lenient JSON
  // or YAML (lenient_json.h; YAML for a .yaml / .yml file, JSON for .json, else by the text)
  // into `message`. On failure prints why and returns false with *exit_code
  // set: kExitUsage when the input cannot be read, kExitFailure when it does not parse.
  bool ReadMessageArg(google::protobuf::Message* message, int* exit_code);

  // A failed call to plugin `plugin` (serving `service`, e.g. "infrakit.group.v1.GroupService")
  // as the user should read it: the plugin's message, with what to do for UNAVAILABLE,
  // DEADLINE_EXCEEDED (the --timeout) and UNIMPLEMENTED (a plugin of another kind). The code
  // is kept, so ExitCodeFor still applies.
  absl::Status Explain(const absl::Status& status, absl::string_view plugin,
                       absl::string_view service) const;

  // Prints the message as protobuf JSON (output.h ToJson).
  void PrintJson(const google::protobuf::Message& message);

 private:
  const CommandTable* table_;
  const ParsedCommand* parsed_;
  CliIo io_;
  const CliEnvironment* env_;
  Interrupts* interrupts_;
  Settings settings_;
};

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_COMMAND_CONTEXT_H_
