// bdcoord: the command line of the cluster coordinator.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cluster_commands.h"
#include "cli/exit_codes.h"
#include "cli/hosts_command.h"
#include "cli/interrupt.h"
#include "cli/place_command.h"
#include "cli/watch_commands.h"

namespace {

void AddClusterOption(CLI::App* command, std::string* cluster) {
  command->add_option("-c,--cluster", *cluster, "The cluster (optional when only one is applied)")
      ->type_name("CLUSTER");
}

}  // namespace

namespace {

// How a command reaches the coordinator; each flag falls back to an environment variable.
void AddCoordinatorFlags(CLI::App* command, bdcoord::cli::CoordinatorFlags* flags) {
  command
      ->add_option("--coordinator", flags->address,
                   "The coordinator's address: unix:///PATH or HOST:PORT (default: "
                   "$BDCOORD_ADDR, else unix:///run/bdcoord/bdcoordd.sock)")
      ->type_name("ADDR");
  command
      ->add_option("--tls-cert", flags->tls_cert,
                   "Client certificate (PEM) for mutual TLS with a TCP coordinator "
                   "(default: $BDCOORD_TLS_CERT)")
      ->type_name("FILE");
  command
      ->add_option("--tls-key", flags->tls_key,
                   "The client certificate's private key (PEM) (default: $BDCOORD_TLS_KEY)")
      ->type_name("FILE");
  command
      ->add_option("--tls-ca", flags->tls_ca,
                   "CA (PEM) that signed the coordinator's certificate (default: $BDCOORD_TLS_CA)")
      ->type_name("FILE");
  command
      ->add_option("--tls-server-name", flags->tls_server_name,
                   "The name to check in the coordinator's certificate instead of the address's "
                   "host (default: $BDCOORD_TLS_SERVER_NAME)")
      ->type_name("NAME");
  command
      ->add_option("--token-file", flags->token_file,
                   "File with the coordinator's bearer token, sent on every call (default: "
                   "$BDCOORD_TOKEN_FILE, else the token in $BDCOORD_TOKEN)")
      ->type_name("FILE");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "bdcoord: deploy multi-container clusters with static IPs and a shared /etc/hosts on "
      "macvlan/ipvlan networks\n\nExit codes: 0 ok, 1 runtime or connection error, 2 invalid "
      "spec or command line (nothing applied), 3 placement impossible"};
  app.set_version_flag("--version", "bdcoord 0.1.0");
  app.require_subcommand(1);

  bdcoord::cli::PlaceOptions place;
  CLI::App* place_cmd = app.add_subcommand(
      "place",
      "Validate a cluster spec and show where every instance would run and on which IP, "
      "without changing anything: offline from the spec's own hosts, or with --live on the "
      "coordinator's live hosts");
  place_cmd->add_option("spec", place.spec_file, "Cluster spec (cluster.yaml)")
      ->required()
      ->type_name("FILE");
  place_cmd
      ->add_option("-o,--output", place.output,
                   "table (default), json (stable fields for tools, also what --previous "
                   "reads) or hosts (the /etc/hosts every container gets)")
      ->check(CLI::IsMember({"table", "json", "hosts"}))
      ->type_name("FORMAT");
  place_cmd
      ->add_option("--previous", place.previous_file,
                   "Earlier `place -o json` output: instances that still fit stay on their "
                   "host and IP (minimal moves)")
      ->type_name("FILE");
  place_cmd
      ->add_option("--show-config", place.show_config,
                   "Print the rendered command, env and files of one instance, e.g. zk1")
      ->type_name("NAME");
  place_cmd->add_flag("--live", place.live,
                      "Dry run on the coordinator's live hosts (keeps the cluster's current "
                      "placement, other clusters' IPs are taken)");
  AddCoordinatorFlags(place_cmd, &place.coordinator);

  bdcoord::cli::HostsOptions hosts;
  CLI::App* hosts_cmd = app.add_subcommand(
      "hosts", "List the coordinator's hosts: connected or not, labels, capacity, Docker version");
  hosts_cmd->add_option("-o,--output", hosts.output, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->type_name("FORMAT");
  AddCoordinatorFlags(hosts_cmd, &hosts.coordinator);

  bdcoord::cli::ApplyOptions apply;
  CLI::App* apply_cmd = app.add_subcommand(
      "apply",
      "Validate, place on the coordinator's live hosts (keeping current placements), store and "
      "start a cluster in dependency order; prints progress until it is ready or failed");
  apply_cmd->add_option("spec", apply.spec_file, "Cluster spec (cluster.yaml)")
      ->required()
      ->type_name("FILE");
  AddCoordinatorFlags(apply_cmd, &apply.coordinator);

  bdcoord::cli::StatusOptions status;
  CLI::App* status_cmd = app.add_subcommand(
      "status", "Every placed instance of a cluster (or of all) with its host, IP and state");
  status_cmd->add_option("-c,--cluster", status.cluster, "Only this cluster (default: all)")
      ->type_name("CLUSTER");
  status_cmd->add_flag("--probe", status.probe,
                       "Also run each running instance's readiness probe now, on its host (a "
                       "PROBE column: ok, or why not)");
  status_cmd->add_option("-o,--output", status.output, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->type_name("FORMAT");
  AddCoordinatorFlags(status_cmd, &status.coordinator);

  bdcoord::cli::ScaleOptions scale;
  CLI::App* scale_cmd = app.add_subcommand(
      "scale",
      "Run N instances of a service: the others stay where they are, new ones are placed by the "
      "spec's rules and join every container's /etc/hosts; prints progress like apply");
  scale_cmd->add_option("service", scale.service, "The service, e.g. kafka")->required();
  scale_cmd->add_option("count", scale.count, "How many instances")
      ->required()
      ->check(CLI::Range(0, 100000));
  AddClusterOption(scale_cmd, &scale.cluster);
  AddCoordinatorFlags(scale_cmd, &scale.coordinator);

  bdcoord::cli::DownOptions down;
  CLI::App* down_cmd = app.add_subcommand(
      "down",
      "Remove every container, network and host shim of a cluster on every host and forget it "
      "(run-once completions too: a later apply formats again)");
  AddClusterOption(down_cmd, &down.cluster);
  down_cmd->add_option("--timeout", down.timeout_seconds, "Seconds to wait for the hosts")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  AddCoordinatorFlags(down_cmd, &down.coordinator);

  bdcoord::cli::DrainOptions drain;
  CLI::App* drain_cmd = app.add_subcommand(
      "drain",
      "Take a host out of placement: its instances move to other hosts (keeping names and IPs), "
      "nothing new goes there; --undo makes it placeable again");
  drain_cmd->add_option("host", drain.host, "The host, as `bdcoord hosts` names it")->required();
  drain_cmd->add_flag("--undo", drain.undo, "Make the host placeable again");
  AddCoordinatorFlags(drain_cmd, &drain.coordinator);

  bdcoord::cli::LogsOptions logs;
  CLI::App* logs_cmd = app.add_subcommand(
      "logs",
      "Print the container logs of one instance, or of every instance of a service merged, each "
      "line as `instance | line` (the container's stderr lines go to stderr)");
  logs_cmd->add_option("target", logs.target, "An instance (zk1) or a service (zk: all of it)")
      ->required()
      ->type_name("NAME|SERVICE");
  logs_cmd->add_flag("-f,--follow", logs.follow,
                     "Keep printing new lines until Ctrl-C (exit 0) or the containers stop");
  logs_cmd->add_option("--tail", logs.tail, "Only the last N lines of each instance (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("N");
  logs_cmd
      ->add_option("-c,--cluster", logs.cluster, "The cluster (needed when several are applied)")
      ->type_name("CLUSTER");
  AddCoordinatorFlags(logs_cmd, &logs.coordinator);

  bdcoord::cli::EventsOptions events;
  CLI::App* events_cmd = app.add_subcommand(
      "events",
      "Watch what happens from now on, until Ctrl-C (exit 0): instances created, started, ready, "
      "completed, failed, removed; hosts up and down; placements. One line per event: time "
      "(UTC), kind, cluster/instance or host, message");
  events_cmd
      ->add_option("-c,--cluster", events.cluster,
                   "Only this cluster's events (and those of hosts)")
      ->type_name("CLUSTER");
  events_cmd
      ->add_option("-o,--output", events.output,
                   "table (default) or json (one object per line: time, kind, cluster, instance, "
                   "host, message)")
      ->check(CLI::IsMember({"table", "json"}))
      ->type_name("FORMAT");
  AddCoordinatorFlags(events_cmd, &events.coordinator);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? bdcoord::cli::kExitOk : bdcoord::cli::kExitInvalidInput;
  }
  if (place_cmd->parsed()) {
    place.live = place.live || !place.coordinator.address.empty();  // an address: ask it
    return bdcoord::cli::RunPlace(place, std::cout, std::cerr);
  }
  if (hosts_cmd->parsed()) return bdcoord::cli::RunHosts(hosts, std::cout, std::cerr);
  if (apply_cmd->parsed()) return bdcoord::cli::RunApply(apply, std::cout, std::cerr);
  if (status_cmd->parsed()) return bdcoord::cli::RunStatus(status, std::cout, std::cerr);
  if (scale_cmd->parsed()) return bdcoord::cli::RunScale(scale, std::cout, std::cerr);
  if (down_cmd->parsed()) return bdcoord::cli::RunDown(down, std::cout, std::cerr);
  if (drain_cmd->parsed()) return bdcoord::cli::RunDrain(drain, std::cout, std::cerr);
  if (logs_cmd->parsed() || events_cmd->parsed()) {
    // Before gRPC starts any thread: they all inherit the blocked signals.
    bdcoord::cli::InstallInterruptHandler();
    return logs_cmd->parsed() ? bdcoord::cli::RunLogs(logs, std::cout, std::cerr)
                              : bdcoord::cli::RunEvents(events, std::cout, std::cerr);
  }
  return bdcoord::cli::kExitInvalidInput;
}
