// bdcoordd: the bdcoord coordinator. Agents keep one stream open to it (AgentService); the CLI
// and other tools use ClusterService. Listens on a unix socket by default.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coordinator/grpc/agent_service.h"
#include "coordinator/grpc/cluster_service.h"
#include "coordinator/grpc/token_auth.h"
#include "coordinator/ops/controller.h"
#include "coordinator/state/event_bus.h"
#include "coordinator/state/inventory.h"
#include "coordinator/state/store_sqlite.h"
#include "proto/rpc/bearer_token.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace {

constexpr char kDefaultListen[] = "unix:///run/bdcoord/bdcoordd.sock";

// True when something accepts connections on the unix socket at `path`.
bool SocketAnswers(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool answers = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return answers;
}

// Makes the socket's directory and removes a stale socket file. An error message, or empty.
std::string PrepareUnixSocket(const std::string& path) {
  if (path.empty() || path[0] != '/') return "a unix socket path must be absolute: '" + path + "'";
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return "cannot create '" + parent.string() + "': " + ec.message();
    ::chmod(parent.c_str(), 0755);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return "'" + path + "' exists and is not a socket";
    if (SocketAnswers(path)) return "another process is listening on '" + path + "'";
    if (::unlink(path.c_str()) != 0) {
      return "cannot remove the stale socket '" + path + "': " + std::strerror(errno);
    }
  }
  return "";
}

// Reads a whole file for `flag`; false with a message naming both when it cannot.
bool ReadFile(const std::string& flag, const std::string& path, std::string* content,
              std::string* error) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().empty()) {
    *error = flag + ": cannot read '" + path + "'" + (in ? " (empty)" : "");
    return false;
  }
  *content = text.str();
  return true;
}

bool IsLoopbackHost(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "bdcoordd: the bdcoord coordinator. Agents dial it and keep one stream open; the bdcoord "
      "CLI talks to it over the same gRPC endpoint."};
  std::string listen = kDefaultListen;
  double heartbeat_timeout_seconds = 15;
  std::string tls_cert, tls_key, tls_ca;
  std::string token_file;
  std::string data_dir = "/var/lib/bdcoord";
  std::string log_level = "info";
  app.add_option("--listen", listen,
                 "unix:///PATH, or HOST:PORT for TCP (a non-loopback address needs --tls-*)")
      ->capture_default_str();
  app.add_option("--heartbeat-timeout", heartbeat_timeout_seconds,
                 "Seconds without a heartbeat after which a host is marked down")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--tls-cert", tls_cert, "Server certificate (PEM), for mutual TLS on TCP");
  app.add_option("--tls-key", tls_key, "Server private key (PEM)");
  app.add_option("--tls-ca", tls_ca, "CA (PEM) that client certificates must be signed by");
  app.add_option("--token-file", token_file,
                 "File with one bearer token: every ClusterService call (bdcoord) must then send "
                 "it; agents send it too unless they connect over mutual TLS")
      ->type_name("FILE");
  app.add_option("--data-dir", data_dir, "Where the coordinator keeps its state")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto logger = spdlog::stderr_color_mt("bdcoordd");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  std::string grpc_address;
  std::string socket_path;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  const bool any_tls = !tls_cert.empty() || !tls_key.empty() || !tls_ca.empty();
  const bool all_tls = !tls_cert.empty() && !tls_key.empty() && !tls_ca.empty();
  if (any_tls && !all_tls) {
    std::cerr << "bdcoordd: mutual TLS needs all of --tls-cert, --tls-key and --tls-ca\n";
    return 2;
  }
  if (absl::StartsWith(listen, "unix:")) {
    if (any_tls) {
      std::cerr << "bdcoordd: --tls-* apply to a TCP --listen address, not to a unix socket "
                   "(its file permissions protect it)\n";
      return 2;
    }
    socket_path = listen.substr(absl::StartsWith(listen, "unix://") ? 7 : 5);
    if (const std::string error = PrepareUnixSocket(socket_path); !error.empty()) {
      std::cerr << "bdcoordd: " << error << "\n";
      return 1;
    }
    grpc_address = "unix:" + socket_path;
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos || colon + 1 == listen.size()) {
      std::cerr << "bdcoordd: --listen '" << listen << "' is neither unix:///PATH nor HOST:PORT\n";
      return 2;
    }
    if (!IsLoopbackHost(listen.substr(0, colon)) && !all_tls) {
      std::cerr << "bdcoordd: refusing to listen on '" << listen
                << "' without TLS: anyone on the network could then register hosts and "
                   "deploy containers\n  hint: give --tls-cert, --tls-key and --tls-ca (mutual "
                   "TLS), or listen on a loopback address or a unix socket\n";
      return 2;
    }
    if (all_tls) {
      // Mutual TLS: clients (agents, the CLI) must present a certificate signed by --tls-ca.
      grpc::SslServerCredentialsOptions options(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      std::string cert, key, ca, error;
      if (!ReadFile("--tls-cert", tls_cert, &cert, &error) ||
          !ReadFile("--tls-key", tls_key, &key, &error) ||
          !ReadFile("--tls-ca", tls_ca, &ca, &error)) {
        std::cerr << "bdcoordd: " << error << "\n";
        return 2;
      }
      options.pem_root_certs = ca;
      options.pem_key_cert_pairs.push_back({key, cert});
      credentials = grpc::SslServerCredentials(options);
    }
    grpc_address = listen;
  }
  std::string token;
  if (!token_file.empty()) {
    absl::StatusOr<std::string> read = bdcoord::rpc::ReadTokenFile("--token-file", token_file);
    if (!read.ok()) {
      std::cerr << "bdcoordd: " << read.status().message() << "\n";
      return 2;
    }
    token = *std::move(read);
    struct stat st {};
    if (::stat(token_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      logger->warn("the token file '{}' can be read by other users than its owner: chmod 600 it",
                   token_file);
    }
  }
  {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) {
      std::cerr << "bdcoordd: cannot create the data directory '" << data_dir
                << "': " << ec.message() << "\n";
      return 1;
    }
  }
  const std::string store_path = (std::filesystem::path(data_dir) / "state.db").string();
  auto store = bdcoord::coordinator::OpenSqliteStore(store_path);
  if (!store.ok()) {
    std::cerr << "bdcoordd: " << store.status().message() << "\n";
    return 1;
  }
  logger->info("state in '{}'", store_path);

  // Signals are taken by sigwait below; every thread started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  bdcoord::coordinator::Inventory inventory;
  // Host and instance events (AgentServiceImpl, HeartbeatMonitor), watched through WatchEvents.
  bdcoord::coordinator::EventBus events;
  bdcoord::coordinator::AgentServiceImpl agent_service(
      &inventory, logger, [] { return absl::Now(); }, &events);
  // Passes run when an agent reports or (re)connects, when a cluster changes, and every few
  // seconds regardless: an idle coordinator reads its store rarely.
  bdcoord::coordinator::ClusterController controller(&inventory, &agent_service, store->get(),
                                                     logger, absl::Seconds(5));
  agent_service.OnChange([&controller] { controller.Wake(); });
  controller.Start();
  bdcoord::coordinator::ClusterServiceImpl cluster_service(&inventory, &agent_service, store->get(),
                                                           &controller);
  const absl::Duration timeout = absl::Seconds(heartbeat_timeout_seconds);
  bdcoord::coordinator::HeartbeatMonitor monitor(
      &inventory, logger, timeout,
      std::clamp(timeout / 4, absl::Milliseconds(100), absl::Seconds(1)),
      [] { return absl::Now(); }, &events);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(grpc_address, credentials, &port);
  // With a token, the server sees the services through the wrappers that check it.
  bdcoord::coordinator::TokenAgentService token_agent_service(&agent_service, token);
  bdcoord::coordinator::TokenClusterService token_cluster_service(&cluster_service, token);
  if (token.empty()) {
    builder.RegisterService(&agent_service);
    builder.RegisterService(&cluster_service);
  } else {
    builder.RegisterService(&token_agent_service);
    builder.RegisterService(&token_cluster_service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || (socket_path.empty() && port == 0)) {
    std::cerr << "bdcoordd: cannot listen on '" << listen << "'"
              << (all_tls ? " (with mutual TLS: check that the certificate matches the key and "
                            "that all three are PEM)"
                          : "")
              << "\n";
    return 1;
  }
  logger->info("listening on '{}'{}{}", listen, all_tls ? " with mutual TLS" : "",
               token.empty() ? "" : ", bearer token required");

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  logger->info("stopping on signal {}", signal_number);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(3));
  server->Wait();
  if (!socket_path.empty()) ::unlink(socket_path.c_str());
  return 0;
}
