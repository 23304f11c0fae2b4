#ifndef BDCOORD_POLICY_HOST_POLICY_H_
#define BDCOORD_POLICY_HOST_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::policy {

// What a container may do to the host it runs on, set by the operator: on the coordinator
// (bdcoordd --allow-root, --allow-host-path) for every spec, and again on each agent (bdagent,
// same flags) for what reaches that host, so a coordinator that is wrong or taken over is not
// root on every host. Deny by default.
struct HostPolicy {
  bool allow_root = false;                           // `user:` root (0, 0:N, root, root:G)
  std::vector<std::string> allowed_host_paths = {};  // absolute prefixes for bind mounts
};

// Who enforces a policy, for its messages and hints.
struct Enforcer {
  std::string policy = "the coordinator's policy";
  std::string program = "bdcoordd";  // whose flags change it
};

enum class Rule {
  kRoot,           // a root user
  kHostPath,       // a bind mount outside the allowed prefixes, or with '..'
  kDockerSocket,   // the Docker socket or a directory holding it: never
  kDockerNetwork,  // one of Docker's own networks (host, bridge, ...): not the cluster's L2
};

struct Breach {
  Rule rule;
  std::string message;  // names the service and the rule
  std::string hint;     // what to do instead
};

// Whether `user` ("name[:group]" or "uid[:gid]") is root by name or number.
bool IsRootUser(const std::string& user);

// A root `user` of `service`; `image_default`: the user is the image's own (none was given).
std::optional<Breach> CheckUser(const std::string& service, const std::string& user,
                                bool image_default, const HostPolicy& policy, const Enforcer& by);

// A volume of `service` whose source is an absolute host path (named volumes are fine).
std::optional<Breach> CheckHostPath(const std::string& service, const std::string& source,
                                    const HostPolicy& policy, const Enforcer& by);

// A cluster network named like one of Docker's own (host, none, bridge).
std::optional<Breach> CheckNetworkName(const std::string& network);

// The network a container is attached to: Docker's host and bridge networks and another
// container's namespace are refused; `none` (no network at all) is allowed.
std::optional<Breach> CheckContainerNetwork(const std::string& service, const std::string& network);

// Every breach of one rendered instance that can be seen without Docker (its user when given,
// its bind mounts, its network). A missing user is the image's: the caller checks that one
// with CheckUser once it knows the image's default user.
std::vector<Breach> CheckInstance(const bdcoord::v1::DesiredInstance& instance,
                                  const HostPolicy& policy, const Enforcer& by);

}  // namespace bdcoord::policy

#endif  // BDCOORD_POLICY_HOST_POLICY_H_
