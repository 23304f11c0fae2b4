#ifndef BDCOORD_AGENT_RECONCILE_CONTAINER_DNS_H_
#define BDCOORD_AGENT_RECONCILE_CONTAINER_DNS_H_

#include "agent/docker/docker_client.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::agent {

// Docker's Dns, DnsSearch and DnsOptions of a container from its instance's `dns`. An unset
// field keeps Docker's default; a search list that is set but empty means no search domain,
// which Docker spells "." (an empty DnsSearch would copy the host's). Pure.
void SetContainerDns(const bdcoord::v1::Dns& dns, ContainerConfig* config);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_RECONCILE_CONTAINER_DNS_H_
