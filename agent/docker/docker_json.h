#ifndef BDCOORD_AGENT_DOCKER_DOCKER_JSON_H_
#define BDCOORD_AGENT_DOCKER_DOCKER_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/docker/docker_client.h"

namespace bdcoord::agent {

// How DockerClient reads dockerd's JSON bodies, from the body's text: the same code the client
// runs, exposed for tests and tests/fuzz/docker_json.cc. Invalid JSON is Internal; a missing or
// mistyped field reads as empty (0, "", false) and never throws.
absl::StatusOr<ContainerInfo> ParseContainerInspectJson(absl::string_view body);
absl::StatusOr<std::vector<ContainerInfo>> ParseContainerListJson(absl::string_view body);
absl::StatusOr<NetworkInfo> ParseNetworkJson(absl::string_view body);
absl::StatusOr<DockerEvent> ParseEventJson(absl::string_view body);
absl::StatusOr<DockerInfo> ParseInfoJson(absl::string_view body);
// The message of an error response: {"message": "..."}, else the body's text, cut.
std::string DockerErrorMessage(absl::string_view body);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DOCKER_DOCKER_JSON_H_
