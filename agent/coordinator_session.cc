#include "agent/coordinator_session.h"

namespace bdcoord::agent {

CoordinatorSession::CoordinatorSession(Agent* agent, DockerClient* docker,
                                       CoordinatorLinkOptions options)
    : agent_(agent) {
  log_server_ = std::make_unique<LogServer>(docker, [this](const v1::AgentLogChunk& chunk) {
    return link_ != nullptr && link_->SendLogChunk(chunk);
  });
  image_loader_ = std::make_unique<ImageLoader>(
      docker,
      [this](const v1::CommandResult& result) {
        return link_ != nullptr && link_->SendResult(result);
      },
      [this](const v1::ImageList& list) { return link_ != nullptr && link_->SendImageList(list); });
  options.on_logs = [this](const v1::LogRequest& request) { log_server_->Handle(request); };
  options.on_image = [this](const v1::ImageChunk& chunk) { image_loader_->HandleChunk(chunk); };
  options.on_list_images = [this](const v1::ImageListRequest& request) {
    image_loader_->HandleList(request);
  };
  options.on_disconnected = [this] {
    log_server_->CancelAll();
    image_loader_->AbortAll();
  };
  options.on_contact = [agent] { agent->Contact(); };
  options.on_probe = [agent](const v1::ProbeRequest& request) {
    agent->HandleProbeRequest(request);
  };
  link_ = std::make_unique<CoordinatorLink>(
      std::move(options), [agent](const v1::DesiredState& desired) { agent->SetDesired(desired); });
  agent_->SetUplink(link_.get());
}

CoordinatorSession::~CoordinatorSession() {
  image_loader_->AbortAll();  // a reader waiting for room in a load's queue goes on
  link_->Stop();
  log_server_.reset();
  image_loader_.reset();
  agent_->WaitForProbeRequests();
  agent_->SetUplink(nullptr);
}

}  // namespace bdcoord::agent
