#include "policy/host_policy.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace bdcoord::policy {
namespace {

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

bool IsRootUser(const std::string& user) {
  const std::string name = user.substr(0, user.find(':'));
  return name == "0" || name == "root";
}

std::optional<Breach> CheckUser(const std::string& service, const std::string& user,
                                bool image_default, const HostPolicy& policy, const Enforcer& by) {
  // An image with no USER runs as root.
  const std::string effective = image_default && user.empty() ? "root" : user;
  if (policy.allow_root || !IsRootUser(effective)) return std::nullopt;
  return Breach{
      Rule::kRoot,
      absl::StrCat("service '", service, "' runs as root (user \"", effective, "\"",
                   image_default ? ", the image's default" : "", "): ", by.policy, " refuses root"),
      absl::StrCat("run it as the image's own user (e.g. `user: \"1000:1000\"`), or "
                   "start ",
                   by.program, " with --allow-root")};
}

std::optional<Breach> CheckHostPath(const std::string& service, const std::string& source,
                                    const HostPolicy& policy, const Enforcer& by) {
  if (!absl::StartsWith(source, "/")) return std::nullopt;  // a named volume
  if (ExposesDockerSocket(source)) {
    return Breach{Rule::kDockerSocket,
                  absl::StrCat("service '", service, "' mounts '", source,
                               "', which holds the Docker socket: never allowed"),
                  "whoever reaches the Docker socket controls every container of the host"};
  }
  if (HasDotDot(source)) {
    return Breach{
        Rule::kHostPath,
        absl::StrCat("service '", service, "' mounts the host path '", source, "' with '..'"),
        "write the path without '..'"};
  }
  if (std::any_of(policy.allowed_host_paths.begin(), policy.allowed_host_paths.end(),
                  [&](const std::string& prefix) { return IsUnder(source, prefix); })) {
    return std::nullopt;
  }
  const std::string allowed =
      policy.allowed_host_paths.empty()
          ? "none"
          : absl::StrCat("'", absl::StrJoin(policy.allowed_host_paths, "', '"), "'");
  return Breach{Rule::kHostPath,
                absl::StrCat("service '", service, "' mounts the host path '", source,
                             "': ", by.policy, " allows host paths under ", allowed),
                absl::StrCat("use a named volume (`data{{index}}:/data`), or start ", by.program,
                             " with --allow-host-path PREFIX")};
}

std::optional<Breach> CheckNetworkName(const std::string& network) {
  if (network != "host" && network != "none" && network != "bridge") return std::nullopt;
  return Breach{
      Rule::kDockerNetwork,
      absl::StrCat("network '", network, "' has the name of one of Docker's own networks"),
      "name the cluster's network otherwise, e.g. `lan`"};
}

std::optional<Breach> CheckContainerNetwork(const std::string& service,
                                            const std::string& network) {
  // `none` isolates the container: nothing of the host is shared.
  if (network != "host" && network != "bridge" && network != "default" &&
      !absl::StartsWith(network, "container:")) {
    return std::nullopt;
  }
  return Breach{Rule::kDockerNetwork,
                absl::StrCat("service '", service, "' is on Docker's network '", network,
                             "', not on a network of its cluster"),
                "attach it to the cluster's macvlan or ipvlan network"};
}

std::vector<Breach> CheckInstance(const bdcoord::v1::DesiredInstance& instance,
                                  const HostPolicy& policy, const Enforcer& by) {
  std::vector<Breach> out;
  if (!instance.user().empty()) {
    if (auto breach = CheckUser(instance.service(), instance.user(), false, policy, by)) {
      out.push_back(*std::move(breach));
    }
  }
  for (const auto& volume : instance.volumes()) {
    if (auto breach = CheckHostPath(instance.service(), volume.source(), policy, by)) {
      out.push_back(*std::move(breach));
    }
  }
  if (auto breach = CheckContainerNetwork(instance.service(), instance.network())) {
    out.push_back(*std::move(breach));
  }
  return out;
}

}  // namespace bdcoord::policy
