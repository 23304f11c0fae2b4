#include "agent/flags.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "proto/rpc/bearer_token.h"
#include "proto/rpc/coordinator_addresses.h"
#include "proto/rpc/metrics_endpoint.h"

namespace bdcoord::agent {

void AddAgentFlags(CLI::App* app, AgentFlags* flags) {
  app->add_option("--docker-socket", flags->docker_socket, "Docker Engine API socket")
      ->capture_default_str();
  app->add_option("--desired", flags->desired_file,
                  "Run from a desired-state file (DesiredState as JSON, see proto/bdcoord/v1/"
                  "agent.proto) instead of a coordinator; re-read when it changes")
      ->type_name("FILE");
  app->add_option("--coordinator", flags->coordinator,
                  "Without --desired: the coordinator to dial (unix:///PATH or HOST:PORT), or "
                  "several separated by commas (coordinators sharing an etcd: the leader is "
                  "followed); its desired states are run, a status report goes back after every "
                  "pass")
      ->capture_default_str()
      ->excludes("--desired");
  app->add_option("--tls-cert", flags->channel.tls_cert,
                  "Client certificate (PEM) for mutual TLS with a TCP coordinator")
      ->type_name("FILE")
      ->excludes("--desired");
  app->add_option("--tls-key", flags->channel.tls_key, "The client certificate's private key (PEM)")
      ->type_name("FILE")
      ->excludes("--desired");
  app->add_option("--tls-ca", flags->channel.tls_ca,
                  "CA (PEM) that signed the coordinator's "
                  "certificate")
      ->type_name("FILE")
      ->excludes("--desired");
  app->add_option("--tls-server-name", flags->channel.tls_server_name,
                  "The name to check in the coordinator's certificate instead of the address's "
                  "host")
      ->type_name("NAME")
      ->excludes("--desired");
  app->add_option("--token-file", flags->token_file,
                  "File with the coordinator's bearer token, for a coordinator with --token-file "
                  "that this agent reaches without mutual TLS")
      ->type_name("FILE")
      ->excludes("--desired");
  app->add_option("--host-name", flags->host_name,
                  "This host's name in the coordinator's inventory (default: the hostname)");
  app->add_option("--heartbeat-interval", flags->heartbeat_seconds,
                  "Seconds between heartbeats to the coordinator")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app->add_option("--config", flags->config, "Agent config with `labels: {rack: r1}`")
      ->capture_default_str();
  app->add_option("--label", flags->labels,
                  "Host label KEY=VALUE (repeatable; wins over --config)");
  app->add_flag("--once", flags->once,
                "Reconcile once, print every instance's status as JSON, exit");
  app->add_flag("--facts", flags->print_facts, "Print this host's facts as JSON and exit");
  app->add_option("--interval", flags->interval_seconds, "Seconds between reconcile passes")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  // Defense in depth: the coordinator checks the same rules (bdcoordd has the same flags), but a
  // host refuses by itself what its operator did not allow.
  app->add_flag("--allow-root", flags->policy.allow_root,
                "Run containers as root (user 0, or an image whose default user is root); refused "
                "by default");
  app->add_option("--allow-host-path", flags->policy.allowed_host_paths,
                  "Allow bind mounts of host paths under this absolute PREFIX (repeatable); none "
                  "by default, the Docker socket never")
      ->type_name("PREFIX")
      ->check([](const std::string& prefix) {
        return prefix.starts_with("/") ? std::string() : "must be an absolute path";
      });
  app->add_option("--state-dir", flags->state_dir,
                  "Where the containers' files and each cluster's hosts map are kept, "
                  "bind-mounted into the containers (one per agent; made 0700)")
      ->type_name("DIR")
      ->capture_default_str();
  app->add_option("--parallelism", flags->parallelism,
                  "Instances worked on at once; 0 (the default): twice dockerd's CPU count, at "
                  "least 4 and at most 32")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  app->add_option("--gate", flags->gate,
                  "bdgate, the static program that a held instance's container starts with, so "
                  "that Docker's start is done before its dependencies are met and its program "
                  "runs the moment they are; 'none': held containers are only created, and "
                  "started when released (default: bdgate beside bdagent, or "
                  "../libexec/bdcoord/bdgate from it)")
      ->type_name("PATH");
  rpc::AddMetricsListenFlag(app, &flags->metrics_listen);
}

absl::StatusOr<std::string> GateBinaryFor(
    const std::string& flag, const std::string& agent_path,
    const std::function<bool(const std::string&)>& executable) {
  if (flag == "none") return std::string();
  if (!flag.empty()) {
    if (!flag.starts_with("/") || !executable(flag)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--gate ", flag,
                       ": not an executable file given by its absolute path (build it with "
                       "the agent: target bdgate; or --gate none)"));
    }
    return flag;
  }
  const std::string dir = agent_path.substr(0, agent_path.rfind('/') + 1);
  if (dir.empty()) return std::string();
  for (const std::string& candidate : {dir + "bdgate", dir + "../libexec/bdcoord/bdgate"}) {
    if (executable(candidate)) return candidate;
  }
  return std::string();
}

int ParallelismFor(int flag, const absl::StatusOr<DockerInfo>& docker) {
  if (flag > 0) return flag;
  if (!docker.ok() || docker->cpus == 0) return 4;
  return static_cast<int>(std::clamp<uint32_t>(2 * std::min<uint32_t>(docker->cpus, 16), 4, 32));
}

absl::Status ValidateAgentFlags(const AgentFlags& flags) {
  if (flags.once && flags.desired_file.empty()) {
    return absl::InvalidArgumentError("--once needs --desired FILE.json");
  }
  if (!flags.metrics_listen.empty()) {
    if (absl::Status bind = rpc::MetricsBindAddress(flags.metrics_listen).status(); !bind.ok()) {
      return bind;
    }
  }
  return rpc::ParseCoordinatorAddresses("--coordinator", flags.coordinator).status();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CoordinatorChannel(AgentFlags* flags) {
  absl::StatusOr<std::vector<std::string>> addresses =
      rpc::ParseCoordinatorAddresses("--coordinator", flags->coordinator);
  if (!addresses.ok()) return addresses.status();
  flags->channel.address = addresses->front();
  if (!flags->token_file.empty()) {
    absl::StatusOr<std::string> token = rpc::ReadTokenFile("--token-file", flags->token_file);
    if (!token.ok()) return token.status();
    flags->channel.token = *std::move(token);
  }
  return rpc::NewClientChannel(flags->channel);
}

std::string HostName(const AgentFlags& flags) {
  if (!flags.host_name.empty()) return flags.host_name;
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

CoordinatorLinkOptions LinkOptions(const AgentFlags& flags,
                                   std::shared_ptr<grpc::Channel> channel) {
  CoordinatorLinkOptions options;
  options.addresses = rpc::ParseCoordinatorAddresses("--coordinator", flags.coordinator)
                          .value_or(std::vector<std::string>{});
  options.address = options.addresses.empty() ? flags.coordinator : options.addresses.front();
  options.channel = std::move(channel);
  options.dial = [channel_options = flags.channel](const std::string& address) {
    rpc::ClientChannelOptions to = channel_options;
    to.address = address;
    return rpc::NewClientChannel(to).value_or(nullptr);
  };
  options.host_name = HostName(flags);
  options.heartbeat_interval = absl::Seconds(flags.heartbeat_seconds);
  return options;
}

}  // namespace bdcoord::agent
