#include "coordinator/state/log_router.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace bdcoord::coordinator {

LogRouter::LogRouter(Sender send) : send_(std::move(send)) {}

absl::StatusOr<uint64_t> LogRouter::RequestLogs(const std::string& host,
                                                const std::string& container,
                                                const std::string& instance, bool follow,
                                                int32_t tail, ChunkCallback on_chunk) {
  auto request = std::make_shared<Request>();
  request->host = host;
  request->container = container;
  request->instance = instance;
  request->on_chunk = std::move(on_chunk);
  uint64_t id = 0;
  {
    // Registered before sending: the first chunk may come back before Send returns.
    absl::MutexLock lock(&mu_);
    id = next_id_++;
    requests_[id] = request;
  }
  bdcoord::v1::CoordinatorMessage message;
  bdcoord::v1::LogRequest* logs = message.mutable_logs();
  logs->set_request_id(id);
  logs->set_container(container);
  logs->set_follow(follow);
  logs->set_tail(tail);
  absl::Status sent = send_(host, message);
  if (!sent.ok()) {
    absl::MutexLock lock(&mu_);
    requests_.erase(id);
    return sent;
  }
  return id;
}

void LogRouter::CancelLogs(uint64_t request_id) {
  std::shared_ptr<Request> request;
  {
    absl::MutexLock lock(&mu_);
    auto it = requests_.find(request_id);
    if (it == requests_.end()) return;
    request = std::move(it->second);
    requests_.erase(it);
  }
  bool was_open = false;
  {
    absl::MutexLock lock(&request->mu);  // waits for a callback that is running
    was_open = !request->done;
    request->done = true;
  }
  if (was_open) {
    bdcoord::v1::CoordinatorMessage message;
    message.mutable_logs()->set_request_id(request_id);
    message.mutable_logs()->set_container(request->container);
    message.mutable_logs()->set_cancel(true);
    (void)send_(request->host, message);  // a host that is gone has nothing left to stop
  }
}

void LogRouter::Deliver(Request* request, const bdcoord::v1::AgentLogChunk& chunk,
                        const absl::Status& ended) {
  absl::MutexLock lock(&request->mu);
  if (request->done) return;
  if (chunk.end() || !ended.ok()) request->done = true;
  request->on_chunk(chunk, ended);
}

void LogRouter::Forget(uint64_t request_id, const Request* request) {
  absl::MutexLock lock(&mu_);
  auto it = requests_.find(request_id);
  if (it != requests_.end() && it->second.get() == request) requests_.erase(it);
}

void LogRouter::Dispatch(const std::string& host, const bdcoord::v1::AgentLogChunk& chunk) {
  std::shared_ptr<Request> request;
  {
    absl::MutexLock lock(&mu_);
    auto it = requests_.find(chunk.request_id());
    if (it == requests_.end() || it->second->host != host) return;
    request = it->second;
  }
  absl::Status ended = absl::OkStatus();
  if (chunk.end() && !chunk.error().empty()) {
    ended = absl::FailedPreconditionError(
        absl::StrCat("logs of '", request->instance, "' on host '", host, "': ", chunk.error()));
  }
  // Delivered while still registered, forgotten after: a concurrent CancelLogs finds the request
  // and waits for the callback.
  Deliver(request.get(), chunk, ended);
  if (chunk.end()) Forget(chunk.request_id(), request.get());
}

void LogRouter::HostDisconnected(const std::string& host) {
  std::vector<std::pair<uint64_t, std::shared_ptr<Request>>> gone;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, request] : requests_) {
      if (request->host == host) gone.emplace_back(id, request);
    }
  }
  for (auto& [id, request] : gone) {
    bdcoord::v1::AgentLogChunk chunk;
    chunk.set_request_id(id);
    chunk.set_instance(request->instance);
    chunk.set_end(true);
    chunk.set_error(absl::StrCat("host '", host, "' disconnected"));
    // "not connected": what clients (bdcoord's ReportRpcError) tell apart from an unreachable
    // coordinator.
    Deliver(request.get(), chunk,
            absl::UnavailableError(absl::StrCat("host '", host,
                                                "' is not connected any more: it disconnected "
                                                "while streaming the logs of '",
                                                request->instance, "'")));
    Forget(id, request.get());
  }
}

size_t LogRouter::open_requests() const {
  absl::MutexLock lock(&mu_);
  return requests_.size();
}

}  // namespace bdcoord::coordinator
