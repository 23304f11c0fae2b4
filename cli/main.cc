// bdcoord: the command line of the cluster coordinator.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cluster_commands.h"
#include "cli/exit_codes.h"
#include "cli/hosts_command.h"
#include "cli/place_command.h"

namespace {

void AddCoordinatorOption(CLI::App* command, std::string* address) {
  command
      ->add_option("--coordinator", *address,
                   "The coordinator's address: unix:///PATH or HOST:PORT (default: $BDCOORD_ADDR, "
                   "else unix:///run/bdcoord/bdcoordd.sock)")
      ->type_name("ADDR");
}

void AddClusterOption(CLI::App* command, std::string* cluster) {
  command->add_option("-c,--cluster", *cluster, "The cluster (optional when only one is applied)")
      ->type_name("CLUSTER");
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
  AddCoordinatorOption(place_cmd, &place.coordinator);

  bdcoord::cli::HostsOptions hosts;
  CLI::App* hosts_cmd = app.add_subcommand(
      "hosts", "List the coordinator's hosts: connected or not, labels, capacity, Docker version");
  hosts_cmd->add_option("-o,--output", hosts.output, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->type_name("FORMAT");
  AddCoordinatorOption(hosts_cmd, &hosts.coordinator);

  bdcoord::cli::ApplyOptions apply;
  CLI::App* apply_cmd = app.add_subcommand(
      "apply",
      "Validate, place on the coordinator's live hosts (keeping current placements), store and "
      "start a cluster in dependency order; prints progress until it is ready or failed");
  apply_cmd->add_option("spec", apply.spec_file, "Cluster spec (cluster.yaml)")
      ->required()
      ->type_name("FILE");
  AddCoordinatorOption(apply_cmd, &apply.coordinator);

  bdcoord::cli::StatusOptions status;
  CLI::App* status_cmd = app.add_subcommand(
      "status", "Every placed instance of a cluster (or of all) with its host, IP and state");
  status_cmd->add_option("-c,--cluster", status.cluster, "Only this cluster (default: all)")
      ->type_name("CLUSTER");
  status_cmd->add_option("-o,--output", status.output, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->type_name("FORMAT");
  AddCoordinatorOption(status_cmd, &status.coordinator);

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
  AddCoordinatorOption(scale_cmd, &scale.coordinator);

  bdcoord::cli::DownOptions down;
  CLI::App* down_cmd = app.add_subcommand(
      "down",
      "Remove every container, network and host shim of a cluster on every host and forget it "
      "(run-once completions too: a later apply formats again)");
  AddClusterOption(down_cmd, &down.cluster);
  down_cmd->add_option("--timeout", down.timeout_seconds, "Seconds to wait for the hosts")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  AddCoordinatorOption(down_cmd, &down.coordinator);

  bdcoord::cli::DrainOptions drain;
  CLI::App* drain_cmd = app.add_subcommand(
      "drain",
      "Take a host out of placement: its instances move to other hosts (keeping names and IPs), "
      "nothing new goes there; --undo makes it placeable again");
  drain_cmd->add_option("host", drain.host, "The host, as `bdcoord hosts` names it")->required();
  drain_cmd->add_flag("--undo", drain.undo, "Make the host placeable again");
  AddCoordinatorOption(drain_cmd, &drain.coordinator);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? bdcoord::cli::kExitOk : bdcoord::cli::kExitInvalidInput;
  }
  if (place_cmd->parsed()) {
    place.live = place.live || !place.coordinator.empty();  // an address means "ask it"
    return bdcoord::cli::RunPlace(place, std::cout, std::cerr);
  }
  if (hosts_cmd->parsed()) return bdcoord::cli::RunHosts(hosts, std::cout, std::cerr);
  if (apply_cmd->parsed()) return bdcoord::cli::RunApply(apply, std::cout, std::cerr);
  if (status_cmd->parsed()) return bdcoord::cli::RunStatus(status, std::cout, std::cerr);
  if (scale_cmd->parsed()) return bdcoord::cli::RunScale(scale, std::cout, std::cerr);
  if (down_cmd->parsed()) return bdcoord::cli::RunDown(down, std::cout, std::cerr);
  if (drain_cmd->parsed()) return bdcoord::cli::RunDrain(drain, std::cout, std::cerr);
  return bdcoord::cli::kExitInvalidInput;
}
