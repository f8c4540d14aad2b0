#include "plugins/instance/vagrant/docker_watcher.h"

#include <signal.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "plugins/instance/vagrant/vagrantfile.h"

namespace infrakit::plugins::instance::vagrant {

DockerWatcher::DockerWatcher(Options options, GoneCallback on_gone, ListingCallback on_listing)
    : options_(std::move(options)),
      on_gone_(std::move(on_gone)),
      on_listing_(std::move(on_listing)) {}

DockerWatcher::~DockerWatcher() { Stop(); }

void DockerWatcher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void DockerWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (events_ != nullptr) events_->Kill(SIGTERM);
  }
  if (thread_.joinable()) thread_.join();
}

void DockerWatcher::Run() {
  absl::Duration pause = options_.retry;
  for (;;) {
    const absl::Time started = absl::Now();
    const std::string said = Connect();
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    // A stream that lasted a while was a good connection: start the backoff over.
    if (absl::Now() - started > absl::Seconds(30)) pause = options_.retry;
    LOG(WARNING) << "instance-vagrant: `" << options_.docker << " events` ended; retrying in "
                 << pause << ": " << said;
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), pause)) return;
    pause = std::min(pause * 2, absl::Seconds(30));
  }
}

std::string DockerWatcher::Connect() {
  const std::vector<std::string> argv = {
      options_.docker,
      "events",
      "--filter",
      "type=container",
      "--filter",
      absl::StrCat("label=", kInstanceLabel),
      "--filter",
      "event=die",
      "--filter",
      "event=destroy",
      "--format",
      absl::StrCat("{{.Action}} {{index .Actor.Attributes \"", kInstanceLabel, "\"}}"),
  };
  absl::StatusOr<std::unique_ptr<Subprocess>> events = Subprocess::Start(argv, "", options_.env);
  if (!events.ok()) return events.status().ToString();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return "";
    events_ = events->get();
  }
  List();
  std::string line;
  std::string last;
  while ((*events)->ReadLine(&line)) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() == 2 && (words[0] == "die" || words[0] == "destroy")) {
      VLOG(1) << "instance-vagrant: container of " << words[1] << ": " << words[0];
      on_gone_(words[1]);
    } else {
      last = line;  // An error message, usually.
    }
  }
  {
    absl::MutexLock lock(&mu_);
    events_ = nullptr;
  }
  const int code = (*events)->Wait();
  return absl::StrCat("exit code ", code, last.empty() ? "" : ", ", last);
}

void DockerWatcher::List() {
  const absl::Time taken_at = absl::Now();
  absl::StatusOr<CommandResult> listed =
      RunCommand({options_.docker, "ps", "--all", "--no-trunc", "--filter",
                  absl::StrCat("label=", kInstanceLabel), "--format",
                  absl::StrCat("{{.Label \"", kInstanceLabel, "\"}} {{.State}}")},
                 "", options_.env);
  if (!listed.ok() || listed->exit_code != 0) {
    // Never taken for an empty listing: that would remove every instance.
    LOG(WARNING) << "instance-vagrant: cannot list containers: "
                 << (listed.ok() ? listed->output : listed.status().ToString());
    return;
  }
  absl::flat_hash_set<std::string> running;
  for (absl::string_view line : absl::StrSplit(listed->output, '\n', absl::SkipEmpty())) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() == 2 && words[1] == "running") running.insert(words[0]);
  }
  on_listing_(running, taken_at);
}

}  // namespace infrakit::plugins::instance::vagrant
