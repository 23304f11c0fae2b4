#include "agent/coordinator_link.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/rpc/client_channel.h"
#include "proto/rpc/coordinator_addresses.h"
#include "proto/rpc/limits.h"
#include "spdlog/spdlog.h"

namespace bdcoord::agent {
namespace {

// With the arguments of every client channel to a coordinator (proto/rpc/limits.h).
std::shared_ptr<grpc::Channel> InsecureChannel(const std::string& address) {
  grpc::ChannelArguments arguments;
  rpc::ApplyClientChannelArguments(arguments);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments);
}

}  // namespace

absl::Duration ReconnectDelay(const CoordinatorLinkOptions& options, absl::Duration backoff,
                              absl::Duration since_served) {
  // Within the maximum backoff of a served stream's end (two heartbeats answered): a failover or
  // a restart is under way and the next leader comes within a lease, so every round is retried
  // soon; only an agent that has not been served for that long backs off.
  return since_served < options.max_backoff ? options.min_backoff : backoff;
}

bool StreamWasServed(const CoordinatorLinkOptions& options, absl::Duration lived) {
  return lived > 2 * options.heartbeat_interval;
}

absl::Duration NextLinkBackoff(const CoordinatorLinkOptions& options, absl::Duration delay) {
  return std::min(delay * 2, options.max_backoff);
}

std::string StreamErrorHint(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return " (hint: give the coordinator's token with --token-file, or connect over mutual TLS)";
  }
  if (bdcoord::rpc::LooksLikeTlsFailure(status)) {
    return " (hint: check --tls-ca, --tls-cert, --tls-key and the name in the coordinator's "
           "certificate, or --tls-server-name)";
  }
  return "";
}

bdcoord::v1::AgentMessage HelloMessage(const CoordinatorLinkOptions& options) {
  bdcoord::v1::AgentMessage hello;
  hello.mutable_hello()->set_host(options.host_name);
  *hello.mutable_hello()->mutable_facts() = options.facts();
  return hello;
}

CoordinatorLink::CoordinatorLink(CoordinatorLinkOptions options, DesiredCallback on_desired)
    : options_(std::move(options)), on_desired_(std::move(on_desired)) {}

CoordinatorLink::~CoordinatorLink() { Stop(); }

void CoordinatorLink::Start() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void CoordinatorLink::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

bool CoordinatorLink::Write(const bdcoord::v1::AgentMessage& message) {
  absl::MutexLock lock(&write_mu_);
  return stream_ != nullptr && stream_->Write(message);
}

bool CoordinatorLink::SendStatus(const bdcoord::v1::StatusReport& report) {
  bdcoord::v1::AgentMessage message;
  *message.mutable_status() = report;
  return connected_ && Write(message);
}

bool CoordinatorLink::SendLogChunk(const bdcoord::v1::AgentLogChunk& chunk) {
  bdcoord::v1::AgentMessage message;
  *message.mutable_logs() = chunk;
  return connected_ && Write(message);
}

bool CoordinatorLink::SendResult(const bdcoord::v1::CommandResult& result) {
  bdcoord::v1::AgentMessage message;
  *message.mutable_result() = result;
  return connected_ && Write(message);
}

bool CoordinatorLink::SendImageList(const bdcoord::v1::ImageList& list) {
  bdcoord::v1::AgentMessage message;
  *message.mutable_images() = list;
  return connected_ && Write(message);
}

void CoordinatorLink::SleepUnlessStopped(absl::Duration duration) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stop_), duration);
}

void CoordinatorLink::Run() {
  auto logger = spdlog::default_logger();
  const std::vector<std::string> addresses =
      options_.addresses.empty() ? std::vector<std::string>{options_.address} : options_.addresses;
  std::map<std::string, std::unique_ptr<bdcoord::v1::AgentService::Stub>> stubs;
  auto stub_for = [&](const std::string& address) {
    std::unique_ptr<bdcoord::v1::AgentService::Stub>& stub = stubs[address];
    if (stub == nullptr) {
      std::shared_ptr<grpc::Channel> channel =
          address == options_.address && options_.channel != nullptr ? options_.channel
          : options_.dial != nullptr                                 ? options_.dial(address)
                                                                     : nullptr;
      stub = bdcoord::v1::AgentService::NewStub(channel != nullptr ? channel
                                                                   : InsecureChannel(address));
    }
    return stub.get();
  };
  absl::Duration backoff = options_.min_backoff;
  rpc::LeaderSearch search(addresses);
  std::string address = *search.Next();
  std::string named;                               // the leader a standby named last
  absl::Time served_until = absl::InfinitePast();  // the end of the last served stream
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
    }
    const absl::Time started = options_.now();
    const std::string leader = RunStream(stub_for(address), address);
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
    }
    if (const absl::Time ended = options_.now(); StreamWasServed(options_, ended - started)) {
      served_until = ended;
    }
    if (!leader.empty()) named = leader;
    search.Redirected(leader);
    if (std::optional<std::string> next = search.Next()) {  // another coordinator, at once
      address = *next;
      continue;
    }
    search = rpc::LeaderSearch(addresses);  // each was tried: a new round after the backoff
    search.Redirected(named);
    address = *search.Next();
    const absl::Duration delay = ReconnectDelay(options_, backoff, options_.now() - served_until);
    logger->debug("reconnecting to the coordinator at '{}' in {}", address,
                  absl::FormatDuration(delay));
    SleepUnlessStopped(delay);
    backoff = NextLinkBackoff(options_, delay);
  }
}

std::string CoordinatorLink::RunStream(bdcoord::v1::AgentService::Stub* stub,
                                       const std::string& address) {
  auto logger = spdlog::default_logger();
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return "";
    context_ = &context;
    stream_done_ = false;
  }
  auto stream = stub->Connect(&context);
  {
    absl::MutexLock lock(&write_mu_);
    stream_ = stream.get();
  }
  std::thread reader;
  if (Write(HelloMessage(options_))) {
    connected_ = true;
    if (options_.connected_gauge != nullptr) options_.connected_gauge->Set(1);
    errors_said_.clear();
    logger->info("connected to the coordinator at '{}' as '{}'", address, options_.host_name);
    reader = std::thread([&] {
      bdcoord::v1::CoordinatorMessage message;
      while (stream->Read(&message)) {
        if (options_.on_contact) options_.on_contact();
        if (message.has_desired()) {
          logger->info("desired state of cluster '{}': {} instances", message.desired().cluster(),
                       message.desired().instances_size());
          on_desired_(message.desired());
        } else if (message.has_logs() && options_.on_logs) {
          options_.on_logs(message.logs());
        } else if (message.has_probe() && options_.on_probe) {
          options_.on_probe(message.probe());
        } else if (message.has_image() && options_.on_image) {
          options_.on_image(message.image());
        } else if (message.has_list_images() && options_.on_list_images) {
          options_.on_list_images(message.list_images());
        }
      }
      absl::MutexLock lock(&mu_);
      stream_done_ = true;
    });
    bdcoord::v1::AgentMessage heartbeat;
    heartbeat.mutable_heartbeat();
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(this, &CoordinatorLink::StopOrStreamDone),
                             options_.heartbeat_interval);
        if (stop_ || stream_done_) break;
      }
      if (!Write(heartbeat)) break;
    }
  }
  const bool was_connected = connected_.exchange(false);
  if (options_.connected_gauge != nullptr) options_.connected_gauge->Set(0);
  bool reader_done = false;
  {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
    reader_done = stream_done_;
  }
  // Unblocks the reader when we stopped or a write failed. Not when the coordinator ended the
  // stream: cancelling would replace its status (e.g. UNAUTHENTICATED) with CANCELLED.
  if (!reader_done) context.TryCancel();
  if (reader.joinable()) reader.join();
  {
    absl::MutexLock lock(&write_mu_);
    stream_ = nullptr;
  }
  if (was_connected && options_.on_disconnected) options_.on_disconnected();
  const grpc::Status status = stream->Finish();
  std::string error =
      status.error_message().empty() ? std::string("the stream ended") : status.error_message();
  bool stopping = false;
  {
    absl::MutexLock lock(&mu_);
    stopping = stop_;
  }
  // Said once, not at every retry.
  if (!stopping && errors_said_.insert(absl::StrCat(address, " ", error)).second) {
    logger->warn("no stream to the coordinator at '{}': {}{}", address, error,
                 StreamErrorHint(status));
  }
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto leader = trailers.find(rpc::kLeaderTrailer);
  return leader != trailers.end() ? std::string(leader->second.data(), leader->second.size()) : "";
}

}  // namespace bdcoord::agent
