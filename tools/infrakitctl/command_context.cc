#include "tools/infrakitctl/command_context.h"

#include <errno.h>
#include <string.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/discovery/discovery.h"
#include "common/config_text.h"
#include "tools/infrakitctl/exit_codes.h"
#include "tools/infrakitctl/lenient_json.h"
#include "tools/infrakitctl/output.h"
#include "tools/infrakitctl/plugin_binaries.h"

namespace infrakit::tools::infrakitctl {

Interrupts::Scope::Scope(Scope&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }

Interrupts::Scope::~Scope() {
  if (owner_ == nullptr) return;
  absl::MutexLock lock(&owner_->mu_);
  owner_->handler_ = nullptr;
}

Interrupts::Scope Interrupts::Handle(Handler handler) {
  absl::MutexLock lock(&mu_);
  handler_ = std::move(handler);
  return Scope(this);
}

bool Interrupts::Deliver(int signo) {
  absl::MutexLock lock(&mu_);
  if (!handler_) return false;
  handler_(signo);
  return true;
}

CommandContext::CommandContext(const CommandTable* table, const ParsedCommand* parsed,
                               const CliIo& io, const CliEnvironment* env, Interrupts* interrupts,
                               Settings settings)
    : table_(table),
      parsed_(parsed),
      io_(io),
      env_(env),
      interrupts_(interrupts),
      settings_(std::move(settings)) {}

std::string CommandContext::arg(size_t i) const {
  return i < parsed_->args.size() ? parsed_->args[i] : std::string();
}

int CommandContext::Fail(const absl::Status& status) {
  err() << "infrakitctl: " << status.message() << std::endl;
  return ExitCodeFor(status);
}

int CommandContext::Fail(int exit_code, absl::string_view message) {
  err() << "infrakitctl: " << message << std::endl;
  return exit_code;
}

int CommandContext::UsageError(absl::string_view message) {
  err() << "infrakitctl: " << message << "; see '" << table_->FullName(command()) << " --help'"
        << std::endl;
  return kExitUsage;
}

absl::StatusOr<std::string> CommandContext::ReadInput(absl::string_view arg, std::string* source) {
  if (arg.empty() || arg == "-") {
    *source = "<stdin>";
    if (io_.in_is_terminal) {
      err() << "(reading from the terminal: end with Ctrl-D)" << std::endl;
    }
    std::ostringstream text;
    text << in().rdbuf();
    return text.str();
  }
  *source = std::string(arg);
  std::ifstream file{std::string(arg), std::ios::binary};
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", arg, ": ", strerror(errno)));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", arg, ": ", strerror(errno)));
  }
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CommandContext::Dial(absl::string_view name) {
  absl::StatusOr<std::string> socket = client::discovery::Find(plugins_dir(), name);
  if (!socket.ok()) {
    const std::string start_hint =
        FindBundledPlugin(name) != nullptr
            ? absl::StrCat("start it with 'infrakitctl plugin start ", name, "'")
            : std::string("start it");
    switch (socket.status().code()) {
      case absl::StatusCode::kNotFound:
        return absl::NotFoundError(absl::StrCat(
            socket.status().message(), "; ", start_hint,
            ", or point --plugins-dir (or $INFRAKIT_PLUGINS_DIR) at the directory it listens in; "
            "'infrakitctl plugin ls' lists the plugins there"));
      case absl::StatusCode::kUnavailable:
        return absl::UnavailableError(absl::StrCat(
            socket.status().message(), ": it has stopped or crashed; ", start_hint, " again"));
      default:
        return socket.status();
    }
  }
  return client::discovery::MakePluginChannel(*socket);
}

absl::Status CommandContext::Explain(const absl::Status& status, absl::string_view plugin,
                                     absl::string_view service) const {
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return absl::Status(status.code(),
                          absl::StrCat("plugin ", plugin, " did not answer within ",
                                       absl::FormatDuration(timeout()),
                                       " (raise --timeout if it is busy): ", status.message()));
    case absl::StatusCode::kUnimplemented:
      return absl::Status(
          status.code(),
          absl::StrCat("plugin ", plugin, " does not serve ", service,
                       "; name a plugin of the right kind with --name ('infrakitctl plugin ls "
                       "--long' shows each plugin's kind)"));
    case absl::StatusCode::kUnavailable:
      // The plugin's own UNAVAILABLE names the plugin it waits for; gRPC's does not name any.
      if (absl::StrContains(status.message(), "plugin")) return status;
      return absl::Status(status.code(),
                          absl::StrCat("plugin ", plugin, " is not answering: ", status.message()));
    default:
      return status;
  }
}

void CommandContext::PrintJson(const google::protobuf::Message& message) {
  out() << ToJson(message) << std::flush;
}

bool CommandContext::ReadMessageArg(google::protobuf::Message* message, int* exit_code) {
  std::string source;
  absl::StatusOr<std::string> text = ReadInput(arg(0), &source);
  if (!text.ok()) {
    *exit_code = Fail(kExitUsage, text.status().message());
    return false;
  }
  if (absl::Status s = ParseLenientJson(*text, message, common::FormatForPath(arg(0))); !s.ok()) {
    *exit_code = Fail(kExitFailure, absl::StrCat(source, ": ", s.message()));
    return false;
  }
  return true;
}

}  // namespace infrakit::tools::infrakitctl
