#ifndef BDCOORD_AGENT_PROBES_METERED_PROBER_H_
#define BDCOORD_AGENT_PROBES_METERED_PROBER_H_

#include "agent/probes/prober.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace bdcoord::agent {

// A Prober that counts and times the checks of the one it wraps, by the probe's kind (tcp, http,
// exec, log):
//   bdagent_probe_checks_total{kind, result="ready"|"not_ready"}
//   bdagent_probe_check_duration_seconds{kind}
class MeteredProber final : public Prober {
 public:
  // `inner` outlives this.
  MeteredProber(Prober* inner, prometheus::Registry& registry);

  absl::Status Check(const bdcoord::v1::Probe& probe, const ProbeTarget& target,
                     absl::Duration timeout) override;

 private:
  Prober* inner_;
  prometheus::Family<prometheus::Counter>& checks_;
  prometheus::Family<prometheus::Histogram>& durations_;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_PROBES_METERED_PROBER_H_
