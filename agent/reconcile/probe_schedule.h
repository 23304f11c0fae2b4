#ifndef BDCOORD_AGENT_RECONCILE_PROBE_SCHEDULE_H_
#define BDCOORD_AGENT_RECONCILE_PROBE_SCHEDULE_H_

#include <cstdint>

#include "absl/time/time.h"

namespace bdcoord::agent {

// When a readiness probe runs again after a failed check, and when it gives up. Pure.
//
// The first check runs as soon as the container has started. After a failure the next check
// comes after a short backoff (first_retry, doubled per failure, at most the interval), so a
// service that is ready a moment after its start is seen within a fraction of a second rather
// than a whole interval later. The grace is a time, not a count: a run that is still not ready
// retries x interval after its first check is FAILED (`retries: 30, interval: 2s`: 60 s, as
// with checks a whole interval apart), however many quicker checks the backoff made meanwhile.
struct ProbeTiming {
  absl::Duration interval = absl::Seconds(2);  // the most between two checks
  uint32_t retries = 30;                       // x interval: the grace
  absl::Duration first_retry = absl::Milliseconds(100);

  absl::Duration Grace() const { return interval * static_cast<int64_t>(retries); }
};

// The wait after the `failures`-th failed check of a run (failures >= 1).
absl::Duration RetryDelay(const ProbeTiming& timing, uint32_t failures);

struct AfterFailure {
  bool give_up = false;  // the run is FAILED (it is still checked, at the interval: a late
                         // success makes it ready)
  absl::Time next_check;
};

// After the `failures`-th failed check at `now` of a run first checked at `first_check`: give up
// once the grace is over, else the next check after the backoff, but no later than the end of
// the grace (so the last check falls on it).
AfterFailure AfterFailedCheck(const ProbeTiming& timing, absl::Time first_check, uint32_t failures,
                              absl::Time now);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_RECONCILE_PROBE_SCHEDULE_H_
