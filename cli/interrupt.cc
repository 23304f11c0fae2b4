#include "cli/interrupt.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace bdcoord::cli {
namespace {

absl::Mutex g_mu;
std::function<void()>* g_cancel ABSL_GUARDED_BY(g_mu) = nullptr;
std::atomic<bool> g_interrupted{false};

}  // namespace

void InstallInterruptHandler() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started later
  std::thread([signals] {
    while (true) {
      int signal_number = 0;
      if (sigwait(&signals, &signal_number) != 0) continue;
      g_interrupted = true;
      absl::MutexLock lock(&g_mu);
      if (g_cancel != nullptr) (*g_cancel)();
    }
  }).detach();
}

OnInterrupt::OnInterrupt(std::function<void()> cancel) {
  absl::MutexLock lock(&g_mu);
  g_cancel = new std::function<void()>(std::move(cancel));
  if (g_interrupted) (*g_cancel)();
}

OnInterrupt::~OnInterrupt() {
  absl::MutexLock lock(&g_mu);
  delete g_cancel;
  g_cancel = nullptr;
}

bool Interrupted() { return g_interrupted; }

}  // namespace bdcoord::cli
