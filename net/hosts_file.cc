#include "net/hosts_file.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace bdcoord::net {

std::string RenderHostsFile(std::vector<HostsEntry> entries) {
  // Name is the last tie-breaker so even duplicate (IP, FQDN) pairs render in one order.
  std::sort(entries.begin(), entries.end(), [](const HostsEntry& a, const HostsEntry& b) {
    return std::tie(a.ip, a.fqdn, a.name) < std::tie(b.ip, b.fqdn, b.name);
  });
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const HostsEntry& entry : entries) {
    absl::StrAppend(&out, entry.ip.ToString(), "\t", entry.fqdn);
    // An alias equal to the FQDN (or empty) would only repeat it.
    if (!entry.name.empty() && entry.name != entry.fqdn) absl::StrAppend(&out, " ", entry.name);
    out += '\n';
  }
  return out;
}

}  // namespace bdcoord::net
