#ifndef BDCOORD_AGENT_HOST_FACTS_H_
#define BDCOORD_AGENT_HOST_FACTS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/docker/docker_client.h"
#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::agent {

// Labels from /etc/bdcoord/agent.yaml (`labels: {rack: r1}`) merged with `--label k=v` flags
// (flags win). A missing file is fine; a malformed one is an error naming the file and line.
absl::StatusOr<std::map<std::string, std::string>> LoadLabels(
    const std::string& config_path, const std::vector<std::string>& label_flags);

// What the agent reports on connect: hostname, CPUs, memory, Docker version, interfaces, labels.
// Docker being down is not an error here: its fields stay empty.
bdcoord::v1::HostFacts CollectHostFacts(DockerClient* docker,
                                        const std::map<std::string, std::string>& labels);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_HOST_FACTS_H_
