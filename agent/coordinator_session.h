#ifndef BDCOORD_AGENT_COORDINATOR_SESSION_H_
#define BDCOORD_AGENT_COORDINATOR_SESSION_H_

#include <memory>

#include "agent/agent.h"
#include "agent/coordinator_link.h"
#include "agent/docker/docker_client.h"
#include "agent/image_loader.h"
#include "agent/log_server.h"

namespace bdcoord::agent {

// The agent run by a coordinator: the link to it, whose desired states and probe requests go to
// the agent, the agent's reports going up on it, `bdcoord logs` served over it (each request
// on its own thread) and `bdcoord images push` loaded from it.
class CoordinatorSession {
 public:
  CoordinatorSession(Agent* agent, DockerClient* docker, CoordinatorLinkOptions options);
  // Stops the link, cancels every log request and waits for their threads, and for the probe
  // requests still running (they answer on the link).
  ~CoordinatorSession();

  void Start() { link_->Start(); }

 private:
  Agent* agent_;
  // The log server sends on the link and the link hands it requests: each is set up with a
  // pointer to the other, and the log server goes first.
  std::unique_ptr<LogServer> log_server_;
  std::unique_ptr<ImageLoader> image_loader_;  // the same way
  std::unique_ptr<CoordinatorLink> link_;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_COORDINATOR_SESSION_H_
