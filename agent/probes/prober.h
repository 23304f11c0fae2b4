#ifndef BDCOORD_AGENT_PROBES_PROBER_H_
#define BDCOORD_AGENT_PROBES_PROBER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::agent {

// Where a probe looks: the container's static IP and its id (for exec and log probes, and to find
// its network namespace).
struct ProbeTarget {
  std::string ip;
  std::string container_id;
};

// Runs readiness checks. The real one (DockerProber) opens sockets, calls curl, enters network
// namespaces and asks Docker; tests use tests/testing/fake_prober.h.
class Prober {
 public:
  virtual ~Prober() = default;
  // One check, bounded by `timeout`. OK means ready; otherwise the status says what failed (the
  // caller retries at the probe's interval, up to its retries).
  virtual absl::Status Check(const bdcoord::v1::Probe& probe, const ProbeTarget& target,
                             absl::Duration timeout) = 0;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_PROBES_PROBER_H_
