#ifndef BDCOORD_AGENT_PROBES_H_
#define BDCOORD_AGENT_PROBES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/docker/docker_client.h"
#include "bdcoord/v1/agent.pb.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::agent {

// Where a probe looks: the container's static IP and its id (for exec and log probes, and to find
// its network namespace).
struct ProbeTarget {
  std::string ip;
  std::string container_id;
};

// One readiness check, bounded by `timeout`: tcp connects to ip:port; http GETs
// http://ip:port/path and wants a 2xx; exec runs the command in the container and wants exit 0;
// log searches the container's log lines for the regex. OK means ready; otherwise the status says
// what failed (the caller retries at the probe's interval, up to its retries).
// tcp and http connect from inside the container's own network namespace when the container is
// running (a host cannot reach its own macvlan or ipvlan containers without a shim), else from
// the agent's.
absl::Status CheckOnce(DockerClient* docker, const bdcoord::v1::Probe& probe,
                       const ProbeTarget& target, absl::Duration timeout);

// A coordinator's ProbeRequest: CheckOnce on the container, if it is one of bdcoord's (labelled
// io.bdcoord.cluster); any other container gets a refusal, never a probe.
bdcoord::v1::CommandResult RunProbeRequest(DockerClient* docker,
                                           const bdcoord::v1::ProbeRequest& request);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_PROBES_H_
