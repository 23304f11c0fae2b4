#include "coordinator/spec/host_policy.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace bdcoord::coordinator {
namespace {

bool IsRootUser(const std::string& user) {
  const std::string name = user.substr(0, user.find(':'));
  return name == "0" || name == "root";
}

// Whether `path` is `prefix` or below it, compared by whole components.
bool IsUnder(const std::string& path, std::string prefix) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix == "/") return true;
  return path == prefix || absl::StartsWith(path, prefix + "/");
}

// Docker's socket, or a directory above it: mounting either hands over every container.
bool ExposesDockerSocket(const std::string& path) {
  for (const char* socket : {"/var/run/docker.sock", "/run/docker.sock"}) {
    if (IsUnder(socket, path)) return true;
  }
  return absl::EndsWith(path, "/docker.sock");
}

bool HasDotDot(const std::string& path) {
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "..") return true;
  }
  return false;
}

}  // namespace

std::vector<Diagnostic> CheckHostPolicy(const bdcoord::v1::ClusterSpec& spec,
                                        const SourceMap& positions, const HostPolicy& policy) {
  std::vector<Diagnostic> out;
  for (const auto& network : spec.networks()) {
    if (network.name() == "host" || network.name() == "none" || network.name() == "bridge") {
      out.push_back({positions.Find(absl::StrCat("networks.", network.name())),
                     absl::StrCat("network '", network.name(),
                                  "' has the name of one of Docker's own networks"),
                     "name the cluster's network otherwise, e.g. `lan`"});
    }
  }
  const std::string allowed =
      policy.allowed_host_paths.empty()
          ? "none"
          : absl::StrCat("'", absl::StrJoin(policy.allowed_host_paths, "', '"), "'");
  for (const auto& service : spec.services()) {
    const std::string base = absl::StrCat("services.", service.name());
    if (!policy.allow_root && IsRootUser(service.user())) {
      out.push_back({positions.Find(base + ".user"),
                     absl::StrCat("service '", service.name(), "' runs as root (user \"",
                                  service.user(), "\"): the coordinator's policy refuses root"),
                     "run it as the image's own user (e.g. `user: \"1000:1000\"`), or start "
                     "bdcoordd with --allow-root"});
    }
    for (int i = 0; i < service.volumes_size(); ++i) {
      const std::string& source = service.volumes(i).source();
      if (!absl::StartsWith(source, "/")) continue;  // a named volume
      const SourcePos pos = positions.Find(absl::StrCat(base, ".volumes.", i));
      if (ExposesDockerSocket(source)) {
        out.push_back({pos,
                       absl::StrCat("service '", service.name(), "' mounts '", source,
                                    "', which holds the Docker socket: never allowed"),
                       "whoever reaches the Docker socket controls every container of the host"});
      } else if (HasDotDot(source)) {
        out.push_back({pos,
                       absl::StrCat("service '", service.name(), "' mounts the host path '", source,
                                    "' with '..'"),
                       "write the path without '..'"});
      } else if (!std::any_of(policy.allowed_host_paths.begin(), policy.allowed_host_paths.end(),
                              [&](const std::string& prefix) { return IsUnder(source, prefix); })) {
        out.push_back(
            {pos,
             absl::StrCat("service '", service.name(), "' mounts the host path '", source,
                          "': the coordinator's policy allows host paths under ", allowed),
             "use a named volume (`data{{index}}:/data`), or start bdcoordd with "
             "--allow-host-path PREFIX"});
      }
    }
  }
  return out;
}

}  // namespace bdcoord::coordinator
