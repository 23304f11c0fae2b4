#ifndef BDCOORD_AGENT_DOCKER_LABELS_H_
#define BDCOORD_AGENT_DOCKER_LABELS_H_

namespace bdcoord::agent {

// Labels on every container the agent manages. A container without them is never touched.
inline constexpr char kClusterLabel[] = "io.bdcoord.cluster";
inline constexpr char kServiceLabel[] = "io.bdcoord.service";
inline constexpr char kInstanceLabel[] = "io.bdcoord.instance";
inline constexpr char kSpecHashLabel[] = "io.bdcoord.spec-hash";
// On networks: shared by every cluster on the LAN (dockerd allows one macvlan per parent).
inline constexpr char kNetworkLabel[] = "io.bdcoord.network";

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DOCKER_LABELS_H_
