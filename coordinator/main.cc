// bdcoordd: the bdcoord coordinator. Agents keep one stream open to it (AgentService); the CLI
// and other tools use ClusterService. Listens on a unix socket by default. Flags and wiring only.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/time/clock.h"
#include "coordinator/grpc/coordinator.h"
#include "coordinator/grpc/token_auth.h"
#include "coordinator/state/store_sqlite.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace coord = bdcoord::coordinator;

// "bdcoordd: message" on stderr, and the exit code.
int Fail(const absl::Status& status, int code) {
  std::cerr << "bdcoordd: " << status.message() << "\n";
  return code;
}

int main(int argc, char** argv) {
  CLI::App app{
      "bdcoordd: the bdcoord coordinator. Agents dial it and keep one stream open; the bdcoord "
      "CLI talks to it over the same gRPC endpoint."};
  coord::ListenFlags listen;
  double heartbeat_timeout_seconds = 15;
  std::string token_file, data_dir = "/var/lib/bdcoord", log_level = "info";
  app.add_option("--listen", listen.listen,
                 "unix:///PATH, or HOST:PORT for TCP (a non-loopback address needs --tls-*)")
      ->capture_default_str();
  app.add_option("--heartbeat-timeout", heartbeat_timeout_seconds,
                 "Seconds without a heartbeat after which a host is marked down")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--tls-cert", listen.tls_cert, "Server certificate (PEM), for mutual TLS on TCP");
  app.add_option("--tls-key", listen.tls_key, "Server private key (PEM)");
  app.add_option("--tls-ca", listen.tls_ca, "CA (PEM) that client certificates must be signed by");
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

  auto endpoint = coord::PrepareListenEndpoint(listen);
  if (!endpoint.ok())
    return Fail(endpoint.status(), absl::IsInvalidArgument(endpoint.status()) ? 2 : 1);
  auto token = coord::ReadServerToken(token_file, *logger);
  if (!token.ok()) return Fail(token.status(), 2);
  auto store = coord::OpenSqliteStoreInDir(data_dir);
  if (!store.ok()) return Fail(store.status(), 1);
  logger->info("state in '{}/state.db'", data_dir);

  // Signals are taken by sigwait below; every thread started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  coord::Coordinator coordinator(**store,
                                 {.logger = logger,
                                  .now = [] { return absl::Now(); },
                                  .heartbeat_timeout = absl::Seconds(heartbeat_timeout_seconds),
                                  .token = *token});
  auto server = coordinator.Serve(listen, *endpoint);
  if (!server.ok()) return Fail(server.status(), 1);
  logger->info("listening on '{}'{}{}", listen.listen,
               endpoint->mutual_tls ? " with mutual TLS" : "",
               token->empty() ? "" : ", bearer token required");

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  logger->info("stopping on signal {}", signal_number);
  coord::StopServer(**server, *endpoint);
  return 0;
}
