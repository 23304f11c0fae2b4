#ifndef BDCOORD_COORDINATOR_OPS_CONTROLLER_METRICS_H_
#define BDCOORD_COORDINATOR_OPS_CONTROLLER_METRICS_H_

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace bdcoord::coordinator {

// What the controller's passes and sends, and ClusterOps's placements, show to Prometheus.
struct ControllerMetrics {
  // bdcoord_hosts{state="connected"|"down"|"drained"}: the inventory's hosts up or not (down:
  // disconnected or missing heartbeats), and those an operator drained (up or not).
  prometheus::Family<prometheus::Gauge>& hosts;
  // bdcoord_instances{cluster, service, state}: placed instances by their last reported state
  // ("pending" before any report).
  prometheus::Family<prometheus::Gauge>& instances;
  // bdcoord_desired_states_sent_total and bdcoord_desired_state_sent_bytes_total: desired
  // states sent to agents and their size on the wire.
  prometheus::Counter& desired_states_sent;
  prometheus::Counter& desired_state_bytes;
  // bdcoord_rollout_duration_seconds{outcome="done"|"halted"}: from a rolling update's start to
  // its end (observed once, when the controller records it).
  prometheus::Histogram& rollout_done;
  prometheus::Histogram& rollout_halted;
  // bdcoord_placement_duration_seconds: one placement of a cluster (apply, scale, drain,
  // reschedule, a dry-run `place`), from the loaded spec to the plan.
  prometheus::Histogram& placement_duration;

  static ControllerMetrics Register(prometheus::Registry& registry);
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_OPS_CONTROLLER_METRICS_H_
