#ifndef BDCOORD_TESTS_INTEGRATION_WAIT_FOR_H_
#define BDCOORD_TESTS_INTEGRATION_WAIT_FOR_H_

#include <algorithm>
#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace bdcoord::test_util {

// Polls `condition` until it holds or `timeout` passes (integration tests wait on conditions with
// deadlines, never fixed sleeps). Polls fast at first, then every 100 ms.
inline bool WaitFor(const std::function<bool()>& condition,
                    absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(10);
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
  return condition();
}

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_INTEGRATION_WAIT_FOR_H_
