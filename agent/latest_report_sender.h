#ifndef BDCOORD_AGENT_LATEST_REPORT_SENDER_H_
#define BDCOORD_AGENT_LATEST_REPORT_SENDER_H_

#include <functional>
#include <optional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::agent {

// Sends a pass's reports as it goes, on a thread of its own, the latest only: a worker with news
// never waits for the coordinator (a busy coordinator would otherwise hold up the containers),
// and a report that a newer one made stale is dropped (each report is whole).
class LatestReportSender {
 public:
  explicit LatestReportSender(std::function<void(const bdcoord::v1::StatusReport&)> send);
  // Sends what is still pending, then ends the thread.
  ~LatestReportSender();
  LatestReportSender(const LatestReportSender&) = delete;
  LatestReportSender& operator=(const LatestReportSender&) = delete;

  void Offer(bdcoord::v1::StatusReport report);

 private:
  void Run();

  const std::function<void(const bdcoord::v1::StatusReport&)> send_;
  absl::Mutex mu_;
  std::optional<bdcoord::v1::StatusReport> pending_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started by the first Offer
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_LATEST_REPORT_SENDER_H_
