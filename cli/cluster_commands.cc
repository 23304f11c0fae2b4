#include "cli/cluster_commands.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "cli/coordinator_client.h"
#include "cli/exit_codes.h"
#include "cli/placement_output.h"
#include "cli/rollout_command.h"
#include "cli/text_table.h"
#include "nlohmann/json.hpp"

namespace bdcoord::cli {
std::string StateName(bdcoord::v1::InstanceState state) {
  switch (state) {
    case bdcoord::v1::INSTANCE_STATE_PENDING:
      return "pending";
    case bdcoord::v1::INSTANCE_STATE_CREATED:
      return "created";
    case bdcoord::v1::INSTANCE_STATE_RUNNING:
      return "running";
    case bdcoord::v1::INSTANCE_STATE_COMPLETED:
      return "completed";
    case bdcoord::v1::INSTANCE_STATE_FAILED:
      return "failed";
    case bdcoord::v1::INSTANCE_STATE_REMOVED:
      return "removed";
    default:
      return "unknown";
  }
}

// What `ready` counts: a run-once service's instances are done when completed, which is also
// the state `status` shows for them.
static const char* ReadyWord(const bdcoord::v1::ServiceProgress& service) {
  return service.run_once() ? "completed" : "ready";
}

std::string ProgressLine(const bdcoord::v1::ServiceProgress& service) {
  std::string out = absl::StrCat(service.service(), ": ", service.ready(), "/", service.desired(),
                                 " ", ReadyWord(service));
  if (service.started() > service.ready()) {
    absl::StrAppend(&out, ", ", service.started(), " started");
  }
  if (service.failed() > 0) absl::StrAppend(&out, ", ", service.failed(), " failed");
  if (service.placed() < service.desired()) {
    absl::StrAppend(&out, ", ", service.placed(), " placed");
  }
  if (!service.waiting_for().empty()) {
    absl::StrAppend(&out, " (waiting for ", service.waiting_for(), ")");
  }
  return out + "\n";
}

std::string ProgressLines(const bdcoord::v1::ApplyProgress& progress) {
  std::string out;
  for (const auto& service : progress.services()) out += ProgressLine(service);
  if (std::string rollout = RolloutLine(progress.rollout()); !rollout.empty()) {
    absl::StrAppend(&out, rollout, "\n");
  }
  return out;
}

std::string ChangedProgressLines::Next(const bdcoord::v1::ApplyProgress& progress) {
  std::string out;
  for (const auto& service : progress.services()) {
    std::string line = ProgressLine(service);
    std::string& last = last_lines_[service.service()];
    if (line == last) continue;
    out += line;
    last = std::move(line);
  }
  if (std::string rollout = RolloutLine(progress.rollout()); !rollout.empty()) {
    rollout += "\n";
    std::string& last = last_lines_[" rollout"];  // no service has a space in its name
    if (rollout != last) out += rollout;
    last = std::move(rollout);
  }
  return out;
}

std::string FailureLines(const bdcoord::v1::InstanceStatus& failure) {
  std::string out = absl::StrCat("  ", failure.name(), " (service ", failure.service(), ")",
                                 failure.message().empty() ? "" : ": ", failure.message(), "\n");
  for (const auto& line : failure.last_log_lines()) absl::StrAppend(&out, "    | ", line, "\n");
  return out;
}

std::string ApplySummary(const bdcoord::v1::ApplyProgress& progress) {
  uint32_t desired = 0, ready = 0;
  for (const auto& service : progress.services()) {
    desired += service.desired();
    ready += service.ready();
  }
  if (progress.failures_size() > 0) {
    std::string out =
        absl::StrCat("cluster ", progress.cluster(), ": failed, ", progress.failures_size(), " of ",
                     desired, " instances failed\n");
    for (const auto& failure : progress.failures()) out += FailureLines(failure);
    return out;
  }
  return absl::StrCat("cluster ", progress.cluster(), ": ", ready, "/", desired, " instances ready",
                      progress.done() ? ", done" : "", "\n");
}

std::string ProgressBars(const bdcoord::v1::ApplyProgress& progress, double elapsed_seconds) {
  constexpr int kWidth = 20;
  size_t name_width = 0;
  for (const auto& service : progress.services()) {
    name_width = std::max(name_width, service.service().size());
  }
  std::string out;
  for (const auto& service : progress.services()) {
    const uint32_t desired = std::max<uint32_t>(service.desired(), 1);
    // Each step counts: placed, created, started, ready — a quarter of the bar each.
    const double done =
        (std::min(service.placed(), desired) + std::min(service.created(), desired) +
         std::min(service.started(), desired) + std::min(service.ready(), desired)) /
        (4.0 * desired);
    const int filled = service.desired() == 0 ? kWidth : static_cast<int>(done * kWidth);
    absl::StrAppend(
        &out, service.service(), std::string(name_width - service.service().size(), ' '), " [",
        std::string(filled, '#'), std::string(kWidth - filled, '.'), "] ", service.ready(), "/",
        service.desired(), " ", ReadyWord(service), "  (placed ", service.placed(), ", created ",
        service.created(), ", started ", service.started(), ")");
    if (service.failed() > 0) absl::StrAppend(&out, "  ", service.failed(), " FAILED");
    if (!service.waiting_for().empty()) {
      absl::StrAppend(&out, "  waiting for ", service.waiting_for());
    }
    out += "\n";
  }
  if (std::string rollout = RolloutLine(progress.rollout()); !rollout.empty()) {
    absl::StrAppend(&out, rollout, "\n");
  }
  absl::StrAppend(&out, "elapsed ", absl::StrFormat("%.1f", elapsed_seconds), " s\n");
  return out;
}

namespace {

bool IsTerminal(const std::ostream& out) { return &out == &std::cout && ::isatty(1) == 1; }

grpc::Status GetStatus(const Coordinator& coordinator, const StatusOptions& options,
                       bdcoord::v1::GetStatusResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  bdcoord::v1::GetStatusRequest request;
  request.set_cluster(options.cluster);
  request.set_probe(options.probe);
  return coordinator.stub->GetStatus(&context, request, response);
}

}  // namespace

ProgressView::ProgressView(std::ostream& out)
    : out_(out), tty_(IsTerminal(out)), start_(std::chrono::steady_clock::now()) {}

void ProgressView::Show(const bdcoord::v1::ApplyProgress& progress) {
  if (!tty_) {
    out_ << changed_lines_.Next(progress) << std::flush;
    return;
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string view = ProgressBars(progress, elapsed);
  // Back over the previous view, then redraw it line by line.
  if (drawn_lines_ > 0) out_ << "\x1b[" << drawn_lines_ << "F";
  for (size_t begin = 0, end; (end = view.find('\n', begin)) != std::string::npos;
       begin = end + 1) {
    out_ << "\x1b[2K" << view.substr(begin, end - begin + 1);
  }
  drawn_lines_ = static_cast<int>(std::count(view.begin(), view.end(), '\n'));
  out_ << std::flush;
}

namespace {

// What a progress stream ended with.
struct ProgressOutcome {
  grpc::Status status;
  std::optional<bdcoord::v1::Rejection> rejection;
  std::optional<bdcoord::v1::ApplyProgress> last;
};

ProgressOutcome ReadProgress(
    std::unique_ptr<grpc::ClientReaderInterface<bdcoord::v1::ApplyProgress>> reader,
    ProgressView& view) {
  ProgressOutcome outcome;
  bdcoord::v1::ApplyProgress progress;
  while (reader->Read(&progress)) {
    if (progress.has_rejection()) {  // the last message of a refused spec: its whole report
      outcome.rejection = std::move(*progress.mutable_rejection());
      continue;
    }
    view.Show(progress);
    outcome.last = progress;
  }
  outcome.status = reader->Finish();
  return outcome;
}

int ReportProgressOutcome(const Coordinator& coordinator, const ProgressOutcome& outcome,
                          std::ostream& out, std::ostream& err) {
  if (!outcome.status.ok() && outcome.rejection) return ReportRejection(*outcome.rejection, err);
  if (!outcome.status.ok()) return ReportCallError(coordinator, outcome.status, err);
  if (!outcome.last) {
    err << "bdcoord: the coordinator ended without progress\n";
    return kExitRuntimeError;
  }
  out << ApplySummary(*outcome.last);
  return outcome.last->failures_size() == 0 && outcome.last->done() ? kExitOk : kExitRuntimeError;
}

// The hosts of `wanted` that `hosts` does not show connected.
std::vector<std::string> NotBack(const std::vector<std::string>& wanted,
                                 const bdcoord::v1::ListHostsResponse& hosts) {
  std::set<std::string> connected;
  for (const auto& host : hosts.hosts()) {
    if (host.connected()) connected.insert(host.name());
  }
  std::vector<std::string> missing;
  for (const std::string& host : wanted) {
    if (!connected.contains(host)) missing.push_back(host);
  }
  return missing;
}

// After the coordinator serving a command went away: the coordinator that leads now, once every
// host of `wanted` is connected to it (a command sent sooner would be planned without them and
// move their instances). FailedPrecondition saying what is missing when `timeout` passes.
absl::StatusOr<Coordinator> AwaitNewLeader(const CoordinatorFlags& flags,
                                           const std::vector<std::string>& wanted,
                                           const FailoverOptions& failover) {
  const absl::Time deadline = absl::Now() + failover.timeout;
  std::string missing = "no coordinator leads";
  for (;;) {
    absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(flags);
    if (!coordinator.ok()) return coordinator.status();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    bdcoord::v1::ListHostsResponse hosts;
    if (coordinator->stub->ListHosts(&context, {}, &hosts).ok()) {
      const std::vector<std::string> not_back = NotBack(wanted, hosts);
      if (not_back.empty()) return coordinator;
      missing = absl::StrCat(coordinator->address, " leads but ", absl::StrJoin(not_back, ", "),
                             not_back.size() == 1 ? " has" : " have", " not connected to it");
    }
    if (absl::Now() + failover.poll_interval > deadline) {
      return absl::FailedPreconditionError(
          absl::StrCat(missing, " after ", absl::FormatDuration(failover.timeout)));
    }
    absl::SleepFor(failover.poll_interval);
  }
}

// The coordinator went away (killed, cut off, no longer the leader) or could not reach its store,
// as opposed to refusing the command: UNAVAILABLE that is not about a host the plan needs.
bool WentAway(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().find("not connected") == std::string::npos;
}

using ProgressCall =
    std::function<std::unique_ptr<grpc::ClientReaderInterface<bdcoord::v1::ApplyProgress>>(
        Coordinator&, grpc::ClientContext&)>;

// Apply and Scale ask for a state, so the same request sent twice is the same change: when the
// coordinator serving one goes away mid-stream and there are several coordinators, it is sent
// again to the one that leads next (the change may have been stored before, or not).
int FollowAcrossFailovers(const CoordinatorFlags& flags, const std::string& what,
                          const FailoverOptions& failover, const ProgressCall& call,
                          std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(flags);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  ProgressView view(out);
  for (int failovers = 0;; ++failovers) {
    grpc::ClientContext context;
    const ProgressOutcome outcome = ReadProgress(call(*coordinator, context), view);
    if (!coordinator->several || !WentAway(outcome.status) || outcome.rejection ||
        failovers == failover.max_failovers) {
      return ReportProgressOutcome(*coordinator, outcome, out, err);
    }
    err << "bdcoord: the coordinator at " << coordinator->address << " stopped serving the " << what
        << " (" << outcome.status.error_message() << "): waiting for the next leader\n";
    absl::StatusOr<Coordinator> next =
        AwaitNewLeader(flags, coordinator->connected_hosts, failover);
    if (!next.ok()) {
      err << "bdcoord: " << next.status().message() << ": the " << what
          << " was not sent again\n  hint: `bdcoord status` shows what runs; run the " << what
          << " again once a coordinator leads\n";
      return kExitRuntimeError;
    }
    coordinator = *std::move(next);
    err << "bdcoord: " << coordinator->address << " leads, every host is back: sending the " << what
        << " again\n";
  }
}

}  // namespace

int FollowApplyProgress(
    const Coordinator& coordinator,
    std::unique_ptr<grpc::ClientReaderInterface<bdcoord::v1::ApplyProgress>> reader,
    std::ostream& out, std::ostream& err) {
  ProgressView view(out);
  return ReportProgressOutcome(coordinator, ReadProgress(std::move(reader), view), out, err);
}

int RunApply(const ApplyOptions& options, std::ostream& out, std::ostream& err) {
  std::ifstream in(options.spec_file, std::ios::binary);
  if (!in) {
    err << "bdcoord: cannot read " << options.spec_file << ": " << strerror(errno) << "\n";
    return kExitRuntimeError;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (ReportEncodingError(options.spec_file, text.str(), err)) return kExitInvalidInput;
  bdcoord::v1::ApplyRequest request;
  request.mutable_spec()->set_file_name(options.spec_file);
  request.mutable_spec()->set_yaml(text.str());
  return FollowAcrossFailovers(
      options.coordinator, "apply", options.failover,
      [&](Coordinator& coordinator, grpc::ClientContext& context) {
        return coordinator.stub->Apply(&context, request);
      },
      out, err);
}

int RunScale(const ScaleOptions& options, std::ostream& out, std::ostream& err) {
  bdcoord::v1::ScaleRequest request;
  request.set_cluster(options.cluster);
  request.set_service(options.service);
  request.set_count(options.count);
  return FollowAcrossFailovers(
      options.coordinator, "scale", options.failover,
      [&](Coordinator& coordinator, grpc::ClientContext& context) {
        return coordinator.stub->Scale(&context, request);
      },
      out, err);
}

int RunDown(const DownOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(options.timeout_seconds));
  bdcoord::v1::DownRequest request;
  request.set_cluster(options.cluster);
  bdcoord::v1::DownResponse response;
  const grpc::Status status = coordinator->stub->Down(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    err << "bdcoord: the cluster is forgotten but some hosts did not confirm the removal within "
        << options.timeout_seconds << " s; their agents remove what is left when they can\n"
        << "  hint: `bdcoord hosts` shows which hosts are disconnected\n";
    return kExitRuntimeError;
  }
  if (!status.ok()) return ReportCallError(*coordinator, status, err);
  out << "removed " << response.removed() << " instances with their networks and shims\n";
  if (response.disconnected_hosts_size() > 0) {
    out << "not connected now, cleaned up when their agents return: "
        << absl::StrJoin(response.disconnected_hosts(), ", ") << "\n";
  }
  return kExitOk;
}

DrainWait WaitOfDrain(const bdcoord::v1::DrainHostResponse& drained,
                      const bdcoord::v1::GetStatusResponse& status) {
  DrainWait wait;
  std::map<std::string, std::set<std::string>> moved;  // cluster -> instances
  for (const auto& instance : drained.instances()) {
    moved[instance.cluster()].insert(instance.instance());
  }
  const bool several = moved.size() > 1;
  if (!several && !moved.empty()) wait.progress.set_cluster(moved.begin()->first);
  for (const auto& cluster : status.clusters()) {
    auto names = moved.find(cluster.cluster());
    if (names == moved.end()) continue;  // not drained, or taken down meanwhile
    std::set<std::string> services;
    for (const auto& view : cluster.instances()) {
      if (!names->second.contains(view.placed().name())) continue;
      services.insert(view.placed().service());
      const bdcoord::v1::InstanceStatus& now = view.status();
      const std::string name = several ? absl::StrCat(cluster.cluster(), "/", view.placed().name())
                                       : view.placed().name();
      if (now.state() == bdcoord::v1::INSTANCE_STATE_COMPLETED ||
          (now.state() == bdcoord::v1::INSTANCE_STATE_RUNNING && now.ready())) {
        ++wait.ready;
      } else if (now.state() == bdcoord::v1::INSTANCE_STATE_FAILED) {
        bdcoord::v1::InstanceStatus& failed = wait.failed.emplace_back(now);
        failed.set_name(name);
      } else {
        wait.waiting.push_back(absl::StrCat(
            name, " (", view.placed().host(), ": ", StateName(now.state()),
            now.state() == bdcoord::v1::INSTANCE_STATE_RUNNING ? ", not ready" : "", ")"));
      }
    }
    for (const auto& service : cluster.services()) {
      if (!services.contains(service.service())) continue;
      bdcoord::v1::ServiceProgress* shown = wait.progress.add_services();
      *shown = service;
      if (several) shown->set_service(absl::StrCat(cluster.cluster(), "/", service.service()));
    }
  }
  return wait;
}

namespace {

std::string Plural(size_t n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

std::string UndoHint(const std::string& host) {
  return absl::StrCat("nothing new goes to it until `bdcoord drain --undo ", host, "`");
}

}  // namespace

int RunDrain(const DrainOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  bdcoord::v1::DrainHostRequest request;
  request.set_host(options.host);
  request.set_undo(options.undo);
  bdcoord::v1::DrainHostResponse response;
  const grpc::Status status = coordinator->stub->DrainHost(&context, request, &response);
  if (!status.ok()) return ReportCallError(*coordinator, status, err);
  if (options.undo) {
    out << "host " << options.host
        << " takes placements again: new instances (apply, scale) may go there; nothing moves "
           "back by itself\n";
    return kExitOk;
  }
  if (response.instances().empty()) {
    out << "host " << options.host << " drained: no instances were on it; "
        << UndoHint(options.host) << "\n";
    return kExitOk;
  }
  const size_t total = static_cast<size_t>(response.instances_size());
  out << "host " << options.host << " drained: moving " << Plural(total, "instance", "instances")
      << " to other hosts (" << (response.clusters_size() == 1 ? "cluster " : "clusters ")
      << absl::StrJoin(response.clusters(), ", ") << "); " << UndoHint(options.host) << "\n"
      << std::flush;

  // Until every moved instance is ready on its new host: its status there, as `status` shows.
  ProgressView view(out);
  std::string shown;
  StatusOptions asked;
  const absl::Time deadline = absl::Now() + absl::Seconds(options.timeout_seconds);
  while (true) {
    bdcoord::v1::GetStatusResponse now;
    if (const grpc::Status got = GetStatus(*coordinator, asked, &now); !got.ok()) {
      ReportCallError(*coordinator, got, err);
      err << "  hint: the instances move on all the same: `bdcoord status` shows where they are\n";
      return kExitRuntimeError;
    }
    const DrainWait wait = WaitOfDrain(response, now);
    if (std::string progress = wait.progress.SerializeAsString(); progress != shown) {
      view.Show(wait.progress);
      shown = std::move(progress);
    }
    if (!wait.failed.empty()) {
      err << "bdcoord: " << wait.failed.size() << " of "
          << Plural(total, "moved instance", "moved instances") << " failed on "
          << (wait.failed.size() == 1 ? "its" : "their") << " new host\n";
      for (const auto& failed : wait.failed) err << FailureLines(failed);
      return kExitRuntimeError;
    }
    if (wait.waiting.empty()) {
      out << "host " << options.host << " drained: " << wait.ready << "/" << total
          << " moved instances ready on their new hosts\n";
      return kExitOk;
    }
    if (absl::Now() >= deadline) {
      err << "bdcoord: " << wait.waiting.size() << " of "
          << Plural(total, "moved instance", "moved instances") << " not ready after "
          << options.timeout_seconds << " s: " << absl::StrJoin(wait.waiting, ", ") << "\n"
          << "  hint: they keep moving: `bdcoord status` shows where they are, `bdcoord events` "
             "what happens to them\n";
      return kExitRuntimeError;
    }
    absl::SleepFor(std::min(options.poll_interval, deadline - absl::Now()));
  }
}

static std::string Restarts(const bdcoord::v1::InstanceStatus& status) {
  if (status.restart_count() == 0) return "0";
  return absl::StrCat(status.restart_count(), " (exit ", status.last_exit_code(), ")");
}

// A completed run-once instance is done, not "not ready": its state says it all.
static std::string ReadyColumn(const bdcoord::v1::InstanceStatus& status) {
  if (status.state() == bdcoord::v1::INSTANCE_STATE_COMPLETED) return "-";
  return status.ready() ? "yes" : "no";
}

std::string StatusTable(const bdcoord::v1::GetStatusResponse& response) {
  bool probed = false;  // a PROBE column only after `status --probe`
  for (const auto& cluster : response.clusters()) {
    for (const auto& view : cluster.instances()) probed = probed || !view.probe().empty();
  }
  std::vector<std::vector<std::string>> rows = {
      {"INSTANCE", "SERVICE", "HOST", "IP", "STATE", "READY", "RESTARTS"}};
  if (probed) rows[0].push_back("PROBE");
  rows[0].push_back("MESSAGE");
  const bool several = response.clusters_size() > 1;
  for (const auto& cluster : response.clusters()) {
    for (const auto& view : cluster.instances()) {
      std::vector<std::string>& row = rows.emplace_back(std::vector<std::string>{
          several ? cluster.cluster() + "/" + view.placed().name() : view.placed().name(),
          view.placed().service(), view.placed().host(), view.placed().ip(),
          StateName(view.status().state()), ReadyColumn(view.status()), Restarts(view.status())});
      if (probed) row.push_back(view.probe().empty() ? "-" : view.probe());
      row.push_back(view.status().message().empty() ? "-" : view.status().message());
    }
  }
  std::string out = RenderColumns(rows);
  // The networks named like the instances: with several clusters, `cluster/network`.
  ShimAddresses shims;
  for (const auto& cluster : response.clusters()) {
    for (const auto& shim : cluster.shims()) {
      bdcoord::v1::ShimAddress* row = shims.Add();
      *row = shim;
      if (several) row->set_network(cluster.cluster() + "/" + shim.network());
    }
  }
  if (!shims.empty()) absl::StrAppend(&out, "\n", FormatShimTable(shims));
  for (const auto& cluster : response.clusters()) {
    if (std::string rollout = RolloutLine(cluster.rollout()); !rollout.empty()) {
      absl::StrAppend(&out, "\n", several ? cluster.cluster() + " " : "", rollout,
                      "  (bdcoord rollout status)\n");
    }
  }
  return out;
}

std::string StatusJson(const bdcoord::v1::GetStatusResponse& response) {
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& cluster : response.clusters()) {
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& view : cluster.instances()) {
      instances.push_back({{"name", view.placed().name()},
                           {"service", view.placed().service()},
                           {"host", view.placed().host()},
                           {"ip", view.placed().ip()},
                           {"fqdn", view.placed().fqdn()},
                           {"state", StateName(view.status().state())},
                           {"ready", view.status().ready()},
                           {"container_id", view.status().container_id()},
                           {"restart_count", view.status().restart_count()},
                           {"last_exit_code", view.status().last_exit_code()},
                           {"probe", view.probe()},
                           {"message", view.status().message()}});
    }
    nlohmann::json services = nlohmann::json::array();
    for (const auto& service : cluster.services()) {
      services.push_back({{"service", service.service()},
                          {"desired", service.desired()},
                          {"placed", service.placed()},
                          {"created", service.created()},
                          {"started", service.started()},
                          {"ready", service.ready()},
                          {"failed", service.failed()},
                          {"waiting_for", service.waiting_for()},
                          {"run_once", service.run_once()}});
    }
    nlohmann::json& entry = clusters.emplace_back(nlohmann::json{
        {"cluster", cluster.cluster()}, {"instances", instances}, {"services", services}});
    // Only with host_shim networks, as in `bdcoord place -o json`.
    if (!cluster.shims().empty()) entry["shims"] = nlohmann::json(ShimsJson(cluster.shims()));
  }
  return nlohmann::json({{"clusters", clusters}}).dump(2) + "\n";
}

namespace {

std::string FormatStatus(const StatusOptions& options,
                         const bdcoord::v1::GetStatusResponse& response) {
  return options.output == "json" ? StatusJson(response) : StatusTable(response);
}

}  // namespace

int RunStatus(const StatusOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  bdcoord::v1::GetStatusResponse response;
  const grpc::Status status = GetStatus(*coordinator, options, &response);
  if (!status.ok()) return ReportCallError(*coordinator, status, err);
  out << FormatStatus(options, response);
  return kExitOk;
}

int WatchStatus(const StatusOptions& options, std::ostream& out, std::ostream& err,
                const std::function<bool()>& stop) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  const bool tty = IsTerminal(out);
  const absl::Duration interval = absl::Seconds(options.interval_seconds);
  std::string shown;  // the status or the error last printed
  while (!stop()) {
    bdcoord::v1::GetStatusResponse response;
    const grpc::Status status = GetStatus(*coordinator, options, &response);
    std::string now;
    if (status.ok()) {
      now = FormatStatus(options, response);
    } else {
      std::ostringstream message;
      ReportCallError(*coordinator, status, message);
      now = message.str();
    }
    if (now != shown) {
      if (!status.ok()) {
        err << now << "(asking again every " << absl::FormatDuration(interval) << ")\n";
      } else if (tty) {
        out << "\033[H\033[2J" << now << std::flush;  // home, clear: redrawn in place
      } else {
        out << "--- " << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone())
            << "\n"
            << now << std::flush;
      }
      shown = std::move(now);
    }
    for (absl::Time until = absl::Now() + interval; absl::Now() < until && !stop();) {
      absl::SleepFor(std::min(absl::Milliseconds(100), until - absl::Now()));
    }
  }
  return kExitOk;
}

}  // namespace bdcoord::cli
