// Signals for a process that runs gRPC: SIGINT and SIGTERM are blocked in every thread and
// taken by one thread with sigwait(), so that a handler may do ordinary work (cancel a call,
// stop the launcher) instead of only async-signal-safe calls.
#ifndef INFRAKIT_TOOLS_INFRAKITCTL_SIGNAL_THREAD_H_
#define INFRAKIT_TOOLS_INFRAKITCTL_SIGNAL_THREAD_H_

#include <functional>

namespace infrakit::tools::infrakitctl {

// Blocks SIGINT and SIGTERM in the calling thread (so in every thread started after it: call
// it first thing in main) and starts a thread that calls `on_signal(signo)` for each. The
// thread lives as long as the process. Child processes must unblock the signals themselves
// (the launcher does). Call once.
void StartSignalThread(std::function<void(int signo)> on_signal);

}  // namespace infrakit::tools::infrakitctl

#endif  // INFRAKIT_TOOLS_INFRAKITCTL_SIGNAL_THREAD_H_
