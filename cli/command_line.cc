#include "cli/command_line.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/completion.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "coordinator/spec/diagnostics.h"

namespace bdcoord::cli {
namespace {

void AddClusterOption(CLI::App* command, std::string* cluster) {
  command->add_option("-c,--cluster", *cluster, "The cluster (optional when only one is applied)")
      ->type_name("CLUSTER");
}

// How a command reaches the coordinator; each flag falls back to an environment variable.
void AddCoordinatorFlags(CLI::App* command, CoordinatorFlags* flags) {
  command
      ->add_option("--coordinator", flags->address,
                   "The coordinator's address: unix:///PATH or HOST:PORT, or several separated "
                   "by commas (coordinators sharing an etcd: the leader is found) (default: "
                   "$BDCOORD_ADDR, else unix:///run/bdcoord/bdcoordd.sock)")
      ->type_name("ADDR[,ADDR...]");
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

// -o table (the default) or json.
void AddTableOrJsonOption(CLI::App* command, std::string* output) {
  command->add_option("-o,--output", *output, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->type_name("FORMAT");
}

}  // namespace

std::string MissingCommandMessage(const CLI::App& app, const std::vector<std::string>& unparsed) {
  const std::vector<const CLI::App*> commands =
      app.get_subcommands([](const CLI::App*) { return true; });
  std::vector<std::string> names;
  size_t name_width = 0;
  for (const CLI::App* command : commands) {
    names.push_back(command->get_name());
    name_width = std::max(name_width, command->get_name().size());
  }
  // The first word that is not an option is the command the user meant to give.
  auto word = std::find_if(unparsed.begin(), unparsed.end(),
                           [](const std::string& arg) { return !absl::StartsWith(arg, "-"); });
  std::string out = "bdcoord: ";
  if (word != unparsed.end()) {
    absl::StrAppend(&out, "unknown command ", coordinator::Quote(*word));
    const std::string closest = coordinator::ClosestMatch(*word, names);
    if (!closest.empty()) {
      absl::StrAppend(&out, "; did you mean ", coordinator::Quote(closest), "?");
    }
  } else if (!unparsed.empty()) {
    absl::StrAppend(&out, "unknown option ", coordinator::Quote(unparsed.front()),
                    " before the command");
  } else {
    out += "a command is required";
  }
  out += "\n\nCommands:\n";
  for (const CLI::App* command : commands) {
    absl::StrAppend(&out, absl::StrFormat("  %-*s  %s\n", name_width, command->get_name(),
                                          command->get_description()));
  }
  out += "\nRun `bdcoord COMMAND --help` for a command's options.\n";
  return out;
}

CommandLine::CommandLine(CLI::App* app, std::function<absl::Time()> now) : app_(app) {
  app->require_subcommand(1);
  hosts_.now = std::move(now);
  // Each command's description is its one line in `bdcoord --help` and in the list a missing or
  // unknown command prints; the footer says the rest, under its own --help.
  place_cmd_ = app->add_subcommand(
      "place", "Validate a spec and show where each instance would run, on which IP");
  place_cmd_->footer(
      "Changes nothing: offline from the spec's own hosts, or with --live on the coordinator's "
      "live hosts.");
  place_cmd_->add_option("spec", place_.spec_file, "Cluster spec (cluster.yaml)")
      ->required()
      ->type_name("FILE");
  place_cmd_
      ->add_option("-o,--output", place_.output,
                   "table (default), json (stable fields for tools, also what --previous "
                   "reads) or hosts (the /etc/hosts every container gets)")
      ->check(CLI::IsMember({"table", "json", "hosts"}))
      ->type_name("FORMAT");
  place_cmd_
      ->add_option("--previous", place_.previous_file,
                   "Earlier `place -o json` output: instances that still fit stay on their "
                   "host and IP (minimal moves)")
      ->type_name("FILE");
  place_cmd_
      ->add_option("--show-config", place_.show_config,
                   "Print the rendered command, env and files of one instance, e.g. zk1")
      ->type_name("NAME");
  place_cmd_->add_flag("--live", place_.live,
                       "Dry run on the coordinator's live hosts (keeps the cluster's current "
                       "placement, other clusters' IPs are taken)");
  AddCoordinatorFlags(place_cmd_, &place_.coordinator);

  hosts_cmd_ = app->add_subcommand(
      "hosts", "List the coordinator's hosts: connected or not, labels, capacity");
  hosts_cmd_->footer("Also each host's instances, CPUs, memory and Docker version.");
  AddTableOrJsonOption(hosts_cmd_, &hosts_.output);
  AddCoordinatorFlags(hosts_cmd_, &hosts_.coordinator);

  apply_cmd_ = app->add_subcommand(
      "apply", "Place and start a cluster on the live hosts, with progress until it is ready");
  apply_cmd_->footer(
      "Validates the spec, places it on the coordinator's live hosts (keeping current "
      "placements), stores it and starts it in dependency order; prints progress until it is "
      "ready or failed.");
  apply_cmd_->add_option("spec", apply_.spec_file, "Cluster spec (cluster.yaml)")
      ->required()
      ->type_name("FILE");
  AddCoordinatorFlags(apply_cmd_, &apply_.coordinator);

  status_cmd_ = app->add_subcommand(
      "status", "Every placed instance of a cluster (or of all): host, IP and state");
  status_cmd_->footer("And each host's shim address, for host_shim networks.");
  status_cmd_->add_option("-c,--cluster", status_.cluster, "Only this cluster (default: all)")
      ->type_name("CLUSTER");
  status_cmd_->add_flag("--probe", status_.probe,
                        "Also run each running instance's readiness probe now, on its host (a "
                        "PROBE column: ok, or why not)");
  AddTableOrJsonOption(status_cmd_, &status_.output);
  status_cmd_->add_flag("-w,--watch", status_.watch,
                        "Ask again every --interval and print the status when it changed, until "
                        "Ctrl-C (a terminal is redrawn)");
  status_cmd_->add_option("--interval", status_.interval_seconds, "Seconds between asks (--watch)")
      ->check(CLI::Range(0.2, 3600.0))
      ->capture_default_str()
      ->type_name("SECONDS");
  AddCoordinatorFlags(status_cmd_, &status_.coordinator);

  scale_cmd_ =
      app->add_subcommand("scale", "Run N instances of a service; the others stay where they are");
  scale_cmd_->footer(
      "New instances are placed by the spec's rules and join every container's /etc/hosts; "
      "prints progress like apply.");
  scale_cmd_->add_option("service", scale_.service, "The service, e.g. kafka")->required();
  scale_cmd_->add_option("count", scale_.count, "How many instances")
      ->required()
      ->check(CLI::Range(0, 100000));
  AddClusterOption(scale_cmd_, &scale_.cluster);
  AddCoordinatorFlags(scale_cmd_, &scale_.coordinator);

  down_cmd_ = app->add_subcommand(
      "down", "Remove a cluster's containers, networks and shims everywhere; forget it");
  down_cmd_->footer(
      "Also forgets which run-once instances completed: a later apply runs them (formats) "
      "again.");
  AddClusterOption(down_cmd_, &down_.cluster);
  down_cmd_->add_option("--timeout", down_.timeout_seconds, "Seconds to wait for the hosts")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  AddCoordinatorFlags(down_cmd_, &down_.coordinator);

  drain_cmd_ = app->add_subcommand(
      "drain", "Move a host's instances to other hosts; --undo makes it placeable again");
  drain_cmd_->footer(
      "The instances keep their names and IPs; nothing new goes to the host until --undo.\n"
      "Shows their progress as apply does and exits 0 once every moved instance is ready on its\n"
      "new host; 1 when one failed there or --timeout passed (they keep moving all the same).\n"
      "--undo: new instances may go to the host again; nothing moves back by itself.");
  drain_cmd_->add_option("host", drain_.host, "The host, as `bdcoord hosts` names it")->required();
  drain_cmd_->add_flag("--undo", drain_.undo,
                       "Make the host placeable again (nothing moves back by itself)");
  drain_cmd_
      ->add_option("--timeout", drain_.timeout_seconds,
                   "Seconds to wait for the moved instances to be ready")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  AddCoordinatorFlags(drain_cmd_, &drain_.coordinator);

  rollout_cmd_ =
      app->add_subcommand("rollout", "Show, pause, resume or undo a cluster's rolling update");
  rollout_cmd_->footer(
      "A re-apply that changes instances of a service with a readiness probe (or an `update` "
      "block) replaces them a few at a time (update.max_parallel, default 1), each ready "
      "(for update.min_healthy) before the next goes; the rollout is stored and survives a "
      "coordinator restart.\n"
      "  status   each instance's step: waiting, updating, updated, failed\n"
      "  pause    release no more instances (those being replaced finish)\n"
      "  resume   go on (a halted one is not: apply a mended spec, or undo)\n"
      "  undo     roll the spec applied before back in, the same way (progress as apply)");
  rollout_cmd_->add_option("action", rollout_.action, "status, pause, resume or undo")
      ->required()
      ->check(CLI::IsMember({"status", "pause", "resume", "undo"}))
      ->type_name("ACTION");
  AddClusterOption(rollout_cmd_, &rollout_.cluster);
  rollout_cmd_->add_option("-o,--output", rollout_.output, "status: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->type_name("FORMAT");
  AddCoordinatorFlags(rollout_cmd_, &rollout_.coordinator);

  logs_cmd_ = app->add_subcommand(
      "logs", "Print the container logs of an instance, or of a whole service merged");
  logs_cmd_->footer("Each line as `instance | line`; the container's stderr lines go to stderr.");
  logs_cmd_->add_option("target", logs_.target, "An instance (zk1) or a service (zk: all of it)")
      ->required()
      ->type_name("NAME|SERVICE");
  logs_cmd_->add_flag("-f,--follow", logs_.follow,
                      "Keep printing new lines until Ctrl-C (exit 0) or the containers stop");
  logs_cmd_->add_option("--tail", logs_.tail, "Only the last N lines of each instance (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("N");
  logs_cmd_
      ->add_option("-c,--cluster", logs_.cluster, "The cluster (needed when several are applied)")
      ->type_name("CLUSTER");
  AddCoordinatorFlags(logs_cmd_, &logs_.coordinator);

  events_cmd_ =
      app->add_subcommand("events", "Watch instances and hosts change from now on, until Ctrl-C");
  events_cmd_->footer(
      "Instances created, started, ready, restarted, completed, failed, removed; hosts up and "
      "down; placements. One line per event: time (UTC), kind, cluster/instance or host, "
      "message. Ctrl-C exits 0.");
  events_cmd_
      ->add_option("-c,--cluster", events_.cluster,
                   "Only this cluster's events (and those of hosts)")
      ->type_name("CLUSTER");
  events_cmd_
      ->add_option("-o,--output", events_.output,
                   "table (default) or json (one object per line: time, kind, cluster, instance, "
                   "host, message)")
      ->check(CLI::IsMember({"table", "json"}))
      ->type_name("FORMAT");
  AddCoordinatorFlags(events_cmd_, &events_.coordinator);

  images_cmd_ = app->add_subcommand(
      "images", "Push images to the hosts without a registry; list which host has which");
  images_cmd_->require_subcommand(1);
  images_cmd_->footer(
      "  push IMAGE...  each image (of the local Docker, or a `docker save` file) through the\n"
      "                 coordinator to every connected host that lacks it (--host to limit)\n"
      "  ls             each host's images: tags, ID, size");
  images_push_cmd_ = images_cmd_->add_subcommand(
      "push", "Send images to the hosts that lack them, through the coordinator");
  images_push_cmd_->footer(
      "IMAGE is an image of the local Docker ($DOCKER_HOST, else /var/run/docker.sock), saved\n"
      "as it is sent, or a file made by `docker save IMAGE -o FILE.tar`. Hosts that have the\n"
      "image (its ID with its tags) are skipped. The coordinator bounds the size\n"
      "(bdcoordd --max-image-size, 4Gi by default).");
  images_push_cmd_->add_option("image", images_.images, "Images or `docker save` files")
      ->required()
      ->type_name("IMAGE|FILE");
  images_push_cmd_
      ->add_option("--host", images_.hosts,
                   "Only this host (repeatable; default: every connected "
                   "host)")
      ->type_name("HOST");
  AddCoordinatorFlags(images_push_cmd_, &images_.coordinator);
  images_ls_cmd_ = images_cmd_->add_subcommand("ls", "Each host's images: tags, ID, size");
  images_ls_cmd_->add_option("--host", images_.hosts, "Only this host (repeatable)")
      ->type_name("HOST");
  AddTableOrJsonOption(images_ls_cmd_, &images_.output);
  AddCoordinatorFlags(images_ls_cmd_, &images_.coordinator);

  completion_cmd_ = app->add_subcommand("completion", "Print the shell completion script (bash)");
  completion_cmd_->footer(
      "bdcoord completion bash > /etc/bash_completion.d/bdcoord (or source it from ~/.bashrc): "
      "commands, options and spec file names complete with Tab.");
  completion_cmd_->add_option("shell", completion_shell_, "bash")
      ->required()
      ->check(CLI::IsMember({"bash"}))
      ->type_name("SHELL");
}

std::optional<int> CommandLine::Parse(std::vector<std::string> args, std::ostream& out,
                                      std::ostream& err) {
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app_->parse(args);
    return std::nullopt;
  } catch (const CLI::Success& e) {  // --help, --version: printed to `out`
    app_->exit(e, out, err);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    // CLI11 says only "A subcommand is required", for an unknown word too.
    if (app_->get_subcommands().empty()) {
      err << MissingCommandMessage(*app_, app_->remaining());
      return kExitInvalidInput;
    }
    app_->exit(e, out, err);
    return kExitInvalidInput;
  }
}

int CommandLine::Run(std::ostream& out, std::ostream& err) {
  if (place_cmd_->parsed()) {
    place_.live = place_.live || !place_.coordinator.address.empty();  // an address: ask it
    return RunPlace(place_, out, err);
  }
  if (hosts_cmd_->parsed()) return RunHosts(hosts_, out, err);
  if (completion_cmd_->parsed()) {
    out << BashCompletion(*app_);
    return kExitOk;
  }
  if (apply_cmd_->parsed()) return RunApply(apply_, out, err);
  if (status_cmd_->parsed() && status_.watch) {
    InstallInterruptHandler();  // before gRPC starts any thread
    return WatchStatus(status_, out, err, [] { return Interrupted(); });
  }
  if (status_cmd_->parsed()) return RunStatus(status_, out, err);
  if (scale_cmd_->parsed()) return RunScale(scale_, out, err);
  if (down_cmd_->parsed()) return RunDown(down_, out, err);
  if (drain_cmd_->parsed()) return RunDrain(drain_, out, err);
  if (rollout_cmd_->parsed()) return RunRollout(rollout_, out, err);
  if (images_push_cmd_->parsed()) return RunImagesPush(images_, out, err);
  if (images_ls_cmd_->parsed()) return RunImagesLs(images_, out, err);
  if (logs_cmd_->parsed() || events_cmd_->parsed()) {
    // Before gRPC starts any thread: they all inherit the blocked signals.
    InstallInterruptHandler();
    return logs_cmd_->parsed() ? RunLogs(logs_, out, err) : RunEvents(events_, out, err);
  }
  return kExitInvalidInput;
}

}  // namespace bdcoord::cli
