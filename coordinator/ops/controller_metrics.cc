#include "coordinator/ops/controller_metrics.h"

namespace bdcoord::coordinator {

ControllerMetrics ControllerMetrics::Register(prometheus::Registry& registry) {
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
  };
}

}  // namespace bdcoord::coordinator
