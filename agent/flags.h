#ifndef BDCOORD_AGENT_FLAGS_H_
#define BDCOORD_AGENT_FLAGS_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/coordinator_link.h"
#include "agent/docker/docker_client.h"
#include "policy/host_policy.h"
#include "proto/rpc/client_channel.h"

namespace bdcoord::agent {

// bdagent's command line.
struct AgentFlags {
  std::string docker_socket = "/var/run/docker.sock";
  std::string desired_file;
  std::string config = "/etc/bdcoord/agent.yaml";
  std::vector<std::string> labels;
  bool once = false;
  bool print_facts = false;
  double interval_seconds = 10;
  int parallelism = 0;  // 0: ParallelismFor dockerd
  std::string state_dir = "/var/lib/bdagent";
  std::string log_level = "info";
  std::string coordinator = "unix:///run/bdcoord/bdcoordd.sock";
  std::string host_name;
  double heartbeat_seconds = 2;
  rpc::ClientChannelOptions channel;
  std::string token_file;
  policy::HostPolicy policy = {};  // --allow-root, --allow-host-path: deny by default
  std::string metrics_listen;      // empty: no metrics endpoint
  std::string gate;                // --gate: empty finds bdgate (GateBinaryFor), "none": none
};

void AddAgentFlags(CLI::App* app, AgentFlags* flags);

// What CLI11 cannot check alone: --once needs --desired; --metrics-listen is a loopback
// HOST:PORT.
absl::Status ValidateAgentFlags(const AgentFlags& flags);

// Instances worked on at once: --parallelism when given, else twice dockerd's CPU count (creating
// and starting containers is mostly CPU work in dockerd, containerd and runc, but each also waits
// on locks and the disk: on one 2-core host 4 and 6 at once took x0.82 and x0.87 of 2's time)
// between 4 and 32, or 4 when dockerd cannot say.
int ParallelismFor(int flag, const absl::StatusOr<DockerInfo>& docker);

// bdgate for the reconciler (ReconcilerOptions::gate_binary): --gate PATH as given (an error when
// `executable` says it is not), "" for --gate none, else the first of AGENT_DIR/bdgate and
// AGENT_DIR/../libexec/bdcoord/bdgate (the .deb's) that is, or "" when neither is. `agent_path`:
// bdagent's own path.
absl::StatusOr<std::string> GateBinaryFor(
    const std::string& flag, const std::string& agent_path,
    const std::function<bool(const std::string&)>& executable);

// The channel to --coordinator with its TLS and the token of --token-file (read into
// `flags->channel`); an error names the flag.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CoordinatorChannel(AgentFlags* flags);

// --host-name, or else this machine's hostname.
std::string HostName(const AgentFlags& flags);

// The link's options from the flags: --host-name (default: the hostname) and the heartbeat.
CoordinatorLinkOptions LinkOptions(const AgentFlags& flags, std::shared_ptr<grpc::Channel> channel);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_FLAGS_H_
