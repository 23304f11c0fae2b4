#include "agent/reconcile/container_dns.h"

namespace bdcoord::agent {

void SetContainerDns(const bdcoord::v1::Dns& dns, ContainerConfig* config) {
  config->dns.assign(dns.nameservers().begin(), dns.nameservers().end());
  config->dns_search.clear();
  if (dns.has_search()) {
    config->dns_search.assign(dns.search().values().begin(), dns.search().values().end());
    if (config->dns_search.empty()) config->dns_search.push_back(".");
  }
  config->dns_options.assign(dns.options().values().begin(), dns.options().values().end());
}

}  // namespace bdcoord::agent
