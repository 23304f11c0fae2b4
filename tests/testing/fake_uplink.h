#ifndef BDCOORD_TESTS_TESTING_FAKE_UPLINK_H_
#define BDCOORD_TESTS_TESTING_FAKE_UPLINK_H_

#include <functional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/uplink.h"

namespace bdcoord::agent::testing {

// A coordinator link that keeps what is sent; disconnected, it refuses everything.
class FakeUplink : public Uplink {
 public:
  void set_connected(bool connected) {
    absl::MutexLock lock(&mu_);
    connected_ = connected;
  }
  // Runs after every delivered status report, outside the lock (e.g. a desired state arriving
  // in the middle of a pass).
  void set_on_status(std::function<void(const bdcoord::v1::StatusReport&)> on_status) {
    on_status_ = std::move(on_status);
  }
  std::vector<bdcoord::v1::StatusReport> statuses() {
    absl::MutexLock lock(&mu_);
    return statuses_;
  }
  std::vector<bdcoord::v1::CommandResult> results() {
    absl::MutexLock lock(&mu_);
    return results_;
  }
  std::vector<bdcoord::v1::AgentLogChunk> chunks() {
    absl::MutexLock lock(&mu_);
    return chunks_;
  }

  bool SendStatus(const bdcoord::v1::StatusReport& report) override {
    {
      absl::MutexLock lock(&mu_);
      if (!connected_) return false;
      statuses_.push_back(report);
    }
    if (on_status_) on_status_(report);
    return true;
  }
  bool SendResult(const bdcoord::v1::CommandResult& result) override {
    absl::MutexLock lock(&mu_);
    if (connected_) results_.push_back(result);
    return connected_;
  }
  bool SendLogChunk(const bdcoord::v1::AgentLogChunk& chunk) override {
    absl::MutexLock lock(&mu_);
    if (connected_) chunks_.push_back(chunk);
    return connected_;
  }

 private:
  absl::Mutex mu_;
  bool connected_ = true;
  std::function<void(const bdcoord::v1::StatusReport&)> on_status_;
  std::vector<bdcoord::v1::StatusReport> statuses_;
  std::vector<bdcoord::v1::CommandResult> results_;
  std::vector<bdcoord::v1::AgentLogChunk> chunks_;
};

}  // namespace bdcoord::agent::testing

#endif  // BDCOORD_TESTS_TESTING_FAKE_UPLINK_H_
