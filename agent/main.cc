// bdagent: the per-host agent. Turns the desired containers of this host into real ones through
// the Docker Engine API and keeps every container's /etc/hosts current.
#include <google/protobuf/util/json_util.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/coordinator_link.h"
#include "agent/docker/docker_client_impl.h"
#include "agent/host_facts.h"
#include "agent/hosts_writer.h"
#include "agent/log_server.h"
#include "agent/probes.h"
#include "agent/reconciler.h"
#include "net/link_manager_netlink.h"
#include "proto/rpc/bearer_token.h"
#include "proto/rpc/client_channel.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace {

std::atomic<bool> g_stop{false};
// Set by the Docker events watcher: something happened to one of our containers.
std::atomic<bool> g_wake{false};

void OnSignal(int) { g_stop = true; }

absl::StatusOr<bdcoord::v1::DesiredState> ReadDesired(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  bdcoord::v1::DesiredState desired;
  const auto status = google::protobuf::util::JsonStringToMessage(text.str(), &desired);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a desired state: ", std::string(status.message())));
  }
  return desired;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

// Sleeps until the deadline, a signal, or a Docker event, waking often enough to stop promptly.
void SleepUnlessStopped(absl::Duration duration) {
  const absl::Time deadline = absl::Now() + duration;
  while (!g_stop && !g_wake.exchange(false) && absl::Now() < deadline) {
    absl::SleepFor(std::min(absl::Milliseconds(200), deadline - absl::Now()));
  }
}

// Logs what a pass changed, and Docker going away or coming back (once per change, not per pass).
class PassReporter {
 public:
  PassReporter(std::shared_ptr<spdlog::logger> logger, std::string socket)
      : logger_(std::move(logger)), socket_(std::move(socket)) {}

  // Returns whether Docker was unreachable during this pass.
  bool Report(const std::string& cluster, const bdcoord::agent::ReconcileResult& result) {
    const bool docker_down =
        !result.errors.empty() && result.errors.front().rfind("cannot list containers", 0) == 0;
    if (docker_down != docker_was_down_) {
      if (docker_down) {
        logger_->error("Docker is unavailable at '{}': {}", socket_, result.errors.front());
      } else {
        logger_->info("Docker is back at '{}'", socket_);
      }
      docker_was_down_ = docker_down;
    }
    if (result.created + result.replaced + result.removed + result.hosts_files_updated > 0) {
      logger_->info(
          "cluster '{}' reconciled: {} created, {} replaced, {} removed, {} hosts files "
          "updated",
          cluster, result.created, result.replaced, result.removed, result.hosts_files_updated);
    }
    return docker_down;
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::string socket_;
  bool docker_was_down_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "bdagent: the bdcoord host agent. Runs the desired containers of this host through the "
      "Docker Engine API (no SSH, no docker CLI) and keeps their /etc/hosts current."};
  std::string socket = "/var/run/docker.sock";
  std::string desired_file;
  std::string config = "/etc/bdcoord/agent.yaml";
  std::vector<std::string> label_flags;
  bool once = false;
  bool print_facts = false;
  double interval_seconds = 10;
  int parallelism = 4;
  std::string log_level = "info";
  std::string coordinator = "unix:///run/bdcoord/bdcoordd.sock";
  std::string host_name;
  double heartbeat_seconds = 5;
  bdcoord::rpc::ClientChannelOptions channel_options;
  std::string token_file;
  app.add_option("--docker-socket", socket, "Docker Engine API socket")->capture_default_str();
  app.add_option("--desired", desired_file,
                 "Run from a desired-state file (DesiredState as JSON, see proto/bdcoord/v1/"
                 "agent.proto) instead of a coordinator; re-read when it changes")
      ->type_name("FILE");
  app.add_option("--coordinator", coordinator,
                 "Without --desired: the coordinator to dial (unix:///PATH or HOST:PORT); its "
                 "desired states are run, a status report goes back after every pass")
      ->capture_default_str()
      ->excludes("--desired");
  app.add_option("--tls-cert", channel_options.tls_cert,
                 "Client certificate (PEM) for mutual TLS with a TCP coordinator")
      ->type_name("FILE")
      ->excludes("--desired");
  app.add_option("--tls-key", channel_options.tls_key, "The client certificate's private key (PEM)")
      ->type_name("FILE")
      ->excludes("--desired");
  app.add_option("--tls-ca", channel_options.tls_ca,
                 "CA (PEM) that signed the coordinator's "
                 "certificate")
      ->type_name("FILE")
      ->excludes("--desired");
  app.add_option("--tls-server-name", channel_options.tls_server_name,
                 "The name to check in the coordinator's certificate instead of the address's "
                 "host")
      ->type_name("NAME")
      ->excludes("--desired");
  app.add_option("--token-file", token_file,
                 "File with the coordinator's bearer token, for a coordinator with --token-file "
                 "that this agent reaches without mutual TLS")
      ->type_name("FILE")
      ->excludes("--desired");
  app.add_option("--host-name", host_name,
                 "This host's name in the coordinator's inventory (default: the hostname)");
  app.add_option("--heartbeat-interval", heartbeat_seconds,
                 "Seconds between heartbeats to the coordinator")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--config", config, "Agent config with `labels: {rack: r1}`")
      ->capture_default_str();
  app.add_option("--label", label_flags, "Host label KEY=VALUE (repeatable; wins over --config)");
  app.add_flag("--once", once, "Reconcile once, print every instance's status as JSON, exit");
  app.add_flag("--facts", print_facts, "Print this host's facts as JSON and exit");
  app.add_option("--interval", interval_seconds, "Seconds between reconcile passes")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--parallelism", parallelism, "Instances worked on at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Logs go to stderr (journald under systemd); stdout carries only --once and --facts output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bdagent"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  auto logger = spdlog::default_logger();

  std::shared_ptr<grpc::Channel> channel;
  if (desired_file.empty() && !print_facts) {
    channel_options.address = coordinator;
    if (!token_file.empty()) {
      absl::StatusOr<std::string> token = bdcoord::rpc::ReadTokenFile("--token-file", token_file);
      if (!token.ok()) {
        std::cerr << "bdagent: " << token.status().message() << "\n";
        return 2;
      }
      channel_options.token = *std::move(token);
    }
    absl::StatusOr<std::shared_ptr<grpc::Channel>> made =
        bdcoord::rpc::NewClientChannel(channel_options);
    if (!made.ok()) {
      std::cerr << "bdagent: " << made.status().message() << "\n";
      return 2;
    }
    channel = *std::move(made);
  }

  auto labels = bdcoord::agent::LoadLabels(config, label_flags);
  if (!labels.ok()) {
    std::cerr << "bdagent: " << labels.status().message() << "\n";
    return 2;
  }
  bdcoord::agent::DockerClientOptions docker_options;
  docker_options.socket_path = socket;
  auto docker = bdcoord::agent::NewDockerClient(docker_options);
  if (!docker.ok()) {
    std::cerr << "bdagent: " << docker.status().message() << "\n";
    return 1;
  }
  if (print_facts) {
    std::cout << ToJson(bdcoord::agent::CollectHostFacts(docker->get(), *labels));
    return 0;
  }
  if (desired_file.empty() && once) {
    std::cerr << "bdagent: --once needs --desired FILE.json\n";
    return 2;
  }

  bdcoord::agent::FileHostsWriter hosts_writer;
  bdcoord::agent::ReconcilerOptions reconciler_options;
  reconciler_options.parallelism = parallelism;
  const std::unique_ptr<bdcoord::net::LinkManager> links = bdcoord::net::NewNetlinkLinkManager();
  bdcoord::agent::Reconciler reconciler(docker->get(), &hosts_writer, links.get(),
                                        reconciler_options);

  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  // Docker events of our containers (start, die, ...) trigger a pass at once: e.g. Docker
  // rewrites /etc/hosts from the creation-time entries when it restarts a container, and the
  // pass puts the current hosts map back. The stream is re-opened with backoff when it drops.
  if (!once) {
    std::thread([docker = docker->get(), logger] {
      absl::Duration backoff = absl::Seconds(1);
      while (!g_stop) {
        const absl::Status status =
            docker->Events({{bdcoord::agent::kClusterLabel, ""}}, [&](const auto& event) {
              logger->debug("event {} {} of '{}'", event.type, event.action,
                            event.id.substr(0, 12));
              if (event.action == "start" || event.action == "die") g_wake = true;
              backoff = absl::Seconds(1);
              return !g_stop.load();
            });
        if (g_stop) break;
        logger->debug("event stream ended ({}); reconnecting in {}", std::string(status.message()),
                      absl::FormatDuration(backoff));
        for (absl::Time until = absl::Now() + backoff; !g_stop && absl::Now() < until;) {
          absl::SleepFor(absl::Milliseconds(200));
        }
        backoff = std::min(backoff * 2, absl::Seconds(30));
      }
    }).detach();
  }
  if (desired_file.empty()) {
    // Coordinator mode: each received DesiredState replaces its cluster's; a lost coordinator
    // changes nothing here (the last desired states keep being reconciled).
    if (host_name.empty()) {
      char name[256] = {};
      ::gethostname(name, sizeof(name) - 1);
      host_name = name;
    }
    absl::Mutex desired_mu;
    std::map<std::string, bdcoord::v1::DesiredState> desired_by_cluster;
    bdcoord::agent::CoordinatorLinkOptions link_options;
    link_options.address = coordinator;
    link_options.channel = channel;
    link_options.host_name = host_name;
    link_options.facts = [&] { return bdcoord::agent::CollectHostFacts(docker->get(), *labels); };
    link_options.heartbeat_interval = absl::Seconds(heartbeat_seconds);
    // `bdcoord logs`: served from here, each request on its own thread, over the link.
    bdcoord::agent::CoordinatorLink* link_ptr = nullptr;
    // Reset after link.Stop(), while the link its threads send on still exists.
    auto log_server = std::make_unique<bdcoord::agent::LogServer>(
        docker->get(), [&link_ptr](const bdcoord::v1::AgentLogChunk& chunk) {
          return link_ptr != nullptr && link_ptr->SendLogChunk(chunk);
        });
    link_options.on_logs = [&](const bdcoord::v1::LogRequest& r) { log_server->Handle(r); };
    link_options.on_disconnected = [&] { log_server->CancelAll(); };
    // Probe requests: each on a thread of its own (a probe may take its timeout); the link waits
    // for them before it goes away.
    std::atomic<int> probes_running{0};
    link_options.on_probe = [&](const bdcoord::v1::ProbeRequest& request) {
      ++probes_running;
      std::thread([&, request, docker_client = docker->get()] {
        const bdcoord::v1::CommandResult result =
            bdcoord::agent::RunProbeRequest(docker_client, request);
        if (link_ptr != nullptr) link_ptr->SendResult(result);
        --probes_running;
      }).detach();
    };
    bdcoord::agent::CoordinatorLink link(link_options,
                                         [&](const bdcoord::v1::DesiredState& desired) {
                                           {
                                             absl::MutexLock lock(&desired_mu);
                                             desired_by_cluster[desired.cluster()] = desired;
                                           }
                                           g_wake = true;
                                         });
    link_ptr = &link;
    logger->info("host '{}', coordinator '{}'{}{}", host_name, coordinator,
                 channel_options.tls_cert.empty() ? "" : " with mutual TLS",
                 channel_options.token.empty() ? "" : ", with a bearer token");
    link.Start();
    sd_notify(0, "READY=1");
    PassReporter reporter(logger, socket);
    do {
      std::map<std::string, bdcoord::v1::DesiredState> snapshot;
      {
        absl::MutexLock lock(&desired_mu);
        snapshot = desired_by_cluster;
      }
      std::vector<std::string> wanted_networks;
      for (const auto& [cluster, desired] : snapshot) {
        bdcoord::agent::ReconcileResult result = reconciler.Reconcile(desired);
        for (const auto& network : desired.networks()) wanted_networks.push_back(network.name());
        reporter.Report(cluster, result);
        bdcoord::v1::StatusReport report;
        report.set_cluster(cluster);
        report.set_generation(desired.generation());
        const bool gone = desired.instances().empty() && desired.networks().empty() &&
                          result.statuses.empty() && result.errors.empty();
        for (auto& status : result.statuses) *report.add_instances() = std::move(status);
        if (link.SendStatus(report) && gone) {
          // Taken down and reported: forget it, unless a new desired state came meanwhile.
          absl::MutexLock lock(&desired_mu);
          auto it = desired_by_cluster.find(cluster);
          if (it != desired_by_cluster.end() && it->second.generation() == desired.generation()) {
            desired_by_cluster.erase(it);
          }
        }
      }
      if (!snapshot.empty()) {
        for (std::string& error : reconciler.PruneNetworks(wanted_networks)) {
          logger->debug("network not pruned: {}", error);
        }
      }
      SleepUnlessStopped(std::clamp(reconciler.NextProbeDue() - absl::Now(),
                                    absl::Milliseconds(100), absl::Seconds(interval_seconds)));
    } while (!g_stop);
    link.Stop();
    log_server.reset();  // cancels every log request and waits for their threads
    for (absl::Time until = absl::Now() + absl::Seconds(15);
         probes_running > 0 && absl::Now() < until;) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    sd_notify(0, "STOPPING=1");
    logger->info("stopping; containers keep running");
    return 0;
  }

  std::filesystem::file_time_type seen_mtime{};
  bool notified = false;
  PassReporter reporter(logger, socket);
  do {
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(desired_file, ec);
    auto desired = ReadDesired(desired_file);
    if (!desired.ok()) {
      logger->error("{}", std::string(desired.status().message()));
      if (once) return 2;
    } else {
      if (mtime != seen_mtime) logger->info("desired state from '{}'", desired_file);
      seen_mtime = mtime;
      bdcoord::agent::ReconcileResult result = reconciler.Reconcile(*desired);
      std::vector<std::string> wanted_networks;
      for (const auto& network : desired->networks()) wanted_networks.push_back(network.name());
      for (std::string& error : reconciler.PruneNetworks(wanted_networks)) {
        logger->debug("network not pruned: {}", error);  // usually: still has containers
      }
      const bool docker_down = reporter.Report(desired->cluster(), result);
      if (!notified && !docker_down) {
        sd_notify(0, "READY=1");  // a no-op without systemd
        notified = true;
      }
      if (once) {
        std::cout << "[";
        for (size_t i = 0; i < result.statuses.size(); ++i) {
          std::cout << (i ? ",\n" : "\n") << ToJson(result.statuses[i]);
        }
        std::cout << "]\n";
        bool all_ok = result.errors.empty();
        for (const auto& status : result.statuses) {
          all_ok = all_ok && status.state() != bdcoord::v1::INSTANCE_STATE_FAILED;
        }
        return all_ok ? 0 : 1;
      }
    }
    // The next pass: at the regular interval, or sooner when a readiness probe is due.
    SleepUnlessStopped(std::clamp(reconciler.NextProbeDue() - absl::Now(), absl::Milliseconds(100),
                                  absl::Seconds(interval_seconds)));
  } while (!g_stop);
  sd_notify(0, "STOPPING=1");
  logger->info("stopping; containers keep running");
  return 0;
}
