#ifndef BDCOORD_AGENT_PROBES_PROBES_H_
#define BDCOORD_AGENT_PROBES_PROBES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/docker/docker_client.h"
#include "agent/probes/prober.h"
#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::agent {

// The real prober: tcp connects to ip:port; http GETs http://ip:port/path and wants a 2xx; exec
// runs the command in the container and wants exit 0; log searches the container's log lines for
// the regex. tcp and http connect from inside the container's own network namespace when the
// container is running (a host cannot reach its own macvlan or ipvlan containers without a shim),
// else from the agent's.
class DockerProber : public Prober {
 public:
  explicit DockerProber(DockerClient* docker) : docker_(docker) {}

  absl::Status Check(const bdcoord::v1::Probe& probe, const ProbeTarget& target,
                     absl::Duration timeout) override;

 private:
  DockerClient* docker_;
};

// A coordinator's ProbeRequest: the prober's check of the container, if it is one of bdcoord's
// (labelled io.bdcoord.cluster); any other container gets a refusal, never a probe.
bdcoord::v1::CommandResult RunProbeRequest(DockerClient* docker, Prober* prober,
                                           const bdcoord::v1::ProbeRequest& request);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_PROBES_PROBES_H_
