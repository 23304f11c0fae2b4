#include "agent/agent_metrics.h"

namespace bdcoord::agent {

AgentMetrics AgentMetrics::Register(prometheus::Registry& registry) {
  // A pass takes milliseconds when nothing changes and up to minutes when it pulls up a host.
  static const prometheus::Histogram::BucketBoundaries kPassBuckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return AgentMetrics{
      .pass_duration = prometheus::BuildHistogram()
                           .Name("bdagent_reconcile_pass_duration_seconds")
                           .Help("How long a reconcile pass over every cluster of this host took")
                           .Register(registry)
                           .Add({}, kPassBuckets),
      .instances = prometheus::BuildGauge()
                       .Name("bdagent_instances")
                       .Help("This host's desired instances by cluster and the state the last "
                             "reconcile pass found")
                       .Register(registry),
      .coordinator_connected = prometheus::BuildGauge()
                                   .Name("bdagent_coordinator_connected")
                                   .Help("1 while the stream to the coordinator is connected, "
                                         "else 0")
                                   .Register(registry)
                                   .Add({}),
  };
}

}  // namespace bdcoord::agent
