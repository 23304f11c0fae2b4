#include "agent/docker/docker_client_impl.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "agent/docker/docker_json.h"
#include "agent/docker/stream_frames.h"
#include "agent/docker/tar.h"
#include "nlohmann/json.hpp"
#include "proto/rpc/logging.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace bdcoord::agent {
namespace {

using json = nlohmann::json;

constexpr char kLoggerName[] = "docker";
// Docker reports "never" as the zero time.
constexpr char kZeroTime[] = "0001-01-01T00:00:00Z";
constexpr size_t kMaxErrorBodyBytes = 64 << 10;

std::shared_ptr<spdlog::logger> Logger() {
  static const std::shared_ptr<spdlog::logger> logger = rpc::NamedLogger(kLoggerName);
  return logger;
}

// ---------------------------------------------------------------------------------------------
// Small helpers: URL encoding, JSON access that never throws.

// Percent-encodes everything but RFC 3986 unreserved characters and those in `keep`.
std::string Escape(absl::string_view text, absl::string_view keep = "") {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~' || keep.find(c) != absl::string_view::npos) {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// json::dump throws on invalid UTF-8; replace it instead.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Str(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A number, clamped to int64_t. get<int64_t>() of 1e300 or of an unsigned above INT64_MAX is
// undefined behaviour, so those are bounded before any conversion; NaN reads as 0.
int64_t Int(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_unsigned()) {
    return static_cast<int64_t>(
        std::min<uint64_t>(it->get<uint64_t>(), std::numeric_limits<int64_t>::max()));
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    const double value = it->get<double>();
    constexpr double kTwo63 = 9223372036854775808.0;  // exactly 2^63, the first out of range
    if (value != value) return 0;
    if (value >= kTwo63) return std::numeric_limits<int64_t>::max();
    if (value < -kTwo63) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(value);
  }
  return 0;
}

// The same, clamped to int: exit codes, restart counts, pids and timeouts.
int Int32(const json& object, const char* key) {
  return static_cast<int>(std::clamp<int64_t>(Int(object, key), std::numeric_limits<int>::min(),
                                              std::numeric_limits<int>::max()));
}

bool Bool(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

const json& Obj(const json& object, const char* key) {
  static const json* const kEmpty = new json(json::object());
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : *kEmpty;
}

const json& Arr(const json& object, const char* key) {
  static const json* const kEmpty = new json(json::array());
  auto it = object.find(key);
  return it != object.end() && it->is_array() ? *it : *kEmpty;
}

// The strings of an array (other elements skipped).
std::vector<std::string> Strings(const json& array) {
  std::vector<std::string> out;
  for (const json& element : array) {
    if (element.is_string()) out.push_back(element.get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> StringMap(const json& object) {
  std::map<std::string, std::string> out;
  if (!object.is_object()) return out;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

std::string LabelFilterQuery(const std::map<std::string, std::string>& labels,
                             json filters = json::object()) {
  if (!labels.empty()) {
    json list = json::array();
    // An empty value filters on the label's presence.
    for (const auto& [key, value] : labels) {
      list.push_back(value.empty() ? key : absl::StrCat(key, "=", value));
    }
    filters["label"] = std::move(list);
  }
  if (filters.empty()) return "";
  return absl::StrCat("filters=", Escape(Dump(filters)));
}

std::optional<std::pair<int, int>> ParseApiVersion(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  int major = 0;
  int minor = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &major) ||
      !absl::SimpleAtoi(parts[1], &minor) || major < 0 || minor < 0) {
    return std::nullopt;
  }
  return std::make_pair(major, minor);
}

std::string TimeOrEmpty(std::string time) { return time == kZeroTime ? std::string() : time; }

// ---------------------------------------------------------------------------------------------
// HTTP over the unix socket.

enum class TimeoutMode {
  kTotal,  // the whole request within request_timeout (+ extra_time)
  kIdle,   // no byte for request_timeout aborts (long, finite streams)
  kNone,   // endless streams
};

struct HttpRequest {
  std::string method = "GET";
  std::string path;   // without the /v1.xx prefix and without the query
  std::string query;  // encoded, without '?'
  bool versioned = true;
  std::optional<std::string> body;
  std::string content_type = "application/json";
  TimeoutMode timeout = TimeoutMode::kTotal;
  std::chrono::milliseconds extra_time{0};
  // When set, the body of a 2xx response goes here as it arrives instead of into
  // HttpResponse::body; returning false ends the transfer.
  std::function<bool(absl::string_view)> on_data;
  // When set, the request's body is streamed from it (chunked transfer encoding): it fills the
  // buffer and returns how many bytes it put there, 0 at the end, CURL_READFUNC_ABORT to abort.
  std::function<size_t(char*, size_t)> read_body;
  // When set, polled by curl while the transfer runs (also when no data comes, about once a
  // second); true aborts it like on_data returning false.
  std::function<bool()> stop;

  std::string What() const { return absl::StrCat(method, " ", path); }
};

struct HttpResponse {
  long status = 0;
  std::string body;
  bool stopped = false;  // on_data returned false
};

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

size_t ReadCallback(char* buffer, size_t size, size_t count, void* user) {
  const auto* read_body = static_cast<const std::function<size_t(char*, size_t)>*>(user);
  return (*read_body)(buffer, size * count);
}

struct WriteContext {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  bool stopped = false;
  std::string callback_error;  // what a callback threw
};

int StopCallback(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* ctx = static_cast<WriteContext*>(user);
  if (ctx->request->stop && ctx->request->stop()) {
    ctx->stopped = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
  auto* ctx = static_cast<WriteContext*>(user);
  const size_t n = size * count;
  if (ctx->request->on_data) {
    long status = 0;
    curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      bool keep_going = false;
      try {
        keep_going = ctx->request->on_data(absl::string_view(data, n));
      } catch (const std::exception& e) {
        ctx->callback_error = e.what();
      } catch (...) {
        ctx->callback_error = "unknown exception";
      }
      if (keep_going) return n;
      ctx->stopped = true;
      return CURL_WRITEFUNC_ERROR;
    }
    // An error response to a streaming request: keep its start for the message.
    const size_t room =
        kMaxErrorBodyBytes - std::min(kMaxErrorBodyBytes, ctx->response->body.size());
    ctx->response->body.append(data, std::min(n, room));
    return n;
  }
  ctx->response->body.append(data, n);
  return n;
}

// Docker's error body is {"message": "..."}; anything else is quoted as text.
std::string DockerMessage(const std::string& body) {
  try {
    const json parsed = json::parse(body);
    std::string message = Str(parsed, "message");
    if (!message.empty()) return message;
  } catch (const json::exception&) {
  }
  std::string text(absl::StripAsciiWhitespace(body));
  if (text.empty()) return "(empty response body)";
  if (text.size() > 1000) text = absl::StrCat(text.substr(0, 1000), "...");
  return text;
}

absl::Status HttpError(const HttpRequest& request, const HttpResponse& response,
                       absl::StatusCode conflict = absl::StatusCode::kAlreadyExists) {
  const std::string message =
      absl::StrCat(request.What(), ": HTTP ", response.status, ": ", DockerMessage(response.body));
  absl::StatusCode code = absl::StatusCode::kUnknown;
  switch (response.status) {
    case 400:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case 401:
      code = absl::StatusCode::kUnauthenticated;
      break;
    case 403:  // Docker's "forbidden": not allowed in the current state
      code = absl::StatusCode::kFailedPrecondition;
      break;
    case 404:
      code = absl::StatusCode::kNotFound;
      break;
    case 409:
      code = conflict;
      break;
    default:
      if (response.status >= 500 && response.status < 600) code = absl::StatusCode::kInternal;
      break;
  }
  return absl::Status(code, message);
}

bool Is2xx(const HttpResponse& response) { return response.status >= 200 && response.status < 300; }

absl::StatusOr<json> ParseJson(const HttpRequest& request, const HttpResponse& response) {
  const std::string& body = response.body;
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    // The parser stopped at the end of the input: the document was cut short.
    const bool truncated = e.byte >= body.size();
    return absl::InternalError(absl::StrFormat(
        "%s: HTTP %d: %s JSON in the response (%d bytes): %s", request.What(), response.status,
        truncated ? "truncated" : "invalid", body.size(), e.what()));
  } catch (const json::exception& e) {
    return absl::InternalError(absl::StrFormat("%s: HTTP %d: invalid JSON in the response: %s",
                                               request.What(), response.status, e.what()));
  }
}

// Runs f, turning a JSON access error into an Internal status.
template <typename F>
auto Interpret(const HttpRequest& request, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const json::exception& e) {
    return absl::InternalError(
        absl::StrCat(request.What(), ": unexpected JSON in the response: ", e.what()));
  }
}

// ---------------------------------------------------------------------------------------------
// Response interpretation.

NetworkInfo ParseNetwork(const json& network) {
  NetworkInfo info;
  info.id = Str(network, "Id");
  info.config.name = Str(network, "Name");
  info.config.driver = Str(network, "Driver");
  info.config.parent = Str(Obj(network, "Options"), "parent");
  info.config.labels = StringMap(Obj(network, "Labels"));
  for (const json& config : Arr(Obj(network, "IPAM"), "Config")) {
    const std::string subnet = Str(config, "Subnet");
    if (subnet.find(':') != std::string::npos) continue;  // IPv6
    info.config.subnet = subnet;
    info.config.gateway = Str(config, "Gateway");
    info.config.ip_range = Str(config, "IPRange");
    break;
  }
  return info;
}

ContainerInfo ParseContainerInspect(const json& container) {
  ContainerInfo info;
  info.id = Str(container, "Id");
  info.name = Str(container, "Name");
  if (!info.name.empty() && info.name[0] == '/') info.name.erase(0, 1);
  const json& config = Obj(container, "Config");
  info.image = Str(config, "Image");
  info.labels = StringMap(Obj(config, "Labels"));
  const json& state = Obj(container, "State");
  info.state = Str(state, "Status");
  info.running = Bool(state, "Running");
  info.exit_code = Int32(state, "ExitCode");
  info.started_at = TimeOrEmpty(Str(state, "StartedAt"));
  info.finished_at = TimeOrEmpty(Str(state, "FinishedAt"));
  info.restart_count = Int32(container, "RestartCount");
  info.stop_timeout_seconds = Int32(config, "StopTimeout");
  info.nano_cpus = Int(Obj(container, "HostConfig"), "NanoCpus");
  info.pid = Int32(state, "Pid");
  info.hosts_path = Str(container, "HostsPath");
  // The address on the container's own network; before the first start only the requested
  // static address is known.
  const json& networks = Obj(Obj(container, "NetworkSettings"), "Networks");
  const std::string mode = Str(Obj(container, "HostConfig"), "NetworkMode");
  auto address = [](const json& endpoint) {
    std::string ip = Str(endpoint, "IPAddress");
    if (ip.empty()) ip = Str(Obj(endpoint, "IPAMConfig"), "IPv4Address");
    return ip;
  };
  if (auto it = networks.find(mode); it != networks.end() && it->is_object()) {
    info.ipv4 = address(*it);
  }
  if (info.ipv4.empty()) {
    for (const json& endpoint : networks) {
      info.ipv4 = address(endpoint);
      if (!info.ipv4.empty()) break;
    }
  }
  return info;
}

ContainerInfo ParseContainerSummary(const json& container) {
  ContainerInfo info;
  info.id = Str(container, "Id");
  const json& names = Arr(container, "Names");
  if (!names.empty() && names[0].is_string()) info.name = names[0].get<std::string>();
  if (!info.name.empty() && info.name[0] == '/') info.name.erase(0, 1);
  info.image = Str(container, "Image");
  info.labels = StringMap(Obj(container, "Labels"));
  info.state = Str(container, "State");
  info.running = info.state == "running";
  // "Exited (137) 5 minutes ago"
  const std::string status = Str(container, "Status");
  if (absl::StartsWith(status, "Exited (")) {
    const size_t close = status.find(')');
    int code = 0;
    if (close != std::string::npos && absl::SimpleAtoi(status.substr(8, close - 8), &code)) {
      info.exit_code = code;
    }
  }
  return info;
}

DockerInfo ParseInfo(const json& body) {
  DockerInfo info;
  info.name = Str(body, "Name");
  info.cpus = static_cast<uint32_t>(std::clamp<int64_t>(Int(body, "NCPU"), 0, UINT32_MAX));
  info.memory_bytes = std::max<int64_t>(0, Int(body, "MemTotal"));
  return info;
}

DockerEvent ParseEvent(const json& event) {
  DockerEvent out;
  out.type = Str(event, "Type");
  out.action = Str(event, "Action");
  if (out.action.empty()) out.action = Str(event, "status");  // before API 1.22
  const json& actor = Obj(event, "Actor");
  out.id = Str(actor, "ID");
  if (out.id.empty()) out.id = Str(event, "id");
  out.attributes = StringMap(Obj(actor, "Attributes"));
  return out;
}

// ---------------------------------------------------------------------------------------------

class DockerClientImpl final : public DockerClient {
 public:
  explicit DockerClientImpl(const DockerClientOptions& options) : options_(options) {}

  absl::StatusOr<DockerVersion> Version() override;
  absl::StatusOr<DockerInfo> Info() override;
  absl::Status EnsureNetwork(const NetworkConfig& config) override;
  absl::StatusOr<std::vector<NetworkInfo>> ListNetworks(
      const std::map<std::string, std::string>& label_filter) override;
  absl::Status RemoveNetwork(const std::string& name) override;
  absl::StatusOr<ImageInfo> InspectImage(const std::string& image) override;
  absl::StatusOr<std::vector<ImageSummary>> ListImages() override;
  absl::StatusOr<std::string> LoadImage(const ImageSource& source) override;
  absl::StatusOr<VolumeInfo> CreateVolume(
      const std::string& name, const std::map<std::string, std::string>& labels) override;
  absl::StatusOr<std::vector<std::string>> ListVolumes() override;
  absl::Status RemoveVolume(const std::string& name) override;
  absl::StatusOr<std::string> CreateContainer(const ContainerConfig& config) override;
  absl::StatusOr<ArchiveFile> ReadPath(const std::string& id, const std::string& path) override;
  absl::Status StartContainer(const std::string& id) override;
  absl::Status SetCpuLimit(const std::string& id, int64_t nano_cpus) override;
  absl::Status StopContainer(const std::string& id, std::chrono::seconds timeout) override;
  absl::Status RemoveContainer(const std::string& id, bool force) override;
  absl::Status KillContainer(const std::string& id, const std::string& signal) override;
  absl::StatusOr<ContainerInfo> InspectContainer(const std::string& id_or_name) override;
  absl::StatusOr<std::vector<ContainerInfo>> ListContainers(
      const std::map<std::string, std::string>& label_filter) override;
  absl::Status Logs(const std::string& id, const LogOptions& options,
                    const std::function<bool(const LogLine&)>& on_line) override;
  absl::Status Events(const std::map<std::string, std::string>& label_filter,
                      const std::function<bool(const DockerEvent&)>& on_event) override;
  absl::StatusOr<ExecResult> Exec(const std::string& id, const std::vector<std::string>& command,
                                  const std::string& user) override;

 private:
  absl::StatusOr<std::string> ApiVersion();
  absl::StatusOr<HttpResponse> Perform(const HttpRequest& request);
  absl::Status TransportError(const HttpRequest& request, CURLcode code, long os_errno,
                              const char* detail) const;
  CurlPtr Acquire();
  void Release(CurlPtr curl);
  // The network of that exact name, or nullopt (GET /networks/{x} also matches ID prefixes).
  absl::StatusOr<std::optional<NetworkInfo>> FindNetwork(const std::string& name,
                                                         std::string* ipvlan_mode);
  // GET that expects JSON with a 200.
  absl::StatusOr<json> GetJson(const std::string& path, const std::string& query = "");

  const DockerClientOptions options_;
  absl::Mutex mu_;
  std::vector<CurlPtr> idle_ ABSL_GUARDED_BY(mu_);
  std::string api_version_ ABSL_GUARDED_BY(mu_);
};

CurlPtr DockerClientImpl::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      CurlPtr curl = std::move(idle_.back());
      idle_.pop_back();
      return curl;
    }
  }
  return CurlPtr(curl_easy_init());
}

void DockerClientImpl::Release(CurlPtr curl) {
  // Forgets the options (which point at this request's buffers) but keeps the connection.
  curl_easy_reset(curl.get());
  absl::MutexLock lock(&mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(curl));
}

absl::Status DockerClientImpl::TransportError(const HttpRequest& request, CURLcode code,
                                              long os_errno, const char* detail) const {
  const std::string where = absl::StrCat("unix://", options_.socket_path);
  const std::string what = request.What();
  const std::string curl_text = detail[0] != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST: {
      struct stat st;
      std::string reason;
      if (::stat(options_.socket_path.c_str(), &st) != 0) {
        reason = errno == ENOENT ? "the socket file does not exist"
                                 : absl::StrCat("cannot stat the socket: ", std::strerror(errno));
      } else if (!S_ISSOCK(st.st_mode)) {
        reason = "the path is not a socket";
      } else if (os_errno != 0) {
        reason = std::strerror(static_cast<int>(os_errno));
      } else {
        reason = curl_text;
      }
      return absl::UnavailableError(
          absl::StrCat(what, ": cannot connect to the Docker daemon at ", where, ": ", reason));
    }
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(absl::StrCat(
          what, ": no answer in time from the Docker daemon at ", where, ": ", curl_text));
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      return absl::UnavailableError(absl::StrCat(what, ": the Docker daemon at ", where,
                                                 " closed the connection: ", curl_text));
    default:
      return absl::InternalError(absl::StrCat(what, ": request to the Docker daemon at ", where,
                                              " failed: ", curl_text, " (curl error ",
                                              static_cast<int>(code), ")"));
  }
}

absl::StatusOr<HttpResponse> DockerClientImpl::Perform(const HttpRequest& request) {
  std::string url = "http://docker";
  if (request.versioned) {
    absl::StatusOr<std::string> api = ApiVersion();
    if (!api.ok()) return api.status();
    absl::StrAppend(&url, "/v", *api);
  }
  absl::StrAppend(&url, request.path);
  if (!request.query.empty()) absl::StrAppend(&url, "?", request.query);

  CurlPtr curl = Acquire();
  if (curl == nullptr) return absl::InternalError(request.What() + ": curl_easy_init failed");
  CURL* h = curl.get();
  HttpResponse response;
  WriteContext ctx;
  ctx.curl = h;
  ctx.request = &request;
  ctx.response = &response;
  char error[CURL_ERROR_SIZE] = {0};

  SlistPtr headers;
  auto add_header = [&headers](const std::string& header) {
    curl_slist* list = curl_slist_append(headers.get(), header.c_str());
    if (list != nullptr) {
      headers.release();
      headers.reset(list);
    }
  };
  add_header("Expect:");  // no 100-continue round trip for large bodies
  if (request.body.has_value() || request.read_body) {
    add_header("Content-Type: " + request.content_type);
  }
  if (request.read_body) add_header("Transfer-Encoding: chunked");

  curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, options_.socket_path.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteCallback);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  switch (request.timeout) {
    case TimeoutMode::kTotal:
      curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                       static_cast<long>((options_.request_timeout + request.extra_time).count()));
      break;
    case TimeoutMode::kIdle:
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(
          h, CURLOPT_LOW_SPEED_TIME,
          std::max(1L, static_cast<long>((options_.request_timeout.count() + 999) / 1000)));
      break;
    case TimeoutMode::kNone:
      break;
  }
  if (request.read_body) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadCallback);
    curl_easy_setopt(h, CURLOPT_READDATA, &request.read_body);
  } else if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.method != "POST") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.body.has_value() || request.method == "POST") {
      // curl does not copy the body: it must outlive curl_easy_perform.
      static const char kEmpty[] = "";
      const char* data = request.body.has_value() ? request.body->data() : kEmpty;
      const size_t size = request.body.has_value() ? request.body->size() : 0;
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
    }
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  if (request.stop) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &StopCallback);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &ctx);
  }

  const CURLcode code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  long os_errno = 0;
  curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
  Release(std::move(curl));

  if (!ctx.callback_error.empty()) {
    return absl::InternalError(
        absl::StrCat(request.What(), ": a stream callback threw: ", ctx.callback_error));
  }
  if ((code == CURLE_WRITE_ERROR || code == CURLE_ABORTED_BY_CALLBACK) && ctx.stopped) {
    response.stopped = true;
    Logger()->debug("{} {} -> HTTP {} (stopped by the reader)", request.method, request.path,
                    response.status);
    return response;
  }
  if (code != CURLE_OK) {
    absl::Status status = TransportError(request, code, os_errno, error);
    Logger()->debug("{}", std::string(status.message()));
    return status;
  }
  Logger()->debug("{} {} -> HTTP {}", request.method, request.path, response.status);
  return response;
}

absl::StatusOr<std::string> DockerClientImpl::ApiVersion() {
  {
    absl::MutexLock lock(&mu_);
    if (!api_version_.empty()) return api_version_;
  }
  absl::StatusOr<DockerVersion> version = Version();
  if (!version.ok()) return version.status();
  return version->api_version;
}

absl::StatusOr<json> DockerClientImpl::GetJson(const std::string& path, const std::string& query) {
  HttpRequest request;
  request.path = path;
  request.query = query;
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (response->status != 200) return HttpError(request, *response);
  return ParseJson(request, *response);
}

absl::StatusOr<DockerVersion> DockerClientImpl::Version() {
  HttpRequest request;
  request.path = "/version";
  request.versioned = false;  // how the version gets negotiated
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (response->status != 200) return HttpError(request, *response);
  absl::StatusOr<json> body = ParseJson(request, *response);
  if (!body.ok()) return body.status();
  return Interpret(request, [&]() -> absl::StatusOr<DockerVersion> {
    DockerVersion version;
    version.version = Str(*body, "Version");
    const std::string server_api = Str(*body, "ApiVersion");
    absl::StatusOr<std::string> api =
        NegotiateDockerApiVersion(server_api, Str(*body, "MinAPIVersion"));
    if (!api.ok()) {
      return absl::InternalError(absl::StrCat(request.What(), ": ", api.status().message()));
    }
    version.api_version = *api;
    bool changed = false;
    {
      absl::MutexLock lock(&mu_);
      changed = api_version_ != *api;
      api_version_ = *api;
    }
    if (changed) {
      Logger()->info("using Docker Engine API {} (daemon {} at \"{}\" speaks {})", *api,
                     version.version, options_.socket_path, server_api);
    }
    return version;
  });
}

absl::StatusOr<DockerInfo> DockerClientImpl::Info() {
  absl::StatusOr<json> body = GetJson("/info");
  if (!body.ok()) return body.status();
  HttpRequest request;
  request.path = "/info";
  return Interpret(request, [&]() -> absl::StatusOr<DockerInfo> { return ParseInfo(*body); });
}

// ---------------------------------------------------------------------------------------------
// Networks

absl::StatusOr<std::optional<NetworkInfo>> DockerClientImpl::FindNetwork(const std::string& name,
                                                                         std::string* ipvlan_mode) {
  HttpRequest request;
  request.path = "/networks/" + Escape(name);
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (response->status == 404) return std::optional<NetworkInfo>();
  if (response->status != 200) return HttpError(request, *response);
  absl::StatusOr<json> body = ParseJson(request, *response);
  if (!body.ok()) return body.status();
  return Interpret(request, [&]() -> absl::StatusOr<std::optional<NetworkInfo>> {
    NetworkInfo info = ParseNetwork(*body);
    if (info.config.name != name) return std::optional<NetworkInfo>();  // an ID-prefix match
    *ipvlan_mode = Str(Obj(*body, "Options"), "ipvlan_mode");
    return std::optional<NetworkInfo>(std::move(info));
  });
}

absl::Status DockerClientImpl::EnsureNetwork(const NetworkConfig& config) {
  if (config.name.empty()) return absl::InvalidArgumentError("network without a name");
  if (config.driver != "macvlan" && config.driver != "ipvlan") {
    return absl::InvalidArgumentError(absl::StrCat("network \"", config.name, "\": driver \"",
                                                   config.driver, "\" is not macvlan or ipvlan"));
  }
  if (config.subnet.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("network \"", config.name, "\": no subnet"));
  }
  std::string ipvlan_mode;
  absl::StatusOr<std::optional<NetworkInfo>> existing = FindNetwork(config.name, &ipvlan_mode);
  if (!existing.ok()) return existing.status();

  if (!existing->has_value()) {
    json ipam_config = {{"Subnet", config.subnet}};
    if (!config.gateway.empty()) ipam_config["Gateway"] = config.gateway;
    if (!config.ip_range.empty()) ipam_config["IPRange"] = config.ip_range;
    json options = json::object();
    if (!config.parent.empty()) options["parent"] = config.parent;
    if (config.driver == "ipvlan") options["ipvlan_mode"] = "l2";
    json labels = json::object();
    for (const auto& [key, value] : config.labels) labels[key] = value;
    const json body = {
        {"Name", config.name},
        {"Driver", config.driver},
        // Before API 1.44 dockerd creates a second network of the same name unless asked.
        {"CheckDuplicate", true},
        {"Options", options},
        {"IPAM", {{"Driver", "default"}, {"Config", json::array({ipam_config})}}},
        {"Labels", labels},
    };
    HttpRequest request;
    request.method = "POST";
    request.path = "/networks/create";
    request.body = Dump(body);
    absl::StatusOr<HttpResponse> response = Perform(request);
    if (!response.ok()) return response.status();
    if (Is2xx(*response)) {
      Logger()->info("created {} network \"{}\" on \"{}\" subnet {}", config.driver, config.name,
                     config.parent, config.subnet);
      return absl::OkStatus();
    }
    if (response->status != 409) return HttpError(request, *response);
    // Created by someone else meanwhile: check it like any existing one.
    existing = FindNetwork(config.name, &ipvlan_mode);
    if (!existing.ok()) return existing.status();
    if (!existing->has_value()) return HttpError(request, *response);
  }

  const NetworkConfig& have = (*existing)->config;
  auto shown = [](const std::string& value) { return value.empty() ? "none" : value; };
  std::vector<std::string> differences;
  auto compare = [&](const char* field, const std::string& got, const std::string& want) {
    if (got != want) {
      differences.push_back(absl::StrCat(field, " ", shown(got), ", want ", shown(want)));
    }
  };
  compare("driver", have.driver, config.driver);
  compare("parent", have.parent, config.parent);
  compare("subnet", have.subnet, config.subnet);
  if (!config.gateway.empty()) compare("gateway", have.gateway, config.gateway);
  compare("ip_range", have.ip_range, config.ip_range);
  if (have.driver == "ipvlan" && config.driver == "ipvlan" && !ipvlan_mode.empty()) {
    compare("ipvlan_mode", ipvlan_mode, "l2");
  }
  for (const auto& [key, value] : config.labels) {
    auto it = have.labels.find(key);
    const std::string got = it == have.labels.end() ? "none" : absl::StrCat(key, "=", it->second);
    compare("label", got, absl::StrCat(key, "=", value));
  }
  if (!differences.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("network \"", config.name, "\" exists with ",
                                                      absl::StrJoin(differences, "; ")));
  }
  Logger()->debug("network \"{}\" exists with the wanted settings", config.name);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<NetworkInfo>> DockerClientImpl::ListNetworks(
    const std::map<std::string, std::string>& label_filter) {
  HttpRequest request;
  request.path = "/networks";
  request.query = LabelFilterQuery(label_filter);
  absl::StatusOr<json> body = GetJson(request.path, request.query);
  if (!body.ok()) return body.status();
  return Interpret(request, [&]() -> absl::StatusOr<std::vector<NetworkInfo>> {
    if (!body->is_array()) {
      return absl::InternalError(request.What() + ": expected a JSON array in the response");
    }
    std::vector<NetworkInfo> networks;
    for (const json& network : *body) networks.push_back(ParseNetwork(network));
    return networks;
  });
}

absl::Status DockerClientImpl::RemoveNetwork(const std::string& name) {
  HttpRequest request;
  request.method = "DELETE";
  request.path = "/networks/" + Escape(name);
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) {
    return HttpError(request, *response, absl::StatusCode::kFailedPrecondition);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Images and volumes

absl::StatusOr<ImageInfo> DockerClientImpl::InspectImage(const std::string& image) {
  HttpRequest request;
  request.path = absl::StrCat("/images/", Escape(image, "/:@"), "/json");
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (response->status == 404) {
    return absl::NotFoundError(absl::StrCat("image '", image, "' is not on this host"));
  }
  if (response->status != 200) return HttpError(request, *response);
  absl::StatusOr<json> body = ParseJson(request, *response);
  if (!body.ok()) return body.status();
  ImageInfo info;
  info.id = Str(*body, "Id");
  const json& config = Obj(*body, "Config");
  info.user = Str(config, "User");
  info.entrypoint = Strings(Arr(config, "Entrypoint"));
  info.cmd = Strings(Arr(config, "Cmd"));
  return info;
}

absl::StatusOr<std::vector<ImageSummary>> DockerClientImpl::ListImages() {
  HttpRequest request;
  request.path = "/images/json";
  absl::StatusOr<json> body = GetJson(request.path);
  if (!body.ok()) return body.status();
  return Interpret(request, [&]() -> absl::StatusOr<std::vector<ImageSummary>> {
    std::vector<ImageSummary> images;
    if (!body->is_array()) return images;
    for (const json& image : *body) {
      ImageSummary summary{
          .id = Str(image, "Id"), .repo_tags = {}, .size_bytes = Int(image, "Size")};
      for (const json& tag : Arr(image, "RepoTags")) {
        // Docker lists an untagged image as "<none>:<none>".
        if (tag.is_string() && tag.get<std::string>() != "<none>:<none>") {
          summary.repo_tags.push_back(tag.get<std::string>());
        }
      }
      images.push_back(std::move(summary));
    }
    return images;
  });
}

absl::StatusOr<std::string> DockerClientImpl::LoadImage(const ImageSource& source) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/images/load";
  request.content_type = "application/x-tar";
  // As long as the archive takes to come: only a Docker that stops answering times out.
  request.timeout = TimeoutMode::kIdle;
  std::string piece;
  size_t offset = 0;
  bool ended = false;
  absl::Status source_error;
  request.read_body = [&](char* buffer, size_t room) -> size_t {
    while (offset == piece.size() && !ended) {
      absl::StatusOr<std::optional<std::string>> next = source();
      if (!next.ok()) {
        source_error = next.status();
        return CURL_READFUNC_ABORT;
      }
      if (!next->has_value()) {
        ended = true;
        break;
      }
      piece = **std::move(next);
      offset = 0;
    }
    const size_t n = std::min(room, piece.size() - offset);
    std::memcpy(buffer, piece.data() + offset, n);
    offset += n;
    return n;  // 0 once ended: the end of the body
  };
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!source_error.ok()) return source_error;
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) return HttpError(request, *response);
  // A stream of JSON messages, HTTP 200 even when the load failed: {"stream": "Loaded image:
  // x:1\n"}, or {"errorDetail": {"message": ...}, "error": ...}.
  std::vector<std::string> loaded;
  std::string error;
  JsonObjectSplitter splitter;
  splitter.Feed(response->body, [&](absl::string_view object) {
    try {
      const json message = json::parse(object.begin(), object.end());
      if (std::string text = Str(message, "error"); !text.empty()) {
        error = std::move(text);
      } else if (std::string line(absl::StripAsciiWhitespace(Str(message, "stream")));
                 !line.empty()) {
        loaded.push_back(std::move(line));
      }
    } catch (const json::exception&) {
    }
    return true;
  });
  if (!error.empty()) return absl::InternalError(absl::StrCat(request.What(), ": ", error));
  return absl::StrJoin(loaded, "; ");
}

absl::StatusOr<VolumeInfo> DockerClientImpl::CreateVolume(
    const std::string& name, const std::map<std::string, std::string>& labels) {
  // dockerd answers a create of an existing volume with that volume: ask first.
  HttpRequest inspect;
  inspect.path = absl::StrCat("/volumes/", Escape(name));
  absl::StatusOr<HttpResponse> existing = Perform(inspect);
  if (!existing.ok()) return existing.status();
  auto volume_info = [](const HttpRequest& request, const HttpResponse& response,
                        bool created) -> absl::StatusOr<VolumeInfo> {
    absl::StatusOr<json> body = ParseJson(request, response);
    if (!body.ok()) return body.status();
    return VolumeInfo{.created = created, .mountpoint = Str(*body, "Mountpoint")};
  };
  if (existing->status == 200) return volume_info(inspect, *existing, false);
  if (existing->status != 404) return HttpError(inspect, *existing);
  json json_labels = json::object();
  for (const auto& [key, value] : labels) json_labels[key] = value;
  HttpRequest request;
  request.method = "POST";
  request.path = "/volumes/create";
  request.body = Dump({{"Name", name}, {"Driver", "local"}, {"Labels", json_labels}});
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) return HttpError(request, *response);
  return volume_info(request, *response, true);
}

absl::Status DockerClientImpl::RemoveVolume(const std::string& name) {
  HttpRequest request;
  request.method = "DELETE";
  request.path = absl::StrCat("/volumes/", Escape(name));
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) {
    return HttpError(request, *response, absl::StatusCode::kFailedPrecondition);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DockerClientImpl::ListVolumes() {
  HttpRequest request;
  request.path = "/volumes";
  absl::StatusOr<json> body = GetJson(request.path);
  if (!body.ok()) return body.status();
  return Interpret(request, [&]() -> absl::StatusOr<std::vector<std::string>> {
    std::vector<std::string> names;
    for (const json& volume : Arr(*body, "Volumes")) names.push_back(Str(volume, "Name"));
    return names;
  });
}

// ---------------------------------------------------------------------------------------------
// Containers

absl::StatusOr<std::string> DockerClientImpl::CreateContainer(const ContainerConfig& config) {
  if (config.image.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("container \"", config.name, "\": no image"));
  }
  json env = json::array();
  for (const auto& [key, value] : config.env) env.push_back(absl::StrCat(key, "=", value));
  json labels = json::object();
  for (const auto& [key, value] : config.labels) labels[key] = value;
  json mounts = json::array();
  for (const Mount& mount : config.mounts) {
    const bool bind = !mount.source.empty() && mount.source[0] == '/';
    json entry = {{"Type", bind ? "bind" : "volume"},
                  {"Source", mount.source},
                  {"Target", mount.target},
                  {"ReadOnly", mount.read_only}};
    if (!bind && !config.volume_labels.empty()) {
      entry["VolumeOptions"] = {{"Labels", config.volume_labels}};
    }
    mounts.push_back(std::move(entry));
  }
  json restart = {{"Name", config.restart_policy.empty() ? "no" : config.restart_policy}};
  if (config.restart_policy == "on-failure") {
    restart["MaximumRetryCount"] = config.restart_max_retries;
  }
  json host_config = {
      {"Mounts", mounts},
      {"RestartPolicy", restart},
  };
  if (config.nano_cpus > 0) host_config["NanoCpus"] = config.nano_cpus;
  if (config.memory_bytes > 0) host_config["Memory"] = config.memory_bytes;
  if (!config.dns.empty()) host_config["Dns"] = config.dns;
  if (!config.dns_search.empty()) host_config["DnsSearch"] = config.dns_search;
  if (!config.dns_options.empty()) host_config["DnsOptions"] = config.dns_options;
  if (!config.log_max_size.empty()) {
    host_config["LogConfig"] = {
        {"Type", "json-file"},
        {"Config",
         {{"max-size", config.log_max_size}, {"max-file", std::to_string(config.log_max_files)}}}};
  }
  json body = {
      {"Image", config.image},
      {"Env", env},
      {"Labels", labels},
      {"HostConfig", host_config},
  };
  if (!config.hostname.empty()) body["Hostname"] = config.hostname;
  if (!config.domainname.empty()) body["Domainname"] = config.domainname;
  if (!config.user.empty()) body["User"] = config.user;
  if (config.stop_timeout_seconds > 0) body["StopTimeout"] = config.stop_timeout_seconds;
  if (!config.entrypoint.empty()) body["Entrypoint"] = config.entrypoint;
  if (!config.command.empty()) body["Cmd"] = config.command;
  if (!config.network.empty()) {
    body["HostConfig"]["NetworkMode"] = config.network;
    json endpoint = json::object();
    if (!config.ipv4.empty()) endpoint["IPAMConfig"] = {{"IPv4Address", config.ipv4}};
    body["NetworkingConfig"] = {{"EndpointsConfig", {{config.network, endpoint}}}};
  }

  HttpRequest request;
  request.method = "POST";
  request.path = "/containers/create";
  if (!config.name.empty()) request.query = "name=" + Escape(config.name);
  request.body = Dump(body);
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) return HttpError(request, *response);
  absl::StatusOr<json> parsed = ParseJson(request, *response);
  if (!parsed.ok()) return parsed.status();
  return Interpret(request, [&]() -> absl::StatusOr<std::string> {
    std::string id = Str(*parsed, "Id");
    if (id.empty()) return absl::InternalError(request.What() + ": no Id in the response");
    for (const json& warning : Arr(*parsed, "Warnings")) {
      if (warning.is_string()) {
        Logger()->warn("creating container \"{}\": {}", config.name, warning.get<std::string>());
      }
    }
    Logger()->debug("created container \"{}\" id \"{}\"", config.name, id);
    return id;
  });
}

absl::StatusOr<ArchiveFile> DockerClientImpl::ReadPath(const std::string& id,
                                                       const std::string& path) {
  HttpRequest request;
  request.path = absl::StrCat("/containers/", Escape(id), "/archive");
  request.query = absl::StrCat("path=", Escape(path, "/"));
  // Only the first entry is wanted: a directory's content is not read.
  std::string archive;
  absl::StatusOr<std::optional<ArchiveFile>> entry = std::nullopt;
  request.on_data = [&](absl::string_view data) {
    archive.append(data.data(), data.size());
    entry = FirstTarEntry(archive);
    return entry.ok() && !entry->has_value();
  };
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) return HttpError(request, *response);
  if (!entry.ok())
    return absl::InternalError(absl::StrCat(request.What(), ": ", entry.status().message()));
  if (!entry->has_value()) {
    return absl::InternalError(absl::StrCat(request.What(), ": the archive of \"", path,
                                            "\" ended early (", archive.size(), " bytes)"));
  }
  ArchiveFile file = **std::move(entry);
  const bool directory = !file.path.empty() && file.path.back() == '/';
  file.path = directory && !absl::EndsWith(path, "/") ? absl::StrCat(path, "/") : path;
  return file;
}

absl::Status DockerClientImpl::StartContainer(const std::string& id) {
  HttpRequest request;
  request.method = "POST";
  request.path = absl::StrCat("/containers/", Escape(id), "/start");
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (response->status == 304) return absl::OkStatus();  // already started
  if (!Is2xx(*response)) {
    return HttpError(request, *response, absl::StatusCode::kFailedPrecondition);
  }
  return absl::OkStatus();
}

absl::Status DockerClientImpl::SetCpuLimit(const std::string& id, int64_t nano_cpus) {
  HttpRequest request;
  request.method = "POST";
  request.path = absl::StrCat("/containers/", Escape(id), "/update");
  request.body = Dump({{"NanoCpus", nano_cpus}});
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) return HttpError(request, *response);
  return absl::OkStatus();
}

absl::Status DockerClientImpl::StopContainer(const std::string& id, std::chrono::seconds timeout) {
  HttpRequest request;
  request.method = "POST";
  request.path = absl::StrCat("/containers/", Escape(id), "/stop");
  request.query = absl::StrCat("t=", std::max<int64_t>(0, timeout.count()));
  request.extra_time = timeout;  // dockerd answers after the container stopped
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (response->status == 304) return absl::OkStatus();  // already stopped
  if (!Is2xx(*response)) {
    return HttpError(request, *response, absl::StatusCode::kFailedPrecondition);
  }
  return absl::OkStatus();
}

absl::Status DockerClientImpl::RemoveContainer(const std::string& id, bool force) {
  HttpRequest request;
  request.method = "DELETE";
  request.path = absl::StrCat("/containers/", Escape(id));
  request.query = absl::StrCat("force=", force ? "1" : "0", "&v=0");
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) {
    return HttpError(request, *response, absl::StatusCode::kFailedPrecondition);
  }
  return absl::OkStatus();
}

absl::Status DockerClientImpl::KillContainer(const std::string& id, const std::string& signal) {
  HttpRequest request;
  request.method = "POST";
  request.path = absl::StrCat("/containers/", Escape(id), "/kill");
  request.query = absl::StrCat("signal=", Escape(signal));
  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) {
    // 409: not running; 404: no such container.
    return HttpError(request, *response, absl::StatusCode::kFailedPrecondition);
  }
  return absl::OkStatus();
}

absl::StatusOr<ContainerInfo> DockerClientImpl::InspectContainer(const std::string& id_or_name) {
  HttpRequest request;
  request.path = absl::StrCat("/containers/", Escape(id_or_name), "/json");
  absl::StatusOr<json> body = GetJson(request.path);
  if (!body.ok()) return body.status();
  return Interpret(request, [&]() -> absl::StatusOr<ContainerInfo> {
    ContainerInfo info = ParseContainerInspect(*body);
    if (info.id.empty()) return absl::InternalError(request.What() + ": no Id in the response");
    return info;
  });
}

absl::StatusOr<std::vector<ContainerInfo>> DockerClientImpl::ListContainers(
    const std::map<std::string, std::string>& label_filter) {
  HttpRequest request;
  request.path = "/containers/json";
  request.query = "all=1";
  const std::string filters = LabelFilterQuery(label_filter);
  if (!filters.empty()) absl::StrAppend(&request.query, "&", filters);
  absl::StatusOr<json> body = GetJson(request.path, request.query);
  if (!body.ok()) return body.status();
  return Interpret(request, [&]() -> absl::StatusOr<std::vector<ContainerInfo>> {
    if (!body->is_array()) {
      return absl::InternalError(request.What() + ": expected a JSON array in the response");
    }
    std::vector<ContainerInfo> containers;
    for (const json& container : *body) containers.push_back(ParseContainerSummary(container));
    return containers;
  });
}

// ---------------------------------------------------------------------------------------------
// Streams

absl::Status DockerClientImpl::Logs(const std::string& id, const LogOptions& options,
                                    const std::function<bool(const LogLine&)>& on_line) {
  // Without a TTY the stream is multiplexed; with one it is raw. Only inspect tells (API 1.42+
  // also says so in Content-Type, 1.41 does not).
  absl::StatusOr<json> container = GetJson(absl::StrCat("/containers/", Escape(id), "/json"));
  if (!container.ok()) return container.status();
  const bool tty = Bool(Obj(*container, "Config"), "Tty");

  HttpRequest request;
  request.path = absl::StrCat("/containers/", Escape(id), "/logs");
  request.query = absl::StrCat("stdout=1&stderr=1&follow=", options.follow ? "1" : "0",
                               "&tail=", options.tail < 0 ? "all" : absl::StrCat(options.tail));
  if (options.since_unix > 0) absl::StrAppend(&request.query, "&since=", options.since_unix);
  request.timeout = options.follow ? TimeoutMode::kNone : TimeoutMode::kIdle;
  LogLineDemuxer demuxer(/*multiplexed=*/!tty);
  request.on_data = [&](absl::string_view data) {
    if (options.stop && options.stop()) return false;
    return demuxer.Feed(data, on_line);
  };
  request.stop = options.stop;

  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) return HttpError(request, *response);
  if (!demuxer.status().ok()) {
    return absl::InternalError(absl::StrCat(request.What(), ": ", demuxer.status().message()));
  }
  if (response->stopped) return absl::OkStatus();  // on_line returned false
  absl::Status finished = demuxer.Finish(on_line);
  if (!finished.ok()) {
    return absl::InternalError(absl::StrCat(request.What(), ": ", finished.message()));
  }
  return absl::OkStatus();
}

absl::Status DockerClientImpl::Events(const std::map<std::string, std::string>& label_filter,
                                      const std::function<bool(const DockerEvent&)>& on_event) {
  HttpRequest request;
  request.path = "/events";
  request.query = LabelFilterQuery(label_filter, {{"type", json::array({"container"})}});
  request.timeout = TimeoutMode::kNone;
  JsonObjectSplitter splitter;
  absl::Status event_error;
  auto on_object = [&](absl::string_view object) {
    try {
      return on_event(ParseEvent(json::parse(object.begin(), object.end())));
    } catch (const json::exception& e) {
      event_error = absl::InternalError(
          absl::StrCat(request.What(), ": invalid JSON event in the stream: ", e.what()));
      return false;
    }
  };
  request.on_data = [&](absl::string_view data) { return splitter.Feed(data, on_object); };

  absl::StatusOr<HttpResponse> response = Perform(request);
  if (!event_error.ok()) return event_error;
  if (!splitter.status().ok()) {
    return absl::InternalError(absl::StrCat(request.What(), ": ", splitter.status().message()));
  }
  if (!response.ok()) return response.status();
  if (!Is2xx(*response)) return HttpError(request, *response);
  if (splitter.HasPartial()) {
    return absl::UnavailableError(
        absl::StrCat(request.What(), ": the stream ended inside an event"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExecResult> DockerClientImpl::Exec(const std::string& id,
                                                  const std::vector<std::string>& command,
                                                  const std::string& user) {
  if (command.empty()) return absl::InvalidArgumentError("exec without a command");
  HttpRequest create;
  create.method = "POST";
  create.path = absl::StrCat("/containers/", Escape(id), "/exec");
  create.body = Dump({{"AttachStdin", false},
                      {"AttachStdout", true},
                      {"AttachStderr", true},
                      {"Tty", false},
                      {"Cmd", command},
                      {"User", user}});
  absl::StatusOr<HttpResponse> created = Perform(create);
  if (!created.ok()) return created.status();
  // 409: the container is not running.
  if (!Is2xx(*created)) return HttpError(create, *created, absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<json> created_body = ParseJson(create, *created);
  if (!created_body.ok()) return created_body.status();
  const std::string exec_id = Str(*created_body, "Id");
  if (exec_id.empty()) return absl::InternalError(create.What() + ": no Id in the response");

  ExecResult result;
  FrameParser parser;
  HttpRequest start;
  start.method = "POST";
  start.path = absl::StrCat("/exec/", Escape(exec_id), "/start");
  start.body = Dump({{"Detach", false}, {"Tty", false}});
  start.on_data = [&](absl::string_view data) {
    return parser.Feed(data, [&](StreamType, absl::string_view payload) {
      result.output.append(payload.data(), payload.size());
      return true;
    });
  };
  absl::StatusOr<HttpResponse> started = Perform(start);
  if (!started.ok()) return started.status();
  if (!Is2xx(*started)) return HttpError(start, *started, absl::StatusCode::kFailedPrecondition);
  if (absl::Status parsed = parser.Finish(); !parsed.ok()) {
    return absl::InternalError(absl::StrCat(start.What(), ": ", parsed.message()));
  }

  // The stream ends when the process does; its exit code can lag a moment behind.
  const std::string inspect_path = absl::StrCat("/exec/", Escape(exec_id), "/json");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::chrono::milliseconds pause(5);
  while (true) {
    absl::StatusOr<json> inspect = GetJson(inspect_path);
    if (!inspect.ok()) return inspect.status();
    if (!Bool(*inspect, "Running")) {
      result.exit_code = Int32(*inspect, "ExitCode");
      return result;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("GET ", inspect_path, ": exec \"", exec_id,
                                                      "\" still running after its stream ended"));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(200));
  }
}

}  // namespace

absl::StatusOr<std::string> NegotiateDockerApiVersion(absl::string_view server_api,
                                                      absl::string_view server_min_api) {
  const std::optional<std::pair<int, int>> server = ParseApiVersion(server_api);
  if (!server.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the daemon's API version \"", server_api, "\" is not MAJOR.MINOR"));
  }
  std::pair<int, int> chosen = std::min(*server, *ParseApiVersion(kMaxDockerApiVersion));
  const std::optional<std::pair<int, int>> server_min = ParseApiVersion(server_min_api);
  if (server_min.has_value() && chosen < *server_min && *server_min <= *server) {
    Logger()->warn("the Docker daemon needs API {} at least, newer than this client's {}",
                   std::string(server_min_api), kMaxDockerApiVersion);
    chosen = *server_min;
  }
  return absl::StrCat(chosen.first, ".", chosen.second);
}

absl::StatusOr<std::unique_ptr<DockerClient>> NewDockerClient(const DockerClientOptions& options) {
  static std::once_flag once;
  static CURLcode global_init = CURLE_OK;
  std::call_once(once, [] { global_init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global_init != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init failed: ", curl_easy_strerror(global_init)));
  }
  if (options.socket_path.empty()) return absl::InvalidArgumentError("empty Docker socket path");
  if (options.socket_path.size() >= 108) {  // sizeof(sockaddr_un::sun_path)
    return absl::InvalidArgumentError(
        absl::StrCat("Docker socket path \"", options.socket_path, "\" is too long"));
  }
  if (options.request_timeout.count() <= 0 || options.connect_timeout.count() <= 0) {
    return absl::InvalidArgumentError("Docker client timeouts must be positive");
  }
  return std::unique_ptr<DockerClient>(new DockerClientImpl(options));
}

namespace {

// Parses body and interprets it with f, as the client does, JSON errors as Internal.
template <typename F>
auto FromBody(absl::string_view body, F&& f) -> decltype(f(json())) {
  try {
    return f(json::parse(body.begin(), body.end()));
  } catch (const json::exception& e) {
    return absl::InternalError(absl::StrCat("invalid JSON: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<ContainerInfo> ParseContainerInspectJson(absl::string_view body) {
  return FromBody(body, [](const json& j) -> absl::StatusOr<ContainerInfo> {
    return ParseContainerInspect(j);
  });
}

absl::StatusOr<std::vector<ContainerInfo>> ParseContainerListJson(absl::string_view body) {
  return FromBody(body, [](const json& j) -> absl::StatusOr<std::vector<ContainerInfo>> {
    if (!j.is_array()) return absl::InternalError("expected a JSON array");
    std::vector<ContainerInfo> containers;
    for (const json& container : j) containers.push_back(ParseContainerSummary(container));
    return containers;
  });
}

absl::StatusOr<NetworkInfo> ParseNetworkJson(absl::string_view body) {
  return FromBody(body,
                  [](const json& j) -> absl::StatusOr<NetworkInfo> { return ParseNetwork(j); });
}

absl::StatusOr<DockerEvent> ParseEventJson(absl::string_view body) {
  return FromBody(body, [](const json& j) -> absl::StatusOr<DockerEvent> { return ParseEvent(j); });
}

absl::StatusOr<DockerInfo> ParseInfoJson(absl::string_view body) {
  return FromBody(body, [](const json& j) -> absl::StatusOr<DockerInfo> { return ParseInfo(j); });
}

std::string DockerErrorMessage(absl::string_view body) { return DockerMessage(std::string(body)); }

}  // namespace bdcoord::agent
