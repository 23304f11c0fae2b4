#ifndef BDCOORD_CLI_INTERRUPT_H_
#define BDCOORD_CLI_INTERRUPT_H_

#include <functional>

namespace bdcoord::cli {

// Ctrl-C (SIGINT) and SIGTERM for streaming commands (`logs -f`, `events`): the signal is taken by
// a thread (sigwait) that cancels the current call; the command then ends cleanly with exit 0.
// InstallInterruptHandler runs once in main, before any other thread exists (gRPC's included).
void InstallInterruptHandler();

// While alive, an interrupt runs `cancel` (at once when one already came). Only one at a time.
class OnInterrupt {
 public:
  explicit OnInterrupt(std::function<void()> cancel);
  ~OnInterrupt();
  OnInterrupt(const OnInterrupt&) = delete;
  OnInterrupt& operator=(const OnInterrupt&) = delete;
};

// Whether SIGINT/SIGTERM came.
bool Interrupted();

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_INTERRUPT_H_
