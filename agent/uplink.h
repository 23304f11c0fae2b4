#ifndef BDCOORD_AGENT_UPLINK_H_
#define BDCOORD_AGENT_UPLINK_H_

#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::agent {

// Where the agent's reports go: the coordinator (CoordinatorLink implements it). With a
// desired-state file there is none.
class Uplink {
 public:
  virtual ~Uplink() = default;
  // Each returns false when it was not delivered (not connected).
  virtual bool SendStatus(const bdcoord::v1::StatusReport& report) = 0;
  virtual bool SendResult(const bdcoord::v1::CommandResult& result) = 0;
  virtual bool SendLogChunk(const bdcoord::v1::AgentLogChunk& chunk) = 0;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_UPLINK_H_
