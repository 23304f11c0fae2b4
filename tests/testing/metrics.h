#ifndef BDCOORD_TESTS_TESTING_METRICS_H_
#define BDCOORD_TESTS_TESTING_METRICS_H_

#include <map>
#include <optional>
#include <string>

#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace bdcoord::test_util {

// What a scrape would show of metric `name` with exactly `labels`: a counter's or gauge's value,
// a histogram's sample count; nullopt when there is no such metric.
inline std::optional<double> MetricValue(prometheus::Registry& registry, const std::string& name,
                                         const std::map<std::string, std::string>& labels = {}) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> its;
      for (const auto& label : metric.label) its[label.name] = label.value;
      if (its != labels) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return metric.counter.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(metric.histogram.sample_count);
        default:
          return metric.gauge.value;
      }
    }
  }
  return std::nullopt;
}

// The sum of the observations of histogram `name` with exactly `labels` (nullopt: none such).
inline std::optional<double> HistogramSum(prometheus::Registry& registry, const std::string& name,
                                          const std::map<std::string, std::string>& labels = {}) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name || family.type != prometheus::MetricType::Histogram) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> its;
      for (const auto& label : metric.label) its[label.name] = label.value;
      if (its == labels) return metric.histogram.sample_sum;
    }
  }
  return std::nullopt;
}

}  // namespace bdcoord::test_util

#endif  // BDCOORD_TESTS_TESTING_METRICS_H_
