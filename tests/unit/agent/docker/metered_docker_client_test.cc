// The metered DockerClient: every call counted by endpoint and outcome, and timed.
#include "agent/docker/metered_docker_client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_docker_client.h"

namespace bdcoord::agent {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

// The family named `name` from the registry, or an empty one.
MetricFamily Family(prometheus::Registry& registry, const std::string& name) {
  for (MetricFamily& family : registry.Collect()) {
    if (family.name == name) return family;
  }
  return {};
}

// The metric of `family` whose labels are exactly `labels`, or nullptr.
const prometheus::ClientMetric* Find(const MetricFamily& family,
                                     const std::map<std::string, std::string>& labels) {
  for (const prometheus::ClientMetric& metric : family.metric) {
    std::map<std::string, std::string> its;
    for (const prometheus::ClientMetric::Label& label : metric.label) its[label.name] = label.value;
    if (its == labels) return &metric;
  }
  return nullptr;
}

double Calls(prometheus::Registry& registry, const std::string& endpoint,
             const std::string& outcome) {
  const MetricFamily family = Family(registry, "bdagent_docker_api_calls_total");
  const prometheus::ClientMetric* metric =
      Find(family, {{"endpoint", endpoint}, {"outcome", outcome}});
  return metric == nullptr ? 0 : metric->counter.value;
}

class MeteredDockerClientTest : public ::testing::Test {
 protected:
  prometheus::Registry registry_;
  testing::FakeDockerClient fake_;
  MeteredDockerClient docker_{&fake_, DockerMetrics::Register(registry_)};
};

TEST_F(MeteredDockerClientTest, CountsACallByEndpointAndPassesItsResultOn) {
  fake_.AddImage("busybox", "nobody");
  absl::StatusOr<ImageInfo> image = docker_.InspectImage("busybox");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->user, "nobody");
  EXPECT_TRUE(docker_.InspectImage("busybox").ok());
  EXPECT_EQ(Calls(registry_, "InspectImage", "ok"), 2);
  EXPECT_EQ(Calls(registry_, "InspectImage", "error"), 0);
  EXPECT_EQ(Family(registry_, "bdagent_docker_api_calls_total").help,
            "Docker Engine API calls by endpoint (the client's method) and outcome (ok or error)");
}

TEST_F(MeteredDockerClientTest, CountsAFailingCallAsAnError) {
  fake_.FailAll(absl::UnavailableError("no dockerd"));
  EXPECT_EQ(docker_.ListContainers({}).status(), absl::UnavailableError("no dockerd"));
  EXPECT_EQ(Calls(registry_, "ListContainers", "error"), 1);
  EXPECT_EQ(Calls(registry_, "ListContainers", "ok"), 0);
}

TEST_F(MeteredDockerClientTest, TimesCallsInAHistogramByEndpoint) {
  ASSERT_TRUE(docker_.ListNetworks({}).ok());
  const MetricFamily family = Family(registry_, "bdagent_docker_api_call_duration_seconds");
  EXPECT_EQ(family.type, MetricType::Histogram);
  const prometheus::ClientMetric* metric = Find(family, {{"endpoint", "ListNetworks"}});
  ASSERT_NE(metric, nullptr);
  EXPECT_EQ(metric->histogram.sample_count, 1u);
  EXPECT_GE(metric->histogram.sample_sum, 0);
  EXPECT_EQ(metric->histogram.bucket.back().cumulative_count, 1u);
}

}  // namespace
}  // namespace bdcoord::agent
