#ifndef BDCOORD_TESTS_TESTING_FAKE_CLOCK_H_
#define BDCOORD_TESTS_TESTING_FAKE_CLOCK_H_

#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace bdcoord::test_util {

// A clock that moves only when the test says so; AsFunction() is what constructors take.
class FakeClock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}

  absl::Time Now() const {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }
  std::function<absl::Time()> AsFunction() {
    return [this] { return Now(); };
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

// The system clock, for tests that run in real time (real dockerd, real sockets, probe retries
// that really wait): the product code takes its clock as a required argument.
inline std::function<absl::Time()> RealClock() {
  return [] { return absl::Now(); };
}

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_TESTING_FAKE_CLOCK_H_
