#ifndef BDCOORD_COORDINATOR_OPS_AGENT_SESSIONS_H_
#define BDCOORD_COORDINATOR_OPS_AGENT_SESSIONS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::coordinator {

// The connected agents, as the application layer sees them: send a host a message, read the
// latest status reports, run a probe there. Implemented over the agents' gRPC streams by
// AgentServiceImpl (grpc/), and in memory by tests/testing/fake_agent_sessions.h.
class AgentSessions {
 public:
  virtual ~AgentSessions() = default;

  // Writes one message to the host's current stream. Unavailable when the host is not connected
  // or the write fails.
  virtual absl::Status Send(const std::string& host,
                            const bdcoord::v1::CoordinatorMessage& message) = 0;

  // The latest status report of the host for the cluster, from its current connection.
  virtual std::optional<bdcoord::v1::StatusReport> LatestStatus(
      const std::string& host, const std::string& cluster) const = 0;
  // Every cluster's latest report from the host's current connection, by cluster.
  virtual std::map<std::string, bdcoord::v1::StatusReport> LatestStatuses(
      const std::string& host) const = 0;

  // Sends `request` (its request_id is set here) to the host's agent and waits for the result
  // until `deadline`. Unavailable when the host is not connected or goes away meanwhile,
  // DeadlineExceeded when no answer came.
  virtual absl::StatusOr<bdcoord::v1::CommandResult> RunProbe(const std::string& host,
                                                              bdcoord::v1::ProbeRequest request,
                                                              absl::Time deadline) = 0;

  // Asks each host's agent for its images (an ImageListRequest), all of them before waiting for
  // any answer, and waits for the lists until `deadline`: one slow host costs its own wait, not
  // the others'. Each host's list or error (as RunProbe's), by host. A list whose `error` is set:
  // its Docker could not list them.
  virtual std::map<std::string, absl::StatusOr<bdcoord::v1::ImageList>> ListImages(
      const std::vector<std::string>& hosts, absl::Time deadline) = 0;
  // A new request id whose CommandResult from `host` is kept until AwaitResult takes it (an
  // image load: its chunks carry the id, the agent answers after the last one).
  virtual uint64_t ExpectResult(const std::string& host) = 0;
  // Waits for the result of ExpectResult's request until `deadline`, then forgets the request.
  // Unavailable when the host went away first, DeadlineExceeded when no answer came.
  virtual absl::StatusOr<bdcoord::v1::CommandResult> AwaitResult(uint64_t request_id,
                                                                 absl::Time deadline) = 0;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_OPS_AGENT_SESSIONS_H_
