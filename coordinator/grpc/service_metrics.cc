#include "coordinator/grpc/service_metrics.h"

#include <string>

namespace bdcoord::coordinator {

namespace {

// From a no-op re-apply (milliseconds) to a large cluster pulled up from nothing (minutes).
const prometheus::Histogram::BucketBoundaries& CallBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.1, 0.25, 0.5, 1,   2.5, 5,
                                                                   10,  30,   60,  120, 300, 600};
  return kBuckets;
}

}  // namespace

prometheus::Gauge& ServiceMetrics::Streams(std::string_view kind) const {
  return streams_open.Add({{"kind", std::string(kind)}});
}

ServiceMetrics ServiceMetrics::Register(prometheus::Registry& registry) {
  ServiceMetrics metrics{
      .apply_duration =
          prometheus::BuildHistogram()
              .Name("bdcoord_apply_duration_seconds")
              .Help("From an Apply call to its progress being done (every service ready, or one "
                    "failed)")
              .Register(registry)
              .Add({}, CallBuckets()),
      .scale_duration =
          prometheus::BuildHistogram()
              .Name("bdcoord_scale_duration_seconds")
              .Help("From a Scale call to its progress being done (every service ready, or one "
                    "failed)")
              .Register(registry)
              .Add({}, CallBuckets()),
      .streams_open = prometheus::BuildGauge()
                          .Name("bdcoord_streams_open")
                          .Help("Streams open now by kind: agent (agents' Connect), events "
                                "(WatchEvents), logs (StreamLogs)")
                          .Register(registry),
  };
  // Every kind from the start: a scrape shows 0, not nothing.
  for (const char* kind : {"agent", "events", "logs"}) metrics.Streams(kind);
  return metrics;
}

}  // namespace bdcoord::coordinator
