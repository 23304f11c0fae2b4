#include "coordinator/spec/host_policy.h"

#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator {

std::vector<Diagnostic> CheckHostPolicy(const bdcoord::v1::ClusterSpec& spec,
                                        const SourceMap& positions, const HostPolicy& policy) {
  const policy::Enforcer coordinator;
  std::vector<Diagnostic> out;
  auto add = [&](const std::string& path, std::optional<policy::Breach> breach) {
    if (breach) out.push_back({positions.Find(path), breach->message, breach->hint});
  };
  for (const auto& network : spec.networks()) {
    add(absl::StrCat("networks.", network.name()), policy::CheckNetworkName(network.name()));
  }
  for (const auto& service : spec.services()) {
    const std::string base = absl::StrCat("services.", service.name());
    // No `user:` is the coordinator's non-root default, never the image's.
    add(base + ".user",
        policy::CheckUser(service.name(), service.user(), false, policy, coordinator));
    for (int i = 0; i < service.volumes_size(); ++i) {
      add(absl::StrCat(base, ".volumes.", i),
          policy::CheckHostPath(service.name(), service.volumes(i).source(), policy, coordinator));
    }
  }
  return out;
}

}  // namespace bdcoord::coordinator
