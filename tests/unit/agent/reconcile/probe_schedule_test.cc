// The readiness probe's retry schedule: a short doubling backoff up to the interval, and a grace
// of retries x interval from the first check, whatever the backoff did meanwhile.
#include "agent/reconcile/probe_schedule.h"

#include <gtest/gtest.h>

namespace bdcoord::agent {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(ProbeScheduleTest, RetriesDoubleFromAShortDelayUpToTheInterval) {
  const ProbeTiming timing{.interval = absl::Seconds(2), .retries = 30};
  EXPECT_EQ(RetryDelay(timing, 1), absl::Milliseconds(100));
  EXPECT_EQ(RetryDelay(timing, 2), absl::Milliseconds(200));
  EXPECT_EQ(RetryDelay(timing, 3), absl::Milliseconds(400));
  EXPECT_EQ(RetryDelay(timing, 4), absl::Milliseconds(800));
  EXPECT_EQ(RetryDelay(timing, 5), absl::Milliseconds(1600));
  EXPECT_EQ(RetryDelay(timing, 6), absl::Seconds(2));
  EXPECT_EQ(RetryDelay(timing, 4000000000u), absl::Seconds(2)) << "no overflow";
}

TEST(ProbeScheduleTest, AnIntervalShorterThanTheFirstRetryIsTheDelay) {
  const ProbeTiming timing{.interval = absl::Milliseconds(50), .retries = 3};
  EXPECT_EQ(RetryDelay(timing, 1), absl::Milliseconds(50));
  EXPECT_EQ(RetryDelay(timing, 7), absl::Milliseconds(50));
}

// `retries: 30, interval: 2s` meant about 60 s of grace with checks 2 s apart; the backoff's
// quicker checks must not use it up.
TEST(ProbeScheduleTest, TheGraceIsRetriesTimesTheIntervalFromTheFirstCheck) {
  const ProbeTiming timing{.interval = absl::Seconds(2), .retries = 30};
  EXPECT_EQ(timing.Grace(), absl::Seconds(60));
  absl::Time now = kStart;
  uint32_t failures = 0;
  AfterFailure after;
  while (true) {
    after = AfterFailedCheck(timing, kStart, ++failures, now);
    if (after.give_up) break;
    ASSERT_GT(after.next_check, now);
    now = after.next_check;
  }
  EXPECT_EQ(now, kStart + absl::Seconds(60)) << "the last check falls on the end of the grace";
  // At 0, 0.1, 0.3, 0.7, 1.5 and 3.1 s, then 2 s apart up to 59.1 s, and the one at 60 s.
  EXPECT_EQ(failures, 6u + 28u + 1u);
}

TEST(ProbeScheduleTest, TheLastRetryIsNotPushedPastTheGrace) {
  const ProbeTiming timing{.interval = absl::Seconds(2), .retries = 3};
  const AfterFailure after = AfterFailedCheck(timing, kStart, 9, kStart + absl::Milliseconds(5500));
  EXPECT_FALSE(after.give_up);
  EXPECT_EQ(after.next_check, kStart + absl::Seconds(6));
  EXPECT_TRUE(AfterFailedCheck(timing, kStart, 10, kStart + absl::Seconds(6)).give_up);
}

TEST(ProbeScheduleTest, ACheckLateAfterTheGraceGivesUpAtOnce) {
  const ProbeTiming timing{.interval = absl::Seconds(1), .retries = 2};
  const AfterFailure after = AfterFailedCheck(timing, kStart, 1, kStart + absl::Seconds(30));
  EXPECT_TRUE(after.give_up);
  EXPECT_EQ(after.next_check, kStart + absl::Seconds(31)) << "still checked, at the interval";
}

}  // namespace
}  // namespace bdcoord::agent
