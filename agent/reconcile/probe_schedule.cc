#include "agent/reconcile/probe_schedule.h"

#include <algorithm>

namespace bdcoord::agent {

absl::Duration RetryDelay(const ProbeTiming& timing, uint32_t failures) {
  absl::Duration delay = std::min(timing.first_retry, timing.interval);
  // Doubling stops at the interval: no overflow however many failures.
  for (uint32_t i = 1; i < failures && delay < timing.interval; ++i) delay *= 2;
  return std::min(delay, timing.interval);
}

AfterFailure AfterFailedCheck(const ProbeTiming& timing, absl::Time first_check, uint32_t failures,
                              absl::Time now) {
  const absl::Time deadline = first_check + timing.Grace();
  if (now >= deadline) return {.give_up = true, .next_check = now + timing.interval};
  return {.next_check = std::min(now + RetryDelay(timing, failures), deadline)};
}

}  // namespace bdcoord::agent
