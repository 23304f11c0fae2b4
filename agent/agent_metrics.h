#ifndef BDCOORD_AGENT_AGENT_METRICS_H_
#define BDCOORD_AGENT_AGENT_METRICS_H_

#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace bdcoord::agent {

// What the agent's passes and its coordinator link show to Prometheus (the Docker calls' own
// metrics are DockerMetrics, agent/docker/metered_docker_client.h).
struct AgentMetrics {
  // bdagent_reconcile_pass_duration_seconds: one sample per pass over every cluster.
  prometheus::Histogram& pass_duration;
  // bdagent_instances{cluster, state}: the desired instances by the state the last pass found.
  prometheus::Family<prometheus::Gauge>& instances;
  // bdagent_coordinator_connected: 1 while the stream to the coordinator is up, else 0.
  prometheus::Gauge& coordinator_connected;

  static AgentMetrics Register(prometheus::Registry& registry);
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_AGENT_METRICS_H_
