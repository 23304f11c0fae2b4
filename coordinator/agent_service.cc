#include "coordinator/agent_service.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator {

AgentServiceImpl::AgentServiceImpl(Inventory* inventory, std::shared_ptr<spdlog::logger> logger,
                                   std::function<absl::Time()> now)
    : inventory_(inventory), logger_(std::move(logger)), now_(std::move(now)) {}

grpc::Status AgentServiceImpl::Connect(grpc::ServerContext* context, Stream* stream) {
  bdcoord::v1::AgentMessage message;
  if (!stream->Read(&message)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "first message must be hello");
  }
  if (message.message_case() != bdcoord::v1::AgentMessage::kHello) {
    logger_->warn("agent at '{}' did not start with hello", context->peer());
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "first message must be hello");
  }
  const std::string host = message.hello().host();
  if (host.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "hello must name the host");
  }
  auto session = std::make_shared<Session>();
  session->stream = stream;
  session->id = inventory_->Hello(host, message.hello().facts(), now_());
  {
    absl::MutexLock lock(&mu_);
    sessions_[host] = session;
    statuses_.erase(host);  // a restarted agent reports afresh; old reports would mislead
  }
  logger_->info("host '{}' connected ({} cpus, docker '{}')", host, message.hello().facts().cpus(),
                message.hello().facts().docker_version());

  while (stream->Read(&message)) {
    switch (message.message_case()) {
      case bdcoord::v1::AgentMessage::kHeartbeat: {
        const auto before = inventory_->Find(host);
        inventory_->Heartbeat(host, now_());
        if (before.has_value() && before->down) logger_->info("host '{}' is back", host);
        break;
      }
      case bdcoord::v1::AgentMessage::kStatus: {
        inventory_->Heartbeat(host, now_());
        absl::MutexLock lock(&mu_);
        statuses_[host][message.status().cluster()] = message.status();
        break;
      }
      case bdcoord::v1::AgentMessage::kHello:
        logger_->warn("host '{}' sent a second hello; ignored", host);
        break;
      default:
        break;  // logs: not used yet
    }
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(host);
    if (it != sessions_.end() && it->second == session) sessions_.erase(it);
  }
  {
    // No Send may be writing on this stream once the handler returns.
    absl::MutexLock lock(&session->write_mu);
    session->stream = nullptr;
  }
  inventory_->Disconnected(host, session->id);
  logger_->info("host '{}' disconnected", host);
  return grpc::Status::OK;
}

absl::Status AgentServiceImpl::Send(const std::string& host,
                                    const bdcoord::v1::CoordinatorMessage& message) {
  std::shared_ptr<Session> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(host);
    if (it != sessions_.end()) session = it->second;
  }
  if (session == nullptr) {
    return absl::UnavailableError(absl::StrCat("host '", host, "' is not connected"));
  }
  absl::MutexLock lock(&session->write_mu);
  if (session->stream == nullptr || !session->stream->Write(message)) {
    return absl::UnavailableError(absl::StrCat("host '", host, "': the stream is closed"));
  }
  return absl::OkStatus();
}

std::optional<bdcoord::v1::StatusReport> AgentServiceImpl::LatestStatus(
    const std::string& host, const std::string& cluster) const {
  absl::MutexLock lock(&mu_);
  auto it = statuses_.find(host);
  if (it == statuses_.end()) return std::nullopt;
  auto report = it->second.find(cluster);
  if (report == it->second.end()) return std::nullopt;
  return report->second;
}

std::map<std::string, bdcoord::v1::StatusReport> AgentServiceImpl::LatestStatuses(
    const std::string& host) const {
  absl::MutexLock lock(&mu_);
  auto it = statuses_.find(host);
  if (it == statuses_.end()) return {};
  return std::map<std::string, bdcoord::v1::StatusReport>(it->second.begin(), it->second.end());
}

HeartbeatMonitor::HeartbeatMonitor(Inventory* inventory, std::shared_ptr<spdlog::logger> logger,
                                   absl::Duration timeout, absl::Duration period,
                                   std::function<absl::Time()> now)
    : inventory_(inventory),
      logger_(std::move(logger)),
      timeout_(timeout),
      period_(period),
      now_(std::move(now)) {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!stop_) {
      mu_.AwaitWithTimeout(absl::Condition(&stop_), period_);
      if (stop_) break;
      for (const std::string& host : inventory_->MarkDown(now_(), timeout_)) {
        logger_->warn("host '{}' is down: no heartbeat for more than {}", host,
                      absl::FormatDuration(timeout_));
      }
    }
  });
}

HeartbeatMonitor::~HeartbeatMonitor() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

}  // namespace bdcoord::coordinator
