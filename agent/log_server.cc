#include "agent/log_server.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/docker/labels.h"
#include "proto/rpc/logging.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace bdcoord::agent {
namespace {

constexpr char kLoggerName[] = "bdagent-logs";

std::shared_ptr<spdlog::logger> Logger() {
  static const std::shared_ptr<spdlog::logger> logger = rpc::NamedLogger(kLoggerName);
  return logger;
}

// Lines read from Docker and not sent yet; the reader fills it, the flusher empties it.
struct Batch {
  explicit Batch(size_t max) : max_lines(max) {}
  bool FlushDue() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return done || lines.size() >= max_lines;
  }
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return lines.size() < 4 * max_lines; }

  const size_t max_lines;
  absl::Mutex mu;
  std::vector<std::pair<bool, std::string>> lines ABSL_GUARDED_BY(mu);  // (stderr, text)
  bool done ABSL_GUARDED_BY(mu) = false;                                // the reader returned
};

}  // namespace

std::vector<std::string> SplitLine(absl::string_view text, size_t max) {
  std::vector<std::string> pieces;
  while (text.size() > max) {
    size_t n = max;
    // Back off continuation bytes (10xxxxxx): a character stays whole, in the next piece.
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = max;  // not UTF-8 at all: cut anywhere
    pieces.emplace_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  pieces.emplace_back(text);
  return pieces;
}

LogServer::LogServer(DockerClient* docker, Sender send, LogServerOptions options)
    : docker_(docker), send_(std::move(send)), options_(options) {}

LogServer::~LogServer() {
  CancelAll();
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](absl::flat_hash_map<uint64_t, Active>* active) { return active->empty(); }, &active_));
    threads.swap(done_threads_);
  }
  for (auto& thread : threads) thread.join();
}

void LogServer::Handle(const bdcoord::v1::LogRequest& request) {
  absl::MutexLock lock(&mu_);
  ReapFinished();
  auto it = active_.find(request.request_id());
  if (request.cancel()) {
    if (it != active_.end()) *it->second.cancelled = true;
    return;
  }
  if (it != active_.end()) {
    Logger()->warn("log request {} is already running; ignored", request.request_id());
    return;
  }
  Active& active = active_[request.request_id()];
  active.cancelled = std::make_shared<std::atomic<bool>>(false);
  // Started under mu_: Finished (which moves the thread) waits until it is stored.
  active.thread = std::thread([this, request, cancelled = active.cancelled] {
    Serve(request, cancelled);
    Finished(request.request_id());
  });
}

void LogServer::CancelAll() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, active] : active_) *active.cancelled = true;
}

size_t LogServer::active() const {
  absl::MutexLock lock(&mu_);
  return active_.size();
}

void LogServer::Finished(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return;
  done_threads_.push_back(std::move(it->second.thread));  // joined later, not from itself
  active_.erase(it);
}

void LogServer::ReapFinished() {
  // Threads in done_threads_ have nothing left to do but return: joining is quick.
  for (auto& thread : done_threads_) thread.join();
  done_threads_.clear();
}

void LogServer::Serve(const bdcoord::v1::LogRequest& request,
                      std::shared_ptr<std::atomic<bool>> cancelled) {
  auto logger = Logger();
  const std::string& name = request.container();
  bdcoord::v1::AgentLogChunk end;
  end.set_request_id(request.request_id());
  end.set_instance(name);
  end.set_end(true);

  // Only a container of a bdcoord cluster, by its exact name or full ID (inspect also takes ID
  // prefixes).
  absl::StatusOr<ContainerInfo> info = docker_->InspectContainer(name);
  if (!info.ok() || (info->name != name && info->id != name)) {
    end.set_error(absl::IsNotFound(info.status()) || info.ok()
                      ? absl::StrCat("no container named '", name, "' on this host")
                      : std::string(info.status().message()));
    logger->info("log request {} for '{}' refused: {}", request.request_id(), name, end.error());
    send_(end);
    return;
  }
  if (!info->labels.contains(kClusterLabel)) {
    end.set_error(absl::StrCat("container '", name, "' is not managed by bdcoord (no label ",
                               kClusterLabel, "): its logs are not served"));
    logger->warn("log request {} for '{}' refused: not a bdcoord container", request.request_id(),
                 name);
    send_(end);
    return;
  }
  logger->debug("log request {} for '{}' (follow {}, tail {})", request.request_id(), name,
                request.follow(), request.tail());

  const size_t max_lines = std::max<size_t>(1, options_.max_lines_per_chunk);
  const size_t max_bytes = std::max<size_t>(1, options_.max_chunk_bytes);
  const size_t max_line = std::max<size_t>(4, std::min(options_.max_line_bytes, max_bytes));
  Batch batch(max_lines);
  // The flusher: a chunk when max_lines are there, or every flush_interval while lines wait.
  std::thread flusher([&] {
    while (true) {
      std::vector<std::pair<bool, std::string>> lines;
      bool done = false;
      {
        absl::MutexLock lock(&batch.mu);
        batch.mu.AwaitWithTimeout(absl::Condition(&batch, &Batch::FlushDue),
                                  options_.flush_interval);
        lines.swap(batch.lines);
        done = batch.done;
      }
      // One chunk per run of lines of the same stream, at most max_lines each.
      for (size_t i = 0; i < lines.size();) {
        bdcoord::v1::AgentLogChunk chunk;
        chunk.set_request_id(request.request_id());
        chunk.set_instance(name);
        chunk.set_stderr(lines[i].first);
        size_t bytes = 0;
        for (; i < lines.size() && lines[i].first == chunk.stderr() &&
               static_cast<size_t>(chunk.lines_size()) < max_lines &&
               (chunk.lines_size() == 0 || bytes + lines[i].second.size() <= max_bytes);
             ++i) {
          bytes += lines[i].second.size();
          chunk.add_lines(std::move(lines[i].second));
        }
        if (!*cancelled && !send_(chunk)) *cancelled = true;  // the stream is gone
      }
      if (done) return;
    }
  });

  LogOptions options;
  options.follow = request.follow();
  options.tail = request.tail() > 0 ? request.tail() : -1;
  options.stop = [cancelled] { return cancelled->load(); };
  const absl::Status status = docker_->Logs(info->id, options, [&](const LogLine& line) {
    absl::MutexLock lock(&batch.mu);
    // Bounded: when the coordinator reads slower than Docker writes, Docker waits.
    while (!batch.HasRoom() && !*cancelled) {
      batch.mu.AwaitWithTimeout(absl::Condition(&batch, &Batch::HasRoom), absl::Milliseconds(50));
    }
    const bool stderr_line = line.stream == LogLine::Stream::kStderr;
    if (line.text.size() <= max_line) {  // nearly every line: no split, no extra copy
      batch.lines.emplace_back(stderr_line, line.text);
    } else {
      for (std::string& piece : SplitLine(line.text, max_line)) {
        batch.lines.emplace_back(stderr_line, std::move(piece));
      }
    }
    return !cancelled->load();
  });
  {
    absl::MutexLock lock(&batch.mu);
    batch.done = true;
  }
  flusher.join();
  if (!status.ok() && !*cancelled) end.set_error(std::string(status.message()));
  if (!*cancelled) send_(end);
  logger->debug("log request {} for '{}' ended{}", request.request_id(), name,
                *cancelled ? " (cancelled)" : "");
}

}  // namespace bdcoord::agent
