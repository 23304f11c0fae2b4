#include "agent/probes/metered_prober.h"

#include <chrono>
#include <string>

namespace bdcoord::agent {

namespace {

std::string KindOf(const bdcoord::v1::Probe& probe) {
  switch (probe.check_case()) {
    case bdcoord::v1::Probe::kTcp:
      return "tcp";
    case bdcoord::v1::Probe::kHttp:
      return "http";
    case bdcoord::v1::Probe::kExec:
      return "exec";
    case bdcoord::v1::Probe::kLog:
      return "log";
    case bdcoord::v1::Probe::CHECK_NOT_SET:
      break;
  }
  return "none";
}

}  // namespace

MeteredProber::MeteredProber(Prober* inner, prometheus::Registry& registry)
    : inner_(inner),
      checks_(prometheus::BuildCounter()
                  .Name("bdagent_probe_checks_total")
                  .Help("Readiness checks run, by the probe's kind (tcp, http, exec, log) and "
                        "result (ready or not_ready)")
                  .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("bdagent_probe_check_duration_seconds")
                     .Help("How long one readiness check took, by the probe's kind")
                     .Register(registry)) {}

absl::Status MeteredProber::Check(const bdcoord::v1::Probe& probe, const ProbeTarget& target,
                                  absl::Duration timeout) {
  // A TCP connect on the LAN is a millisecond; a check that waits for its time-out, seconds.
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  const std::string kind = KindOf(probe);
  const auto start = std::chrono::steady_clock::now();
  absl::Status result = inner_->Check(probe, target, timeout);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  durations_.Add({{"kind", kind}}, kBuckets).Observe(took.count());
  checks_.Add({{"kind", kind}, {"result", result.ok() ? "ready" : "not_ready"}}).Increment();
  return result;
}

}  // namespace bdcoord::agent
