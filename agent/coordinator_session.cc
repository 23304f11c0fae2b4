#include "agent/coordinator_session.h"

namespace bdcoord::agent {

CoordinatorSession::CoordinatorSession(Agent* agent, DockerClient* docker,
                                       CoordinatorLinkOptions options)
    : agent_(agent) {
  log_server_ = std::make_unique<LogServer>(docker, [this](const v1::AgentLogChunk& chunk) {
    return link_ != nullptr && link_->SendLogChunk(chunk);
  });
  options.on_logs = [this](const v1::LogRequest& request) { log_server_->Handle(request); };
  options.on_disconnected = [this] { log_server_->CancelAll(); };
  options.on_contact = [agent] { agent->Contact(); };
  options.on_probe = [agent](const v1::ProbeRequest& request) {
    agent->HandleProbeRequest(request);
  };
  link_ = std::make_unique<CoordinatorLink>(
      std::move(options), [agent](const v1::DesiredState& desired) { agent->SetDesired(desired); });
  agent_->SetUplink(link_.get());
}

CoordinatorSession::~CoordinatorSession() {
  link_->Stop();
  log_server_.reset();
  agent_->WaitForProbeRequests();
  agent_->SetUplink(nullptr);
}

}  // namespace bdcoord::agent
