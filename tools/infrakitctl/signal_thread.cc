#include "tools/infrakitctl/signal_thread.h"

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace infrakit::tools::infrakitctl {

void StartSignalThread(std::function<void(int signo)> on_signal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // Detached on purpose: it waits in sigwait() for the whole life of the process, and the
  // process exits through main() or the handler, never by joining it.
  std::thread([set, on_signal = std::move(on_signal)] {
    while (true) {
      int signo = 0;
      if (sigwait(&set, &signo) == 0) on_signal(signo);
    }
  }).detach();
}

}  // namespace infrakit::tools::infrakitctl
