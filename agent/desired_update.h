#ifndef BDCOORD_AGENT_DESIRED_UPDATE_H_
#define BDCOORD_AGENT_DESIRED_UPDATE_H_

#include "absl/status/status.h"
#include "bdcoord/v1/agent.pb.h"
#include "net/hosts_map.h"

namespace bdcoord::agent {

// What an agent keeps of one cluster's desired state between the coordinator's messages: the
// whole state as the reconciler takes it (hosts_file rendered from the map; hosts_map holds only
// the map's version, which status reports carry; no delta), and the map the next delta applies
// to.
struct KeptDesired {
  bdcoord::v1::DesiredState desired;
  net::HostsMap hosts;  // version 0: none (or a hosts_file sent as text, e.g. from a file)
};

struct DesiredUpdate {
  KeptDesired kept;
  // Why the hosts part was not taken (a delta from another version than the kept map's, an
  // entry that does not parse): `kept` then has the previous map, file and version and
  // everything else from the message. Its next status report carries the old version, made
  // against the new generation: that is how the agent asks the coordinator for the whole map.
  absl::Status hosts;
  // hosts_only with nothing kept for the cluster: there is nothing to install.
  bool unusable = false;
};

// `incoming` (the coordinator's message) on top of `kept` (null: nothing kept for its cluster).
// hosts_only takes the kept state with the new generation and hosts; a message with none of
// hosts_map, hosts_delta and hosts_file keeps the kept map. Pure.
DesiredUpdate UpdateDesired(const KeptDesired* kept, const bdcoord::v1::DesiredState& incoming);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DESIRED_UPDATE_H_
