#ifndef BDCOORD_TESTS_TESTING_FAKE_PROBER_H_
#define BDCOORD_TESTS_TESTING_FAKE_PROBER_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/probes/prober.h"

namespace bdcoord::agent::testing {

// Answers every check with the status set (OK unless set) and keeps what was checked.
class FakeProber : public Prober {
 public:
  void set_result(absl::Status result) {
    absl::MutexLock lock(&mu_);
    result_ = std::move(result);
  }
  std::vector<ProbeTarget> checked() {
    absl::MutexLock lock(&mu_);
    return checked_;
  }

  absl::Status Check(const bdcoord::v1::Probe&, const ProbeTarget& target,
                     absl::Duration) override {
    absl::MutexLock lock(&mu_);
    checked_.push_back(target);
    return result_;
  }

 private:
  absl::Mutex mu_;
  absl::Status result_;
  std::vector<ProbeTarget> checked_;
};

}  // namespace bdcoord::agent::testing

#endif  // BDCOORD_TESTS_TESTING_FAKE_PROBER_H_
