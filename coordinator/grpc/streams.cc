#include "coordinator/grpc/streams.h"

#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/grpc/cluster_service.h"
#include "coordinator/grpc/peer_identity.h"
#include "proto/rpc/bearer_token.h"
#include "proto/rpc/stream_headers.h"

namespace bdcoord::coordinator {

std::string StreamClient(const grpc::ServerContextBase& context) {
  if (auto auth = context.auth_context(); auth != nullptr && auth->IsPeerAuthenticated()) {
    if (auto names = CertificateHostNames(*auth); names.has_value() && !names->empty()) {
      return absl::StrCat("certificate ", absl::StrJoin(*names, ","));
    }
  }
  if (context.client_metadata().count(bdcoord::rpc::kAuthorizationKey) > 0) return "bearer token";
  // "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", "unix:/path" or "unix:".
  std::string peer = context.peer();
  if (absl::StartsWith(peer, "unix:")) return "unix";
  if (const size_t colon = peer.rfind(':'); colon != std::string::npos) peer.resize(colon);
  return peer;
}

StreamRegistry::StreamRegistry(size_t max_streams, size_t max_per_client,
                               const ServiceMetrics* metrics)
    : max_streams_(max_streams), max_per_client_(max_per_client), metrics_(metrics) {
  worker_ = std::thread([this] { RunDeferred(); });
}

StreamRegistry::~StreamRegistry() {
  {
    absl::MutexLock lock(&work_mu_);
    stop_ = true;
  }
  worker_.join();
}

void StreamRegistry::Defer(std::function<void()> work) {
  absl::MutexLock lock(&work_mu_);
  work_.push_back(std::move(work));
}

void StreamRegistry::AwaitDeferred() {
  absl::MutexLock lock(&work_mu_);
  auto idle = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(work_mu_) { return work_.empty() && !running_; };
  work_mu_.Await(absl::Condition(&idle));
}

void StreamRegistry::RunDeferred() {
  absl::MutexLock lock(&work_mu_);
  while (true) {
    auto ready = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(work_mu_) { return !work_.empty() || stop_; };
    work_mu_.Await(absl::Condition(&ready));
    if (work_.empty()) return;  // stopping, and nothing is left
    std::function<void()> work = std::move(work_.front());
    work_.pop_front();
    running_ = true;
    work_mu_.Unlock();
    work();
    work_mu_.Lock();
    running_ = false;
  }
}

void StreamRegistry::SetClosed(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  closed_ = status;
}

absl::Status StreamRegistry::Open(const std::string& client, std::string_view kind,
                                  Stream* stream) {
  absl::MutexLock lock(&mu_);
  if (!closed_.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(closed_.error_code()),
                        closed_.error_message());
  }
  if (streams_.size() >= max_streams_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many streams: ", streams_.size(),
                     " log and event streams are open, the most bdcoordd allows "
                     "(--max-streams); try again when some end"));
  }
  size_t& mine = per_client_[client];
  if (mine >= max_per_client_) {
    if (mine == 0) per_client_.erase(client);
    return absl::ResourceExhaustedError(
        absl::StrCat("too many streams from this client (", client, "): ", mine,
                     " log and event streams are open, the most bdcoordd allows per client "
                     "(--max-streams-per-client); end some first"));
  }
  ++mine;
  OpenStream& open = streams_[stream];
  open.client = client;
  if (metrics_ != nullptr) {
    open.gauge = &metrics_->Streams(kind);
    open.gauge->Increment();
  }
  return absl::OkStatus();
}

void StreamRegistry::Close(Stream* stream) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  auto count = per_client_.find(it->second.client);
  if (count != per_client_.end() && --count->second == 0) per_client_.erase(count);
  if (it->second.gauge != nullptr) it->second.gauge->Decrement();
  streams_.erase(it);
}

void StreamRegistry::StopAll(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  for (const auto& [stream, open] : streams_) stream->Stop(status);
}

size_t StreamRegistry::open() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

namespace {

// A server stream that writes what its source has ready, one message at a time, and ends
// exactly once: when the source says so, the client cancels or goes, or Stop. Pump() is the one
// place that starts a write or finishes, and it runs whenever something changed: a source's
// callback, a write done, a cancel, a stop. gRPC calls are made without holding mu_ (a source's
// callback may be waiting for it).
template <typename Message>
class PumpedStream : public grpc::ServerWriteReactor<Message>, public StreamRegistry::Stream {
 public:
  explicit PumpedStream(StreamRegistry& registry) : registry_(registry) {}

  void Stop(const grpc::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      if (!stop_.has_value()) stop_ = status;
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) client_gone_ = true;
    }
    Pump();
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      client_gone_ = true;
    }
    Pump();
  }

  void OnDone() override {
    if (registered_.ok()) registry_.Close(this);
    // On the registry's thread: not on gRPC's (cancelling a log request writes on an agent's
    // stream, which blocks), nor a source's (releasing a source waits for its callback).
    registry_.Defer([this] {
      ReleaseSources();
      delete this;
    });
  }

 protected:
  // Derived constructors call this last: no write or finish happens before (a source's early
  // callback only queues), so OnDone cannot delete a half-built stream.
  void Started() {
    {
      absl::MutexLock lock(&mu_);
      starting_ = false;
    }
    Pump();
  }
  // Derived constructors call this first: from here StopAll may reach the stream, so the
  // object is whole (its final type) by then. The error is the refusal (a cap).
  const absl::Status& Register(const grpc::CallbackServerContext& context, std::string_view kind) {
    registered_ = registry_.Open(StreamClient(context), kind, this);
    return registered_;
  }

  // Under mu_: the next message into *out; false when none is ready.
  virtual bool NextLocked(Message* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // Under mu_, when nothing is ready: the stream's end status, or nullopt to wait for more.
  virtual std::optional<grpc::Status> EndLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // Unsubscribes and cancels; after it no source calls back.
  virtual void ReleaseSources() = 0;

  void Pump() {
    enum { kNothing, kWrite, kFinish } action = kNothing;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (starting_ || writing_ || finished_) return;
      if (client_gone_) {
        action = kFinish;
        status = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
      } else if (stop_.has_value()) {
        action = kFinish;
        status = *stop_;
      } else if (NextLocked(&current_)) {
        action = kWrite;
        writing_ = true;
      } else if (std::optional<grpc::Status> end = EndLocked(); end.has_value()) {
        action = kFinish;
        status = *std::move(end);
      }
      if (action == kFinish) finished_ = true;
    }
    if (action == kWrite) this->StartWrite(&current_);
    if (action == kFinish) this->Finish(status);
  }

  absl::Mutex mu_;

 private:
  StreamRegistry& registry_;
  absl::Status registered_;
  bool starting_ ABSL_GUARDED_BY(mu_) = true;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // current_ belongs to gRPC until OnWriteDone
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool client_gone_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> stop_ ABSL_GUARDED_BY(mu_);
  Message current_;
};

class EventStream final : public PumpedStream<bdcoord::v1::Event> {
 public:
  EventStream(grpc::CallbackServerContext* context, const bdcoord::v1::WatchEventsRequest& request,
              EventBus& events, StreamRegistry& registry)
      : PumpedStream(registry) {
    if (const absl::Status& registered = Register(*context, "events"); !registered.ok()) {
      Stop(ToGrpc(registered));
    } else {
      subscription_ = events.Subscribe(request.cluster(), [this] { Pump(); });
      // Headers go out now: the client knows it is subscribed before the first event.
      context->AddInitialMetadata(rpc::kSubscribedHeader, "1");
      StartSendInitialMetadata();
    }
    Started();
  }

 private:
  bool NextLocked(bdcoord::v1::Event* out) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (subscription_ == nullptr) return false;
    std::optional<bdcoord::v1::Event> event = subscription_->TryNext();
    if (!event.has_value()) return false;
    *out = *std::move(event);
    return true;
  }
  std::optional<grpc::Status> EndLocked() override { return std::nullopt; }
  void ReleaseSources() override { subscription_.reset(); }

  std::unique_ptr<EventBus::Subscription> subscription_;  // set in the constructor only
};

class LogStream final : public PumpedStream<bdcoord::v1::LogLine> {
 public:
  LogStream(grpc::CallbackServerContext* context, const bdcoord::v1::StreamLogsRequest& request,
            ClusterOps& ops, LogRouter& logs, StreamRegistry& registry, size_t queue_bytes)
      : PumpedStream(registry), logs_(logs), queue_bytes_(queue_bytes) {
    if (const absl::Status& registered = Register(*context, "logs"); !registered.ok()) {
      Stop(ToGrpc(registered));
      Started();
      return;
    }
    absl::StatusOr<std::vector<ClusterOps::LogTarget>> targets =
        ops.LogTargets(request.cluster(), request.target());
    if (!targets.ok()) {
      Stop(ToGrpc(targets.status()));
      Started();
      return;
    }
    for (const ClusterOps::LogTarget& target : *targets) {
      {
        absl::MutexLock lock(&mu_);
        ++open_;
      }
      const std::string instance = target.instance;
      absl::StatusOr<uint64_t> id = logs_.RequestLogs(
          target.host, target.container, instance, request.follow(), request.tail(),
          [this, instance](const bdcoord::v1::AgentLogChunk& chunk, const absl::Status& ended) {
            OnChunk(instance, chunk, ended);
          });
      if (!id.ok()) {
        // What came from the others is moot: the error alone (ReleaseSources cancels them).
        absl::MutexLock lock(&mu_);
        queue_.clear();
        error_ = id.status();
        break;
      }
      ids_.push_back(*id);
    }
    Started();
  }

 private:
  // A line, or (dropped > 0) the marker for the lines dropped after the one before it.
  struct Entry {
    bdcoord::v1::LogLine line;
    uint64_t dropped = 0;
  };

  // On the agent's stream thread (the router's callback): queue, then write if idle.
  void OnChunk(const std::string& instance, const bdcoord::v1::AgentLogChunk& chunk,
               const absl::Status& ended) {
    {
      absl::MutexLock lock(&mu_);
      if (error_.ok()) {
        for (const std::string& text : chunk.lines()) Queue(instance, text, chunk.stderr());
        if (!ended.ok()) error_ = ended;
      }
      if (chunk.end() || !ended.ok()) --open_;
    }
    Pump();
  }

  void Queue(const std::string& instance, const std::string& text, bool is_stderr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const size_t bytes = text.size();
    if (queued_ + bytes > queue_bytes_) {
      // The newest go: what is queued stays in order, the marker says where the gap is.
      if (queue_.empty() || queue_.back().dropped == 0) {
        Entry& marker = queue_.emplace_back();
        marker.line.set_instance(instance);
      }
      queue_.back().dropped += bytes;
      return;
    }
    Entry& entry = queue_.emplace_back();
    entry.line.set_instance(instance);
    entry.line.set_text(text);
    entry.line.set_stderr(is_stderr);
    queued_ += bytes;
  }

  bool NextLocked(bdcoord::v1::LogLine* out) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (queue_.empty()) return false;
    Entry& entry = queue_.front();
    if (entry.dropped > 0) {
      entry.line.set_text(absl::StrCat("[... ", entry.dropped, " bytes dropped ...]"));
    } else {
      queued_ -= entry.line.text().size();
    }
    *out = std::move(entry.line);
    queue_.pop_front();
    return true;
  }

  std::optional<grpc::Status> EndLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!error_.ok()) return ToGrpc(error_);
    if (open_ == 0) return grpc::Status::OK;
    return std::nullopt;
  }

  void ReleaseSources() override {
    // Every request ended or is cancelled here; no callback runs after CancelLogs returns.
    for (uint64_t id : ids_) logs_.CancelLogs(id);
  }

  LogRouter& logs_;
  const size_t queue_bytes_;
  std::vector<uint64_t> ids_;  // written in the constructor only
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;  // bytes of text in queue_
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;    // requests not ended yet
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

grpc::ServerWriteReactor<bdcoord::v1::Event>* NewEventStream(
    grpc::CallbackServerContext* context, const bdcoord::v1::WatchEventsRequest& request,
    EventBus& events, StreamRegistry& registry) {
  return new EventStream(context, request, events, registry);
}

grpc::ServerWriteReactor<bdcoord::v1::LogLine>* NewLogStream(
    grpc::CallbackServerContext* context, const bdcoord::v1::StreamLogsRequest& request,
    ClusterOps& ops, LogRouter& logs, StreamRegistry& registry, size_t queue_bytes) {
  return new LogStream(context, request, ops, logs, registry, queue_bytes);
}

}  // namespace bdcoord::coordinator
