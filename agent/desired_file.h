#ifndef BDCOORD_AGENT_DESIRED_FILE_H_
#define BDCOORD_AGENT_DESIRED_FILE_H_

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/agent.h"
#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::agent {

// A DesiredState as JSON (see proto/bdcoord/v1/agent.proto) from `path`.
absl::StatusOr<bdcoord::v1::DesiredState> ReadDesiredState(const std::string& path);

// The agent's desired state from a file instead of a coordinator, re-read before every pass.
class DesiredFile {
 public:
  DesiredFile(std::string path, Agent* agent) : path_(std::move(path)), agent_(agent) {}

  // Reads the file and hands it to the agent (an Agent's RefreshDesired); logs when it changed.
  absl::Status Refresh();

 private:
  std::string path_;
  Agent* agent_;
  std::filesystem::file_time_type seen_mtime_{};
};

// A message as indented JSON with the proto's field names (what --once and --facts print).
std::string PrettyJson(const google::protobuf::Message& message);

// --once: every instance's status as a JSON array.
std::string StatusesJson(const PassSummary& pass);

// --once's exit code: 0 when nothing failed, else 1.
int OnceExitCode(const PassSummary& pass);

// --once: one pass after `refresh`, every instance's status printed on `out`; the exit code (2
// when the refresh failed, its error logged).
int RunOnceAndPrint(Agent* agent, const RefreshDesired& refresh, std::ostream& out);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DESIRED_FILE_H_
