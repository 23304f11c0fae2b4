#include "agent/latest_report_sender.h"

#include <utility>

namespace bdcoord::agent {

LatestReportSender::LatestReportSender(std::function<void(const bdcoord::v1::StatusReport&)> send)
    : send_(std::move(send)) {}

LatestReportSender::~LatestReportSender() {
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void LatestReportSender::Offer(bdcoord::v1::StatusReport report) {
  absl::MutexLock lock(&mu_);
  pending_ = std::move(report);
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

void LatestReportSender::Run() {
  for (;;) {
    std::optional<bdcoord::v1::StatusReport> report;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](LatestReportSender* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->pending_.has_value() || self->done_;
          },
          this));
      if (!pending_.has_value()) return;  // done, nothing left
      report = std::exchange(pending_, std::nullopt);
    }
    send_(*report);
  }
}

}  // namespace bdcoord::agent
