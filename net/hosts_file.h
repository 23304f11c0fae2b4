#ifndef BDCOORD_NET_HOSTS_FILE_H_
#define BDCOORD_NET_HOSTS_FILE_H_

#include <string>
#include <vector>

#include "net/ipv4.h"

namespace bdcoord::net {

struct HostsEntry {
  Ipv4 ip;
  std::string fqdn;  // first: it is what a reverse lookup returns
  std::string name;

  friend bool operator==(const HostsEntry&, const HostsEntry&) = default;
};

// Renders an /etc/hosts: the localhost lines, then one `IP FQDN name` line per entry sorted by
// IP (then FQDN), so the same cluster always gives the same bytes.
std::string RenderHostsFile(std::vector<HostsEntry> entries);

}  // namespace bdcoord::net

#endif  // BDCOORD_NET_HOSTS_FILE_H_
