#include "coordinator/grpc/agent_service.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "coordinator/grpc/peer_identity.h"

namespace bdcoord::coordinator {

AgentServiceImpl::AgentServiceImpl(Inventory& inventory, std::shared_ptr<spdlog::logger> logger,
                                   std::function<absl::Time()> now, EventBus& events,
                                   prometheus::Gauge* open_streams)
    : inventory_(inventory),
      logger_(std::move(logger)),
      now_(std::move(now)),
      events_(events),
      open_streams_(open_streams),
      log_router_([this](const std::string& host, const bdcoord::v1::CoordinatorMessage& message) {
        return Send(host, message);
      }) {}

void AgentServiceImpl::PublishHost(const std::string& host, const char* kind,
                                   const std::string& message) {
  bdcoord::v1::Event event;
  event.set_host(host);
  event.set_kind(kind);
  event.set_message(message);
  events_.Publish(std::move(event));
}

void AgentServiceImpl::PublishChanges(const std::string& host,
                                      const bdcoord::v1::StatusReport* previous,
                                      const bdcoord::v1::StatusReport& report) {
  absl::flat_hash_map<std::string, const bdcoord::v1::InstanceStatus*> before;
  if (previous != nullptr) {
    for (const auto& instance : previous->instances()) before[instance.name()] = &instance;
  }
  auto publish = [&](const std::string& instance, const char* kind, std::string message) {
    bdcoord::v1::Event event;
    event.set_cluster(report.cluster());
    event.set_instance(instance);
    event.set_host(host);
    event.set_kind(kind);
    event.set_message(std::move(message));
    events_.Publish(std::move(event));
  };
  absl::flat_hash_set<std::string> seen;
  for (const auto& now : report.instances()) {
    seen.insert(now.name());
    const auto it = before.find(now.name());
    const bdcoord::v1::InstanceStatus* was = it == before.end() ? nullptr : it->second;
    const auto was_state = was == nullptr ? bdcoord::v1::INSTANCE_STATE_UNSPECIFIED : was->state();
    const bool running = now.state() == bdcoord::v1::INSTANCE_STATE_RUNNING;
    const bool was_running = was_state == bdcoord::v1::INSTANCE_STATE_RUNNING;
    const bool restarted = running && was_running && now.has_started_at() &&
                           was->has_started_at() &&
                           (now.started_at().seconds() != was->started_at().seconds() ||
                            now.started_at().nanos() != was->started_at().nanos());
    // The agent's count of the container's restarts rose: one `restarted` event says so (in place
    // of a `started` one), however many passes the restart took.
    const bool count_rose = was != nullptr && now.restart_count() > was->restart_count() &&
                            now.container_id() == was->container_id();
    if (count_rose) {
      publish(now.name(), kEventRestarted,
              absl::StrCat("restarted (", now.restart_count(),
                           now.restart_count() == 1 ? " restart" : " restarts", ", last exit code ",
                           now.last_exit_code(), ")"));
    }
    if (now.state() != was_state || restarted) {
      switch (now.state()) {
        case bdcoord::v1::INSTANCE_STATE_CREATED:
          publish(now.name(), kEventCreated, now.message());
          break;
        case bdcoord::v1::INSTANCE_STATE_RUNNING:
          if (!count_rose) {
            publish(now.name(), kEventStarted, restarted ? "restarted" : now.message());
          }
          break;
        case bdcoord::v1::INSTANCE_STATE_COMPLETED:
          publish(now.name(), kEventCompleted, "exited 0");
          break;
        case bdcoord::v1::INSTANCE_STATE_FAILED:
          // The agent's message says why (with the exit code where there is one): say it once.
          publish(now.name(), kEventFailed,
                  now.message().empty() ? absl::StrCat("exited with code ", now.exit_code())
                                        : now.message());
          break;
        case bdcoord::v1::INSTANCE_STATE_REMOVED:
          publish(now.name(), kEventRemoved, now.message());
          break;
        default:
          break;  // pending: nothing happened yet
      }
    }
    if (running && now.ready() && (!was_running || !was->ready() || restarted)) {
      publish(now.name(), kEventReady, "");
    }
  }
  if (previous != nullptr) {
    for (const auto& instance : previous->instances()) {
      if (seen.contains(instance.name()) ||
          instance.state() == bdcoord::v1::INSTANCE_STATE_REMOVED) {
        continue;
      }
      publish(instance.name(), kEventRemoved, "no longer on this host");
    }
  }
}

void AgentServiceImpl::SetClosed(bool closed) {
  absl::MutexLock lock(&mu_);
  closed_ = closed;
}

void AgentServiceImpl::DisconnectAll() {
  absl::MutexLock lock(&mu_);  // a session leaves sessions_ before its handler returns
  for (const auto& [host, session] : sessions_) session->context->TryCancel();
}

void AgentServiceImpl::ForgetHost(const std::string& host) {
  absl::MutexLock lock(&mu_);
  if (!sessions_.contains(host)) statuses_.erase(host);
}

grpc::Status AgentServiceImpl::Connect(grpc::ServerContext* context, Stream* stream) {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the coordinator is shutting down");
    }
  }
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
  // Without this any agent certificate could take over another host's session (and receive its
  // desired state) or invent hosts.
  if (absl::Status identity =
          CheckCertificateHost(CertificateHostNames(*context->auth_context()), host);
      !identity.ok()) {
    logger_->warn("refused agent at '{}': {}", context->peer(), std::string(identity.message()));
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, std::string(identity.message()));
  }
  auto session = std::make_shared<Session>();
  session->context = context;
  session->stream = stream;
  session->id = inventory_.Hello(host, message.hello().facts(), now_());
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      inventory_.Disconnected(host, session->id);
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the coordinator is shutting down");
    }
    sessions_[host] = session;
    statuses_.erase(host);  // a restarted agent reports afresh; old reports would mislead
  }
  if (open_streams_ != nullptr) open_streams_->Increment();
  logger_->info("host '{}' connected ({} cpus, docker '{}')", host, message.hello().facts().cpus(),
                message.hello().facts().docker_version());
  on_hello_(host, message.hello().facts());
  on_change_();
  PublishHost(host, kEventHostUp,
              absl::StrCat("connected (", message.hello().facts().cpus(), " cpus, docker ",
                           message.hello().facts().docker_version(), ")"));

  while (stream->Read(&message)) {
    switch (message.message_case()) {
      case bdcoord::v1::AgentMessage::kHeartbeat: {
        const auto before = inventory_.Find(host);
        inventory_.Heartbeat(host, now_());
        if (before.has_value() && before->down) {
          logger_->info("host '{}' is back", host);
          PublishHost(host, kEventHostUp, "back: heartbeats again");
        }
        // The agent counts its fence (fence_after) from the last answer it had.
        bdcoord::v1::CoordinatorMessage ack;
        ack.mutable_heartbeat_ack();
        absl::MutexLock lock(&session->write_mu);
        if (session->stream != nullptr) session->stream->Write(ack);
        break;
      }
      case bdcoord::v1::AgentMessage::kStatus: {
        inventory_.Heartbeat(host, now_());
        std::optional<bdcoord::v1::StatusReport> previous;
        {
          absl::MutexLock lock(&mu_);
          auto& by_cluster = statuses_[host];
          auto it = by_cluster.find(message.status().cluster());
          if (it != by_cluster.end()) previous = std::move(it->second);
          by_cluster[message.status().cluster()] = message.status();
        }
        PublishChanges(host, previous.has_value() ? &*previous : nullptr, message.status());
        on_change_();
        break;
      }
      case bdcoord::v1::AgentMessage::kLogs:
        log_router_.Dispatch(host, message.logs());
        break;
      case bdcoord::v1::AgentMessage::kResult: {
        absl::MutexLock lock(&commands_mu_);
        auto it = commands_.find(message.result().request_id());
        if (it != commands_.end() && it->second->host == host)
          it->second->result = message.result();
        break;
      }
      case bdcoord::v1::AgentMessage::kImages: {
        absl::MutexLock lock(&commands_mu_);
        auto it = commands_.find(message.images().request_id());
        if (it != commands_.end() && it->second->host == host)
          it->second->images = message.images();
        break;
      }
      case bdcoord::v1::AgentMessage::kHello:
        logger_->warn("host '{}' sent a second hello; ignored", host);
        break;
      default:
        break;
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
  if (open_streams_ != nullptr) open_streams_->Decrement();
  inventory_.Disconnected(host, session->id);
  log_router_.HostDisconnected(host);
  {
    absl::MutexLock lock(&commands_mu_);
    for (auto& [id, command] : commands_) {
      if (command->host == host) command->host_gone = true;
    }
  }
  on_change_();
  logger_->info("host '{}' disconnected", host);
  PublishHost(host, kEventHostDown, "disconnected");
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

uint64_t AgentServiceImpl::ExpectResult(const std::string& host) {
  auto command = std::make_shared<PendingCommand>();
  command->host = host;
  absl::MutexLock lock(&commands_mu_);
  const uint64_t id = next_command_++;
  commands_[id] = std::move(command);
  return id;
}

absl::Status AgentServiceImpl::AwaitAnswer(uint64_t request_id, absl::Time deadline,
                                           const char* what,
                                           std::shared_ptr<PendingCommand>* command) {
  absl::MutexLock lock(&commands_mu_);
  auto it = commands_.find(request_id);
  if (it == commands_.end()) return absl::NotFoundError("no such request");
  *command = it->second;
  const PendingCommand* pending = command->get();
  auto answered = [pending]() {
    return pending->result.has_value() || pending->images.has_value() || pending->host_gone;
  };
  commands_mu_.AwaitWithDeadline(absl::Condition(&answered), deadline);
  commands_.erase(request_id);
  if (pending->result.has_value() || pending->images.has_value()) return absl::OkStatus();
  if (pending->host_gone) {
    return absl::UnavailableError(
        absl::StrCat("host '", pending->host, "' went away before answering the ", what));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("host '", pending->host, "' did not answer the ", what, " in time"));
}

absl::StatusOr<bdcoord::v1::CommandResult> AgentServiceImpl::AwaitResult(uint64_t request_id,
                                                                         absl::Time deadline) {
  std::shared_ptr<PendingCommand> command;
  if (absl::Status answered = AwaitAnswer(request_id, deadline, "request", &command);
      !answered.ok()) {
    return answered;
  }
  if (!command->result.has_value()) return absl::InternalError("the answer is not a result");
  return *command->result;
}

absl::StatusOr<bdcoord::v1::CommandResult> AgentServiceImpl::RunProbe(
    const std::string& host, bdcoord::v1::ProbeRequest request, absl::Time deadline) {
  request.set_request_id(ExpectResult(host));
  bdcoord::v1::CoordinatorMessage message;
  *message.mutable_probe() = request;
  std::shared_ptr<PendingCommand> command;
  if (absl::Status sent = Send(host, message); !sent.ok()) {
    AwaitAnswer(request.request_id(), absl::InfinitePast(), "probe", &command).IgnoreError();
    return sent;
  }
  if (absl::Status answered = AwaitAnswer(request.request_id(), deadline, "probe", &command);
      !answered.ok()) {
    return answered;
  }
  if (!command->result.has_value()) return absl::InternalError("the answer is not a result");
  return *command->result;
}

std::map<std::string, absl::StatusOr<bdcoord::v1::ImageList>> AgentServiceImpl::ListImages(
    const std::vector<std::string>& hosts, absl::Time deadline) {
  std::map<std::string, absl::StatusOr<bdcoord::v1::ImageList>> lists;
  std::map<std::string, uint64_t> asked;
  for (const std::string& host : hosts) {
    bdcoord::v1::CoordinatorMessage message;
    message.mutable_list_images()->set_request_id(ExpectResult(host));
    const uint64_t id = message.list_images().request_id();
    if (absl::Status sent = Send(host, message); !sent.ok()) {
      std::shared_ptr<PendingCommand> command;
      AwaitAnswer(id, absl::InfinitePast(), "image list", &command).IgnoreError();
      lists.insert_or_assign(host, sent);
      continue;
    }
    asked[host] = id;
  }
  for (const auto& [host, id] : asked) {
    std::shared_ptr<PendingCommand> command;
    if (absl::Status answered = AwaitAnswer(id, deadline, "image list", &command); !answered.ok()) {
      lists.insert_or_assign(host, answered);
    } else if (!command->images.has_value()) {
      lists.insert_or_assign(host, absl::InternalError("the answer is not an image list"));
    } else {
      lists.insert_or_assign(host, *command->images);
    }
  }
  return lists;
}

std::map<std::string, bdcoord::v1::StatusReport> AgentServiceImpl::LatestStatuses(
    const std::string& host) const {
  absl::MutexLock lock(&mu_);
  auto it = statuses_.find(host);
  if (it == statuses_.end()) return {};
  return std::map<std::string, bdcoord::v1::StatusReport>(it->second.begin(), it->second.end());
}

HeartbeatMonitor::HeartbeatMonitor(Inventory& inventory, std::shared_ptr<spdlog::logger> logger,
                                   absl::Duration timeout, absl::Duration period,
                                   std::function<absl::Time()> now, EventBus& events,
                                   std::function<void()> each_period)
    : inventory_(inventory),
      logger_(std::move(logger)),
      timeout_(timeout),
      period_(period),
      now_(std::move(now)),
      events_(events),
      each_period_(std::move(each_period)) {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!stop_) {
      mu_.AwaitWithTimeout(absl::Condition(&stop_), period_);
      if (stop_) break;
      for (const std::string& host : inventory_.MarkDown(now_(), timeout_)) {
        logger_->warn("host '{}' is down: no heartbeat for more than {}", host,
                      absl::FormatDuration(timeout_));
        bdcoord::v1::Event event;
        event.set_host(host);
        event.set_kind(kEventHostDown);
        event.set_message(
            absl::StrCat("no heartbeat for more than ", absl::FormatDuration(timeout_)));
        events_.Publish(std::move(event));
      }
      if (each_period_) {
        mu_.Unlock();  // Stop must not wait on it for the lock
        each_period_();
        mu_.Lock();
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
