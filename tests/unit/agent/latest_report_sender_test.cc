#include "agent/latest_report_sender.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/synchronization/notification.h"

namespace bdcoord::agent {
namespace {

bdcoord::v1::StatusReport Report(uint64_t generation) {
  bdcoord::v1::StatusReport report;
  report.set_cluster("a");
  report.set_generation(generation);
  return report;
}

// While the coordinator is slow to take a report, the offers never wait, and only the latest of
// those made meanwhile goes next; what is pending at the end is sent before the sender goes.
TEST(LatestReportSenderTest, OffersNeverWaitAndTheLatestWins) {
  absl::Notification first_taken, release;
  std::vector<uint64_t> sent;
  {
    LatestReportSender sender([&](const bdcoord::v1::StatusReport& report) {
      sent.push_back(report.generation());
      if (report.generation() == 1) {
        first_taken.Notify();
        release.WaitForNotification();  // a coordinator that does not read
      }
    });
    sender.Offer(Report(1));
    first_taken.WaitForNotification();
    sender.Offer(Report(2));  // returns at once although the send of 1 is stuck
    sender.Offer(Report(3));
    release.Notify();
  }
  EXPECT_EQ(sent, (std::vector<uint64_t>{1, 3}));
}

TEST(LatestReportSenderTest, NothingOfferedNothingSent) {
  int sends = 0;
  {
    LatestReportSender sender([&](const auto&) { ++sends; });
  }
  EXPECT_EQ(sends, 0);
}

}  // namespace
}  // namespace bdcoord::agent
