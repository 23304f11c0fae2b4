#ifndef BDCOORD_COORDINATOR_GRPC_SERVICE_METRICS_H_
#define BDCOORD_COORDINATOR_GRPC_SERVICE_METRICS_H_

#include <string_view>

#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace bdcoord::coordinator {

// What the gRPC services show to Prometheus: how long the CLI's long calls take and how many
// streams are open.
struct ServiceMetrics {
  // bdcoord_apply_duration_seconds and bdcoord_scale_duration_seconds: from the call to its
  // progress being done (every service ready, or one failed); not observed for a refused call or
  // a client that left first.
  prometheus::Histogram& apply_duration;
  prometheus::Histogram& scale_duration;
  // bdcoord_streams_open{kind="agent"|"events"|"logs"}: agents' Connect streams, WatchEvents and
  // StreamLogs calls open now.
  prometheus::Family<prometheus::Gauge>& streams_open;

  prometheus::Gauge& Streams(std::string_view kind) const;

  static ServiceMetrics Register(prometheus::Registry& registry);
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_GRPC_SERVICE_METRICS_H_
