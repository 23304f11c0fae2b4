// bdcoordd: the bdcoord coordinator. Agents keep one stream open to it (AgentService); the CLI
// and other tools use ClusterService. Listens on a unix socket by default. Flags and wiring only.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coordinator/grpc/coordinator.h"
#include "coordinator/grpc/leader_gate.h"
#include "coordinator/grpc/token_auth.h"
#include "coordinator/ops/image_push.h"
#include "coordinator/spec/spec_loader.h"
#include "coordinator/state/etcd_kv_http.h"
#include "coordinator/state/leader_election.h"
#include "coordinator/state/metered_store.h"
#include "coordinator/state/store_etcd.h"
#include "coordinator/state/store_sqlite.h"
#include "coordinator/web/status_page.h"
#include "proto/rpc/daemon.h"
#include "proto/rpc/metrics_endpoint.h"

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
                 "unix:///PATH (mode 0600), or HOST:PORT for TCP: a loopback address needs "
                 "--token-file, any other --tls-* and --token-file")
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
  std::string store_url = "sqlite";
  coord::EtcdHttpOptions etcd;
  app.add_option("--store", store_url,
                 "Where the state is: sqlite (state.db in --data-dir), or "
                 "etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (keys under PREFIX, default /bdcoord/)")
      ->capture_default_str();
  app.add_option("--etcd-ca", etcd.tls_ca, "CA (PEM) of etcd's server certificates: TLS to etcd")
      ->type_name("FILE");
  app.add_option("--etcd-cert", etcd.tls_cert, "Client certificate (PEM) for etcd")
      ->type_name("FILE");
  app.add_option("--etcd-key", etcd.tls_key, "Client private key (PEM) for etcd")
      ->type_name("FILE");
  absl::Duration leader_lease = absl::Seconds(5);
  app.add_option_function<std::string>(
         "--leader-lease",
         [&leader_lease](const std::string& text) {
           if (!absl::ParseDuration(text, &leader_lease) || leader_lease < absl::Seconds(1) ||
               leader_lease > absl::Hours(1)) {
             throw CLI::ValidationError("--leader-lease", "'" + text +
                                                              "' is not a duration between 1s "
                                                              "and 1h (such as 5s)");
           }
         },
         "With --store etcd://: the leader's lease. Several bdcoordd on one etcd prefix elect one "
         "leader; the others stand by and take over within about this long after it dies")
      ->type_name("DURATION")
      ->default_str("5s");
  std::string advertise;
  app.add_option("--advertise", advertise,
                 "With --store etcd://: the address clients and agents should use for this "
                 "coordinator, what standbys name as the leader (default: --listen, which must "
                 "then not be a wildcard such as 0.0.0.0:PORT)")
      ->type_name("ADDR");
  coord::HostPolicy policy;
  app.add_flag("--allow-root", policy.allow_root,
               "Let specs run containers as root (`user: 0`); refused by default");
  app.add_option("--allow-host-path", policy.allowed_host_paths,
                 "An absolute host directory under which specs may bind-mount host paths "
                 "(repeatable); none by default. The Docker socket is never allowed")
      ->type_name("PREFIX")
      ->check([](const std::string& path) {
        return !path.empty() && path[0] == '/' ? std::string()
                                               : std::string("must be an absolute path");
      });
  size_t max_streams = coord::kDefaultMaxStreams;
  size_t max_streams_per_client = coord::kDefaultMaxStreamsPerClient;
  app.add_option("--max-streams", max_streams,
                 "Most log and event streams (bdcoord logs -f, bdcoord events) open at once; "
                 "more are refused with RESOURCE_EXHAUSTED")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  app.add_option("--max-streams-per-client", max_streams_per_client,
                 "Most of those streams one client may hold (a client: its certificate, the "
                 "bearer token, or its address)")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  absl::Duration forget_hosts_after = absl::Hours(24);
  app.add_option_function<std::string>(
         "--forget-hosts-after",
         [&forget_hosts_after](const std::string& text) {
           if (!absl::ParseDuration(text, &forget_hosts_after) ||
               forget_hosts_after <= absl::ZeroDuration()) {
             throw CLI::ValidationError("--forget-hosts-after",
                                        "'" + text +
                                            "' is not a positive duration (such as 24h, 90m, "
                                            "30s, or inf for never)");
           }
         },
         "A host disconnected this long leaves the inventory (bdcoord hosts) unless placed "
         "instances still refer to it; inf for never")
      ->type_name("DURATION")
      ->default_str("24h");
  int64_t max_image_bytes = coord::kDefaultMaxImageBytes;
  app.add_option_function<std::string>(
         "--max-image-size",
         [&max_image_bytes](const std::string& text) {
           if (!coord::ParseMemoryBytes(text, &max_image_bytes) || max_image_bytes <= 0) {
             throw CLI::ValidationError("--max-image-size",
                                        "'" + text + "' is not a size (such as 4Gi, 512Mi)");
           }
         },
         "The largest image archive `bdcoord images push` may send through the coordinator")
      ->type_name("SIZE")
      ->default_str("4Gi");
  std::string http_listen;
  app.add_option("--http-listen", http_listen,
                 "Serve a read-only status page (racks, hosts, instances, events, logs) at "
                 "http://HOST:PORT/. Needs --token-file (the page asks for the token once); off "
                 "loopback also --tls-cert and --tls-key (it is then HTTPS). Off by default")
      ->type_name("HOST:PORT");
  std::string metrics_listen;
  bdcoord::rpc::AddMetricsListenFlag(&app, &metrics_listen);
  bdcoord::rpc::AddLogLevelFlag(&app, &log_level);
  bdcoord::rpc::AddVersionFlag(&app, "bdcoordd");
  if (auto code = bdcoord::rpc::ParseCommandLine(&app, argc, argv)) return *code;
  if (store_url != "sqlite") {
    auto parsed = coord::ParseEtcdUrl(store_url);
    if (!parsed.ok()) {
      return Fail(
          absl::InvalidArgumentError(absl::StrCat(
              "--store: ", parsed.status().message(),
              store_url.find("://") == std::string::npos ? " (or sqlite, the default)" : "")),
          2);
    }
    parsed->tls_ca = etcd.tls_ca;
    parsed->tls_cert = etcd.tls_cert;
    parsed->tls_key = etcd.tls_key;
    etcd = *std::move(parsed);
  }
  auto logger = bdcoord::rpc::SetUpDaemonLogger("bdcoordd", log_level);

  if (!metrics_listen.empty()) {
    if (auto bind = bdcoord::rpc::MetricsBindAddress(metrics_listen); !bind.ok()) {
      return Fail(bind.status(), 2);
    }
  }
  std::optional<coord::HttpBind> http_bind;
  if (!http_listen.empty()) {
    auto bind = coord::ParseHttpListen(http_listen, !listen.tls_cert.empty(), !token_file.empty());
    if (!bind.ok()) return Fail(bind.status(), 2);
    http_bind = *bind;
  }
  listen.token = !token_file.empty();
  auto endpoint = coord::PrepareListenEndpoint(listen);
  if (!endpoint.ok())
    return Fail(endpoint.status(), absl::IsInvalidArgument(endpoint.status()) ? 2 : 1);
  auto token = coord::ReadServerToken(token_file, *logger);
  if (!token.ok()) return Fail(token.status(), 2);
  std::unique_ptr<coord::EtcdKv> election_kv;  // both outlive the store, which they fence
  std::unique_ptr<coord::LeaderElection> election;
  absl::StatusOr<std::unique_ptr<coord::Store>> store;
  if (store_url == "sqlite") {
    store = coord::OpenSqliteStoreInDir(data_dir);
    if (store.ok()) logger->info("state in '{}/state.db'", data_dir);
  } else {
    absl::StatusOr<std::string> advertised = coord::AdvertisedAddress(advertise, listen.listen);
    if (!advertised.ok()) return Fail(advertised.status(), 2);
    auto kv = coord::NewEtcdHttpKv(etcd);
    auto own_kv = coord::NewEtcdHttpKv(etcd);  // the election's renewals wait on no store call
    if (kv.ok() && own_kv.ok()) {
      election_kv = *std::move(own_kv);
      std::string key = etcd.prefix;
      if (key.empty() || key.back() != '/') key += '/';
      election = std::make_unique<coord::LeaderElection>(
          election_kv.get(), coord::LeaderElectionOptions{.key = key + "leader",
                                                          .advertise = *advertised,
                                                          .ttl = leader_lease,
                                                          .now = [] { return absl::Now(); }});
    }
    store = !kv.ok()       ? kv.status()
            : !own_kv.ok() ? own_kv.status()
                           : coord::OpenEtcdStore(*std::move(kv), etcd.prefix, election.get());
    if (store.ok()) {
      logger->info("state in {} under '{}'; campaigning as '{}' (lease {})", store_url, etcd.prefix,
                   *advertised, absl::FormatDuration(leader_lease));
    }
  }
  if (!store.ok()) return Fail(store.status(), 1);

  bdcoord::rpc::BlockStopSignals();  // before any thread starts: only WaitForStopSignal takes them
  auto registry = std::make_shared<prometheus::Registry>();
  const coord::ControllerMetrics controller_metrics = coord::ControllerMetrics::Register(*registry);
  const coord::ServiceMetrics service_metrics = coord::ServiceMetrics::Register(*registry);
  coord::MeteredStore metered_store(**store, *registry, [] { return absl::Now(); });
  auto metrics_endpoint = bdcoord::rpc::StartMetricsEndpoint(metrics_listen, registry);
  if (!metrics_endpoint.ok()) return Fail(metrics_endpoint.status(), 1);

  coord::Coordinator coordinator(metered_store,
                                 {.logger = logger,
                                  .now = [] { return absl::Now(); },
                                  .heartbeat_timeout = absl::Seconds(heartbeat_timeout_seconds),
                                  .token = *token,
                                  .host_policy = policy,
                                  .max_streams = max_streams,
                                  .max_streams_per_client = max_streams_per_client,
                                  .forget_hosts_after = forget_hosts_after,
                                  .controller_metrics = &controller_metrics,
                                  .service_metrics = &service_metrics,
                                  .leadership = election.get()});
  coordinator.ops().SetImagePushLimits({.max_bytes = max_image_bytes});
  if (election != nullptr) election->Start();
  auto server = coordinator.Serve(listen, *endpoint);
  if (!server.ok()) return Fail(server.status(), 1);
  logger->info("listening on '{}'{}{}", listen.listen,
               endpoint->mutual_tls ? " with mutual TLS" : "",
               token->empty() ? "" : ", bearer token required");
  if (*metrics_endpoint != nullptr) logger->info("metrics at http://{}/metrics", metrics_listen);
  std::unique_ptr<coord::StatusPage> status_page;
  if (http_bind) {
    auto page =
        coord::StatusPage::Start({.bind = *http_bind,
                                  .tls_cert = listen.tls_cert,
                                  .tls_key = listen.tls_key,
                                  .token = *token},
                                 bdcoord::v1::ClusterService::NewStub(
                                     (*server)->InProcessChannel(grpc::ChannelArguments())));
    if (!page.ok()) {
      coordinator.Shutdown(**server);
      coord::StopServer(**server, *endpoint);
      return Fail(page.status(), absl::IsInvalidArgument(page.status()) ? 2 : 1);
    }
    status_page = *std::move(page);
    logger->info("status page at {}", status_page->url());
  }

  const int signal_number = bdcoord::rpc::WaitForStopSignal();
  logger->info("stopping on signal {}", signal_number);
  if (status_page) status_page->Stop();  // its event watch is a stream of the coordinator's
  coordinator.Shutdown(**server);  // ends streams and agent sessions first: no waiting on them
  coord::StopServer(**server, *endpoint);
  if (election != nullptr) election->Resign();  // a standby takes over at once
  return 0;
}
