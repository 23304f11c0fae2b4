#ifndef BDCOORD_AGENT_DOCKER_LABELS_H_
#define BDCOORD_AGENT_DOCKER_LABELS_H_

namespace bdcoord::agent {

// Labels on every container the agent manages. A container without them is never touched.
inline constexpr char kClusterLabel[] = "io.bdcoord.cluster";
inline constexpr char kServiceLabel[] = "io.bdcoord.service";
inline constexpr char kInstanceLabel[] = "io.bdcoord.instance";
inline constexpr char kSpecHashLabel[] = "io.bdcoord.spec-hash";
// Set ("1") when the container's files and /etc/hosts are bind-mounted from the agent's state
// directory; a container made by an older agent has Docker's own /etc/hosts, rewritten in place.
inline constexpr char kHostFilesLabel[] = "io.bdcoord.host-files";
// Set ("1") when the container's first process is bdgate (a held instance started early): the
// instance's program runs once the agent writes the release file (Reconciler).
inline constexpr char kGateLabel[] = "io.bdcoord.gate";
// On networks: shared by every cluster on the LAN (dockerd allows one macvlan per parent).
inline constexpr char kNetworkLabel[] = "io.bdcoord.network";

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DOCKER_LABELS_H_
