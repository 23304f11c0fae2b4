#ifndef BDCOORD_TESTS_TESTING_FAKE_ADDRESS_PROBER_H_
#define BDCOORD_TESTS_TESTING_FAKE_ADDRESS_PROBER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "net/arp_prober.h"

namespace bdcoord::net::testing {

// Answers for the addresses the test says answer (ip -> MAC), or the error set; keeps every
// call. With HoldUntilInFlight(n), each call waits (up to 5 s) until n calls are in flight at
// once, and counts those that had to give up waiting: calls made one after another would.
class FakeAddressProber final : public AddressProber {
 public:
  struct Call {
    std::string parent;
    std::vector<std::string> ips;
  };

  void SetAnswering(std::string ip, std::string mac) {
    absl::MutexLock lock(&mu_);
    answering_[std::move(ip)] = std::move(mac);
  }
  void ClearAnswering() {
    absl::MutexLock lock(&mu_);
    answering_.clear();
  }
  void SetError(absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
  }
  void HoldUntilInFlight(int calls) {
    absl::MutexLock lock(&mu_);
    hold_until_ = calls;
  }
  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int waited_alone() {
    absl::MutexLock lock(&mu_);
    return waited_alone_;
  }

  absl::StatusOr<std::map<std::string, std::string>> Answering(const std::string& parent,
                                                               const std::vector<std::string>& ips,
                                                               absl::Time) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back({parent, ips});
    auto enough = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return static_cast<int>(calls_.size()) >= hold_until_;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5))) ++waited_alone_;
    if (!error_.ok()) return error_;
    std::map<std::string, std::string> answered;
    for (const std::string& ip : ips) {
      if (auto it = answering_.find(ip); it != answering_.end()) answered.insert(*it);
    }
    return answered;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> answering_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  int hold_until_ ABSL_GUARDED_BY(mu_) = 0;
  int waited_alone_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace bdcoord::net::testing

#endif  // BDCOORD_TESTS_TESTING_FAKE_ADDRESS_PROBER_H_
