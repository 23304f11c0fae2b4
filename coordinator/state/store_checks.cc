#include "coordinator/state/store_checks.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator::store_internal {

std::string Quoted(const std::string& s) { return absl::StrCat("'", s, "'"); }

absl::Status ClusterNotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("cluster ", Quoted(name), " not found"));
}

absl::StatusOr<std::string> CheckedSpec(const AppliedCluster& cluster) {
  const std::string& name = cluster.name;
  if (name.empty()) return absl::InvalidArgumentError("cluster name is empty");
  if (!cluster.spec.cluster().empty() && cluster.spec.cluster() != name) {
    return absl::InvalidArgumentError(absl::StrCat("cluster ", Quoted(name), ": its spec names ",
                                                   Quoted(cluster.spec.cluster())));
  }
  if (!cluster.placement.cluster().empty() && cluster.placement.cluster() != name) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cluster ", Quoted(name), ": its placement names ", Quoted(cluster.placement.cluster())));
  }
  std::set<std::string> names;
  std::map<std::string, std::string> instance_of_ip;
  for (const bdcoord::v1::PlacedInstance& instance : cluster.placement.instances()) {
    if (instance.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster ", Quoted(name), ": an instance has no name"));
    }
    if (!names.insert(instance.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("cluster ", Quoted(name), ": instance ",
                                                     Quoted(instance.name()), " is placed twice"));
    }
    if (instance.ip().empty()) continue;
    auto [it, inserted] = instance_of_ip.emplace(instance.ip(), instance.name());
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster ", Quoted(name), ": IP ", instance.ip(), " is given to both ",
                       Quoted(it->second), " and ", Quoted(instance.name())));
    }
  }
  std::map<std::pair<std::string, std::string>, std::string> host_of_shim;  // (network, IP)
  std::set<std::pair<std::string, std::string>> shimmed;                    // (network, host)
  for (const bdcoord::v1::ShimAddress& shim : cluster.placement.shims()) {
    if (shim.network().empty() || shim.host().empty() || shim.address().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cluster ", Quoted(name), ": a shim address lacks its network, host or address"));
    }
    if (!shimmed.emplace(shim.network(), shim.host()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster ", Quoted(name), ": host ", Quoted(shim.host()),
                       " has two shim addresses on network ", Quoted(shim.network())));
    }
    auto [it, inserted] =
        host_of_shim.emplace(std::make_pair(shim.network(), shim.address()), shim.host());
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster ", Quoted(name), ": shim address ", shim.address(), " of network ",
                       Quoted(shim.network()), " is given to both ", Quoted(it->second), " and ",
                       Quoted(shim.host())));
    }
  }
  std::string spec;
  if (!cluster.spec.SerializeToString(&spec)) {
    return absl::InternalError(absl::StrCat("serializing the spec of cluster ", Quoted(name)));
  }
  return spec;
}

absl::StatusOr<std::string> CheckedFacts(const std::string& name,
                                         const bdcoord::v1::HostFacts& facts) {
  if (name.empty()) return absl::InvalidArgumentError("host name is empty");
  std::string bytes;
  if (!facts.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat("serializing the facts of host ", Quoted(name)));
  }
  return bytes;
}

}  // namespace bdcoord::coordinator::store_internal
