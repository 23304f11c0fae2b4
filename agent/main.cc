// bdagent: the per-host agent. Turns the desired containers of this host into real ones through
// the Docker Engine API and keeps every container's /etc/hosts current.
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/str_join.h"
#include "agent/agent.h"
#include "agent/coordinator_session.h"
#include "agent/desired_file.h"
#include "agent/docker/docker_client_impl.h"
#include "agent/docker/metered_docker_client.h"
#include "agent/flags.h"
#include "agent/host_facts.h"
#include "agent/probes/metered_prober.h"
#include "agent/probes/probes.h"
#include "agent/state_dir.h"
#include "net/arp_prober.h"
#include "net/link_manager_netlink.h"
#include "proto/rpc/daemon.h"
#include "proto/rpc/metrics_endpoint.h"

namespace agent = bdcoord::agent;

int main(int argc, char** argv) {
  CLI::App app{
      "bdagent: the bdcoord host agent. Runs the desired containers of this host through the "
      "Docker Engine API (no SSH, no docker CLI) and keeps their /etc/hosts current."};
  agent::AgentFlags flags;
  agent::AddAgentFlags(&app, &flags);
  bdcoord::rpc::AddLogLevelFlag(&app, &flags.log_level);
  bdcoord::rpc::AddVersionFlag(&app, "bdagent");
  if (std::optional<int> code = bdcoord::rpc::ParseCommandLine(&app, argc, argv)) return *code;
  const auto logger = bdcoord::rpc::SetUpDaemonLogger("bdagent", flags.log_level);
  auto fail = [](const absl::Status& status, int exit_code) {
    std::cerr << "bdagent: " << status.message() << "\n";
    return exit_code;
  };
  if (absl::Status valid = agent::ValidateAgentFlags(flags); !valid.ok()) return fail(valid, 2);
  // A wrong --gate is a flag error: nothing is made (no state directory) before it is found.
  std::error_code no_path;
  absl::StatusOr<std::string> gate = agent::GateBinaryFor(
      flags.gate, std::filesystem::read_symlink("/proc/self/exe", no_path).string(),
      [](const std::string& path) { return ::access(path.c_str(), X_OK) == 0; });
  if (!gate.ok()) return fail(gate.status(), 2);
  if (!gate->empty()) *gate = std::filesystem::weakly_canonical(*gate, no_path).string();
  auto registry = std::make_shared<prometheus::Registry>();
  // SIGTERM and SIGINT stop a long-running agent (a thread of its own takes them).
  if (!flags.once && !flags.print_facts) bdcoord::rpc::BlockStopSignals();

  std::shared_ptr<grpc::Channel> channel;
  if (flags.desired_file.empty() && !flags.print_facts) {
    auto made = agent::CoordinatorChannel(&flags);
    if (!made.ok()) return fail(made.status(), 2);
    channel = *std::move(made);
  }
  auto labels = agent::LoadLabels(flags.config, flags.labels);
  if (!labels.ok()) return fail(labels.status(), 2);
  auto docker_client = agent::NewDockerClient({.socket_path = flags.docker_socket});
  if (!docker_client.ok()) return fail(docker_client.status(), 1);
  // Every Docker call counted and timed, the callers unchanged.
  agent::MeteredDockerClient metered_docker(docker_client->get(),
                                            agent::DockerMetrics::Register(*registry));
  agent::DockerClient* const docker = &metered_docker;
  if (flags.print_facts) {
    const bdcoord::v1::HostFacts facts = agent::CollectHostFacts(docker, *labels);
    // Still the host's facts (exit 0), but an operator checking a new host should know why the
    // Docker version is missing.
    if (facts.docker_version().empty()) {
      std::cerr << "bdagent: Docker did not answer on " << flags.docker_socket
                << ": these facts have no Docker version (is dockerd running?)\n";
    }
    std::cout << agent::PrettyJson(facts);
    return 0;
  }

  auto metrics_endpoint = bdcoord::rpc::StartMetricsEndpoint(flags.metrics_listen, registry);
  if (!metrics_endpoint.ok()) return fail(metrics_endpoint.status(), 1);
  if (*metrics_endpoint != nullptr)
    logger->info("metrics at http://{}/metrics", flags.metrics_listen);
  absl::StatusOr<agent::StateDirLock> state_dir = agent::StateDirLock::Acquire(flags.state_dir);
  if (!state_dir.ok()) return fail(state_dir.status(), 1);
  agent::LocalHostFiles host_files;
  const std::unique_ptr<bdcoord::net::LinkManager> links = bdcoord::net::NewNetlinkLinkManager();
  agent::DockerProber docker_prober(docker);
  agent::MeteredProber prober(&docker_prober, *registry);
  const std::unique_ptr<bdcoord::net::AddressProber> addresses = bdcoord::net::NewArpProber();
  const auto now = [] { return absl::Now(); };
  if (gate->empty()) {
    logger->warn("no bdgate (--gate): held instances are only created, and started when released");
  } else {
    logger->info("held instances start behind {}", *gate);
  }
  const int parallelism = agent::ParallelismFor(flags.parallelism, docker->Info());
  logger->info("working on {} instances at once{}", parallelism,
               flags.parallelism > 0 ? " (--parallelism)" : " (twice dockerd's CPU count)");
  agent::Reconciler reconciler(docker, &host_files, links.get(),
                               {.parallelism = parallelism,
                                .now = now,
                                .prober = &prober,
                                .policy = flags.policy,
                                .host_name = agent::HostName(flags),
                                .state_dir = flags.state_dir,
                                .address_prober = addresses.get(),
                                .gate_binary = *gate});
  const agent::AgentMetrics agent_metrics = agent::AgentMetrics::Register(*registry);
  agent::Agent runtime(docker, &reconciler, &prober,
                       {.interval = absl::Seconds(flags.interval_seconds),
                        .docker_socket = flags.docker_socket,
                        .now = now,
                        .metrics = &agent_metrics});
  agent::DesiredFile desired_file(flags.desired_file, &runtime);
  auto refresh = [&] { return desired_file.Refresh(); };
  if (flags.once) return agent::RunOnceAndPrint(&runtime, refresh, std::cout);
  bdcoord::rpc::StopOnSignal([&runtime] { runtime.Stop(); });
  runtime.WatchDockerEvents();
  if (!flags.desired_file.empty()) {
    runtime.Run(refresh, [] { sd_notify(0, "READY=1"); });  // a no-op without systemd
  } else {
    agent::CoordinatorLinkOptions link_options = agent::LinkOptions(flags, channel);
    link_options.now = now;
    link_options.connected_gauge = &agent_metrics.coordinator_connected;
    link_options.facts = [&] { return agent::CollectHostFacts(docker, *labels); };
    agent::CoordinatorSession session(&runtime, docker, link_options);
    logger->info("host '{}', coordinator '{}'{}{}; root {}, host paths under: {}",
                 link_options.host_name, flags.coordinator,
                 flags.channel.tls_cert.empty() ? "" : " with mutual TLS",
                 flags.channel.token.empty() ? "" : ", with a bearer token",
                 flags.policy.allow_root ? "allowed" : "refused",
                 flags.policy.allowed_host_paths.empty()
                     ? std::string("none")
                     : absl::StrJoin(flags.policy.allowed_host_paths, ", "));
    session.Start();
    sd_notify(0, "READY=1");
    runtime.Run(nullptr, nullptr);
  }
  sd_notify(0, "STOPPING=1");
  logger->info("stopping; containers keep running");
  return 0;
}
