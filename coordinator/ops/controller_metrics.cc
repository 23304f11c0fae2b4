#include "coordinator/ops/controller_metrics.h"

namespace bdcoord::coordinator {

ControllerMetrics ControllerMetrics::Register(prometheus::Registry& registry) {
  // A rolling update takes minutes to hours (min_healthy per instance); a placement of 20,000
  // instances about a second.
  static const prometheus::Histogram::BucketBoundaries kRolloutBuckets = {
      10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400};
  static const prometheus::Histogram::BucketBoundaries kPlacementBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  auto& rollouts = prometheus::BuildHistogram()
                       .Name("bdcoord_rollout_duration_seconds")
                       .Help(
                           "From a rolling update's start to its end, by outcome: done or "
                           "halted (a step failed)")
                       .Register(registry);
  return ControllerMetrics{
      .hosts = prometheus::BuildGauge()
                   .Name("bdcoord_hosts")
                   .Help("Hosts of the inventory by state: connected, down (disconnected or "
                         "missing heartbeats), drained (by an operator, up or not)")
                   .Register(registry),
      .instances = prometheus::BuildGauge()
                       .Name("bdcoord_instances")
                       .Help("Placed instances by cluster, service and last reported state "
                             "(pending before any report), from the controller's last pass")
                       .Register(registry),
      .desired_states_sent = prometheus::BuildCounter()
                                 .Name("bdcoord_desired_states_sent_total")
                                 .Help("Desired states sent to agents")
                                 .Register(registry)
                                 .Add({}),
      .desired_state_bytes = prometheus::BuildCounter()
                                 .Name("bdcoord_desired_state_sent_bytes_total")
                                 .Help("Bytes of the desired states sent to agents (serialized)")
                                 .Register(registry)
                                 .Add({}),
      .rollout_done = rollouts.Add({{"outcome", "done"}}, kRolloutBuckets),
      .rollout_halted = rollouts.Add({{"outcome", "halted"}}, kRolloutBuckets),
      .placement_duration = prometheus::BuildHistogram()
                                .Name("bdcoord_placement_duration_seconds")
                                .Help("One placement of a cluster (apply, scale, drain, "
                                      "reschedule, place), from the loaded spec to the plan")
                                .Register(registry)
                                .Add({}, kPlacementBuckets),
  };
}

}  // namespace bdcoord::coordinator
