#include "coordinator/web/status_page.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include <deque>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "coordinator/web/status_page_assets.h"
#include "nlohmann/json.hpp"
#include "proto/rpc/bearer_token.h"
#include "proto/rpc/logging.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::ClusterService;
using nlohmann::json;

constexpr int kMaxLogLines = 1000;
constexpr int kDefaultLogLines = 200;
constexpr absl::Duration kCallDeadline = absl::Seconds(10);
constexpr absl::Duration kWatchRetry = absl::Seconds(1);

json ToJson(const google::protobuf::Message& message) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // ready: false, counts of 0
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) return nullptr;
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

json ErrorJson(const grpc::Status& status) {
  return json{{"error", status.error_message()}, {"code", static_cast<int>(status.error_code())}};
}

class StatusPageImpl final : public StatusPage {
 public:
  StatusPageImpl(Options options, std::unique_ptr<ClusterService::StubInterface> cluster,
                 std::unique_ptr<httplib::Server> server)
      : options_(std::move(options)), cluster_(std::move(cluster)), server_(std::move(server)) {}
  ~StatusPageImpl() override { Stop(); }

  absl::Status Bind() {
    server_->new_task_queue = [] { return new httplib::ThreadPool(4); };
    server_->set_payload_max_length(64 * 1024);  // GET only: no request carries a body
    // httplib's default adds SO_REUSEPORT, which lets a second server share the port silently.
    server_->set_socket_options([](socket_t sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    Routes();
    const HttpBind& bind = options_.bind;
    port_ = bind.port == 0 ? server_->bind_to_any_port(bind.host)
                           : (server_->bind_to_port(bind.host, bind.port) ? bind.port : -1);
    if (port_ < 0) {
      return absl::UnavailableError(absl::StrCat("--http-listen: cannot listen on '", bind.host,
                                                 ":", bind.port,
                                                 "' (in use, or not an address of this machine)"));
    }
    return absl::OkStatus();
  }

  void Run() {
    server_thread_ = std::thread([this] { server_->listen_after_bind(); });
    events_thread_ = std::thread([this] { WatchEvents(); });
  }

  int port() const override { return port_; }
  std::string url() const override {
    const std::string& host = options_.bind.host;
    return absl::StrCat(options_.bind.tls ? "https" : "http", "://",
                        host.find(':') == std::string::npos ? host : "[" + host + "]", ":", port_,
                        "/");
  }

  void Stop() override {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
      if (watch_context_ != nullptr) watch_context_->TryCancel();
    }
    // stop() does nothing to a server that has not begun listening yet: give it a moment.
    for (int i = 0; i < 200 && server_thread_.joinable() && !server_->is_running(); ++i) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    server_->stop();
    if (server_thread_.joinable()) server_thread_.join();
    if (events_thread_.joinable()) events_thread_.join();
  }

 private:
  std::unique_ptr<grpc::ClientContext> CallContext() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    if (!options_.token.empty()) {
      context->AddMetadata(rpc::kAuthorizationKey,
                           absl::StrCat(rpc::kBearerPrefix, options_.token));
    }
    return context;
  }

  // Refuses what CheckHttpRequest refuses, with its message as JSON.
  bool Allowed(const httplib::Request& request, httplib::Response& response, bool needs_token) {
    const std::optional<HttpRefusal> refusal =
        CheckHttpRequest(options_.bind, request.get_header_value("Host"),
                         request.get_header_value("Authorization"), options_.token, needs_token);
    if (!refusal) return true;
    response.status = refusal->status;
    response.set_content(json{{"error", refusal->message}}.dump(), "application/json");
    return false;
  }

  void Routes() {
    server_->set_post_routing_handler([](const httplib::Request&, httplib::Response& response) {
      // The page loads its own files and nothing else, and no other site may frame it.
      response.set_header("Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                          "base-uri 'none'; form-action 'none'");
      response.set_header("X-Content-Type-Options", "nosniff");
      response.set_header("Referrer-Policy", "no-referrer");
      response.set_header("Cache-Control", "no-store");
    });
    auto serve = [this](std::string_view body, const char* type) {
      return [this, body, type](const httplib::Request& request, httplib::Response& response) {
        if (Allowed(request, response, /*needs_token=*/false)) {
          response.set_content(body.data(), body.size(), type);
        }
      };
    };
    server_->Get("/", serve(assets::kIndexHtml, "text/html; charset=utf-8"));
    server_->Get("/status.js", serve(assets::kStatusJs, "text/javascript; charset=utf-8"));
    server_->Get("/status.css", serve(assets::kStatusCss, "text/css; charset=utf-8"));
    server_->Get("/api/status",
                 [this](const httplib::Request& request, httplib::Response& response) {
                   if (!Allowed(request, response, /*needs_token=*/true)) return;
                   response.set_content(StatusJson(&response.status).dump(), "application/json");
                 });
    server_->Get("/api/logs", [this](const httplib::Request& request, httplib::Response& response) {
      if (!Allowed(request, response, /*needs_token=*/true)) return;
      response.set_content(LogsJson(request, &response.status).dump(), "application/json");
    });
  }

  json StatusJson(int* http_status) {
    bdcoord::v1::GetStatusResponse clusters;
    grpc::Status status = cluster_->GetStatus(CallContext().get(), {}, &clusters);
    if (!status.ok()) {
      *http_status = 502;
      return ErrorJson(status);
    }
    bdcoord::v1::ListHostsResponse hosts;
    status = cluster_->ListHosts(CallContext().get(), {}, &hosts);
    if (!status.ok()) {
      *http_status = 502;
      return ErrorJson(status);
    }
    json reply = {{"clusters", ToJson(clusters)["clusters"]},
                  {"hosts", ToJson(hosts)["hosts"]},
                  {"events", json::array()}};
    absl::MutexLock lock(&mu_);
    reply["events_live"] = events_live_;
    for (const json& event : events_) reply["events"].push_back(event);
    return reply;
  }

  json LogsJson(const httplib::Request& request, int* http_status) {
    bdcoord::v1::StreamLogsRequest logs;
    logs.set_cluster(request.get_param_value("cluster"));
    logs.set_target(request.get_param_value("target"));
    int tail = kDefaultLogLines;
    if (request.has_param("tail") && (!absl::SimpleAtoi(request.get_param_value("tail"), &tail) ||
                                      tail < 1 || tail > kMaxLogLines)) {
      *http_status = 400;
      return json{{"error", absl::StrCat("tail must be a number from 1 to ", kMaxLogLines)}};
    }
    if (logs.target().empty()) {
      *http_status = 400;
      return json{{"error", "target (an instance or a service) is required"}};
    }
    logs.set_tail(tail);
    std::unique_ptr<grpc::ClientContext> context = CallContext();
    auto reader = cluster_->StreamLogs(context.get(), logs);
    json lines = json::array();
    bdcoord::v1::LogLine line;
    // Several instances (a service) each give `tail` lines: keep the last kMaxLogLines.
    while (reader->Read(&line)) {
      lines.push_back(ToJson(line));
      if (lines.size() > kMaxLogLines) lines.erase(lines.begin());
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok()) {
      *http_status = status.error_code() == grpc::StatusCode::NOT_FOUND ? 404 : 502;
      return ErrorJson(status);
    }
    return json{{"lines", std::move(lines)}};
  }

  // Keeps the last events from a WatchEvents stream of every cluster, subscribing again after a
  // second when the stream ends (the coordinator restarting its streams), until Stop.
  void WatchEvents() {
    while (true) {
      std::unique_ptr<grpc::ClientContext> context = CallContext();
      context->set_deadline(std::chrono::system_clock::time_point::max());
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        watch_context_ = context.get();
      }
      auto reader = cluster_->WatchEvents(context.get(), {});
      reader->WaitForInitialMetadata();  // subscribed: events from here on reach the page
      {
        absl::MutexLock lock(&mu_);
        events_live_ = true;
      }
      bdcoord::v1::Event event;
      while (reader->Read(&event)) {
        json event_json = ToJson(event);
        absl::MutexLock lock(&mu_);
        events_.push_back(std::move(event_json));
        if (events_.size() > options_.events_kept) events_.pop_front();
      }
      const grpc::Status status = reader->Finish();
      absl::MutexLock lock(&mu_);
      watch_context_ = nullptr;
      events_live_ = false;
      if (stopping_) return;
      rpc::NamedLogger("status_page")
          ->debug("status page: the event stream ended ({}); again in {}", status.error_message(),
                  absl::FormatDuration(kWatchRetry));
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), kWatchRetry);
    }
  }

  const Options options_;
  std::unique_ptr<ClusterService::StubInterface> cluster_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = -1;
  std::thread server_thread_, events_thread_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool events_live_ ABSL_GUARDED_BY(mu_) = false;  // subscribed to the coordinator's events
  std::deque<json> events_ ABSL_GUARDED_BY(mu_);   // oldest first
};

}  // namespace

absl::StatusOr<std::unique_ptr<StatusPage>> StatusPage::Start(
    Options options, std::unique_ptr<bdcoord::v1::ClusterService::StubInterface> cluster) {
  std::unique_ptr<httplib::Server> server;
  if (options.bind.tls) {
    auto tls =
        std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--http-listen: cannot serve HTTPS with --tls-cert '", options.tls_cert,
                       "' and --tls-key '", options.tls_key, "' (unreadable, or not a PEM pair)"));
    }
    server = std::move(tls);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  auto page =
      std::make_unique<StatusPageImpl>(std::move(options), std::move(cluster), std::move(server));
  if (absl::Status bound = page->Bind(); !bound.ok()) return bound;
  page->Run();
  return page;
}

}  // namespace bdcoord::coordinator
