// The metered Prober: every check counted by the probe's kind and result, and timed.
#include "agent/probes/metered_prober.h"

#include "gtest/gtest.h"
#include "tests/testing/fake_prober.h"
#include "tests/testing/metrics.h"

namespace bdcoord::agent {
namespace {

using test_util::MetricValue;

bdcoord::v1::Probe TcpProbe() {
  bdcoord::v1::Probe probe;
  probe.mutable_tcp()->set_port(2181);
  return probe;
}

bdcoord::v1::Probe ExecProbe() {
  bdcoord::v1::Probe probe;
  probe.mutable_exec()->add_command("true");
  return probe;
}

class MeteredProberTest : public ::testing::Test {
 protected:
  prometheus::Registry registry_;
  testing::FakeProber fake_;
  MeteredProber prober_{&fake_, registry_};
};

TEST_F(MeteredProberTest, CountsAReadyCheckByKindAndPassesItOn) {
  EXPECT_TRUE(
      prober_.Check(TcpProbe(), {.ip = "10.0.0.5", .container_id = "c1"}, absl::Seconds(1)).ok());
  ASSERT_EQ(fake_.checked().size(), 1u);
  EXPECT_EQ(fake_.checked()[0].ip, "10.0.0.5");
  EXPECT_EQ(
      MetricValue(registry_, "bdagent_probe_checks_total", {{"kind", "tcp"}, {"result", "ready"}}),
      1);
  EXPECT_EQ(MetricValue(registry_, "bdagent_probe_checks_total",
                        {{"kind", "tcp"}, {"result", "not_ready"}}),
            std::nullopt);
  EXPECT_EQ(MetricValue(registry_, "bdagent_probe_check_duration_seconds", {{"kind", "tcp"}}), 1);
}

TEST_F(MeteredProberTest, CountsAFailedCheckAsNotReadyAndReturnsItsReason) {
  fake_.set_result(absl::UnavailableError("connection refused"));
  EXPECT_EQ(prober_.Check(ExecProbe(), {}, absl::Seconds(1)),
            absl::UnavailableError("connection refused"));
  EXPECT_EQ(prober_.Check(ExecProbe(), {}, absl::Seconds(1)),
            absl::UnavailableError("connection refused"));
  EXPECT_EQ(MetricValue(registry_, "bdagent_probe_checks_total",
                        {{"kind", "exec"}, {"result", "not_ready"}}),
            2);
  EXPECT_EQ(MetricValue(registry_, "bdagent_probe_check_duration_seconds", {{"kind", "exec"}}), 2);
  EXPECT_EQ(MetricValue(registry_, "bdagent_probe_check_duration_seconds", {{"kind", "tcp"}}),
            std::nullopt);
}

}  // namespace
}  // namespace bdcoord::agent
