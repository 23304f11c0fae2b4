// The bounds on status reports and replies (README, "Limits"): texts cut at character
// boundaries, reports and replies trimmed under their caps, small ones left alone.
#include "proto/rpc/status_limits.h"

#include <gtest/gtest.h>

#include <string>

namespace bdcoord::rpc {
namespace {

std::string Accents(size_t n) {  // n two-byte characters
  std::string text;
  for (size_t i = 0; i < n; ++i) text += "\xc3\xa9";
  return text;
}

TEST(StatusLimitsTest, CutUtf8KeepsCharactersWhole) {
  EXPECT_EQ(CutUtf8("short", 10), "short");
  EXPECT_EQ(CutUtf8("abcdefghij", 8), "abcde...");
  // 5 bytes and "..." would cut the third é: back off to 2 characters.
  EXPECT_EQ(CutUtf8(Accents(10), 8), "\xc3\xa9\xc3\xa9...");
  EXPECT_EQ(CutUtf8("abcdef", 2), "");
}

TEST(StatusLimitsTest, AMessageAndLogLinesAreAtMost4KiB) {
  bdcoord::v1::InstanceStatus status;
  status.set_message(Accents(10000));
  status.add_last_log_lines(std::string(100000, 'x'));
  status.add_last_log_lines("fine");
  BoundInstanceStatus(&status);
  EXPECT_LE(status.message().size(), kMaxStatusTextBytes);
  EXPECT_GE(status.message().size(), kMaxStatusTextBytes - 4);
  EXPECT_EQ(status.message().substr(status.message().size() - 3), "...");
  EXPECT_EQ((status.message().size() - 3) % 2, 0u) << "a character cut in half";
  EXPECT_EQ(status.last_log_lines(0).size(), kMaxStatusTextBytes);
  EXPECT_EQ(status.last_log_lines(1), "fine");
}

TEST(StatusLimitsTest, AReportStaysUnder4MiB) {
  // 500 failing instances, each with 50 lines of 4 KiB: 100 MB before.
  bdcoord::v1::StatusReport report;
  report.set_cluster("c");
  for (int i = 0; i < 500; ++i) {
    bdcoord::v1::InstanceStatus* status = report.add_instances();
    status->set_name("i" + std::to_string(i));
    status->set_message(std::string(4000, 'm'));
    for (int l = 0; l < 50; ++l) status->add_last_log_lines(std::string(4096, 'l'));
  }
  BoundStatusReport(&report);
  EXPECT_LT(report.ByteSizeLong(), kMaxStatusReportBytes);
  EXPECT_EQ(report.instances_size(), 500);  // every instance is still reported
  // The first ones keep their logs: trimming starts from the last.
  EXPECT_EQ(report.instances(0).last_log_lines_size(), 50);
  EXPECT_EQ(report.instances(499).last_log_lines_size(), 0);
  EXPECT_EQ(report.instances(499).message().size(), 4000u);  // logs go first
  EXPECT_EQ(report.instances(499).name(), "i499");
}

TEST(StatusLimitsTest, ASmallReportIsLeftAlone) {
  bdcoord::v1::StatusReport report;
  bdcoord::v1::InstanceStatus* status = report.add_instances();
  status->set_message("exited with code 1");
  status->add_last_log_lines("boom");
  const std::string before = report.SerializeAsString();
  BoundStatusReport(&report);
  EXPECT_EQ(report.SerializeAsString(), before);
}

TEST(StatusLimitsTest, RepliesAreTrimmedPast8MiB) {
  bdcoord::v1::GetStatusResponse reply;
  for (int c = 0; c < 3; ++c) {
    bdcoord::v1::ClusterStatus* cluster = reply.add_clusters();
    for (int i = 0; i < 1000; ++i) {
      bdcoord::v1::InstanceStatus* status = cluster->add_instances()->mutable_status();
      status->set_message(std::string(4096, 'm'));
      for (int l = 0; l < 5; ++l) status->add_last_log_lines(std::string(4096, 'l'));
    }
  }
  ASSERT_GT(reply.ByteSizeLong(), kMaxStatusReplyBytes);
  TrimStatusReply(&reply);
  EXPECT_LT(reply.ByteSizeLong(), kMaxStatusReplyBytes);
  // Without their logs 3000 messages of 4 KiB are still 12 MB: the last ones are cut too.
  EXPECT_EQ(reply.clusters(0).instances(0).status().message().size(), 4096u);
  EXPECT_EQ(reply.clusters(2).instances(999).status().message().size(), kTrimmedMessageBytes);

  bdcoord::v1::ApplyProgress progress;
  for (int i = 0; i < 3000; ++i) {
    bdcoord::v1::InstanceStatus* failure = progress.add_failures();
    failure->set_message(std::string(4096, 'm'));
    failure->add_last_log_lines(std::string(4096, 'l'));
  }
  TrimProgress(&progress);
  EXPECT_LT(progress.ByteSizeLong(), kMaxStatusReplyBytes);
  EXPECT_EQ(progress.failures_size(), 3000);
}

}  // namespace
}  // namespace bdcoord::rpc
