#include "cli/cluster_commands.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "cli/coordinator_client.h"
#include "cli/exit_codes.h"
#include "cli/text_table.h"
#include "nlohmann/json.hpp"

namespace bdcoord::cli {
namespace {}  // namespace

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

std::string ProgressLines(const bdcoord::v1::ApplyProgress& progress) {
  std::string out;
  for (const auto& service : progress.services()) {
    absl::StrAppend(&out, service.service(), ": ", service.ready(), "/", service.desired(),
                    " ready");
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
    out += "\n";
  }
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
    for (const auto& failure : progress.failures()) {
      absl::StrAppend(&out, "  ", failure.name(), " (service ", failure.service(), ")",
                      failure.message().empty() ? "" : ": ", failure.message(), "\n");
      for (const auto& line : failure.last_log_lines()) absl::StrAppend(&out, "    | ", line, "\n");
    }
    return out;
  }
  return absl::StrCat("cluster ", progress.cluster(), ": ", ready, "/", desired, " instances ready",
                      progress.done() ? ", done" : "", "\n");
}

int RunApply(const ApplyOptions& options, std::ostream& out, std::ostream& err) {
  std::ifstream in(options.spec_file, std::ios::binary);
  if (!in) {
    err << "bdcoord: cannot read " << options.spec_file << ": " << strerror(errno) << "\n";
    return kExitRuntimeError;
  }
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  grpc::ClientContext context;
  bdcoord::v1::ApplyRequest request;
  request.mutable_spec()->set_file_name(options.spec_file);
  request.mutable_spec()->set_yaml(text.str());
  auto reader = coordinator->stub->Apply(&context, request);
  bdcoord::v1::ApplyProgress progress, last;
  bool any = false;
  while (reader->Read(&progress)) {
    out << ProgressLines(progress) << std::flush;
    last = progress;
    any = true;
  }
  const grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    err << status.error_message();
    if (!status.error_message().empty() && status.error_message().back() != '\n') err << "\n";
    return kExitInvalidInput;
  }
  if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    err << status.error_message();
    if (!status.error_message().empty() && status.error_message().back() != '\n') err << "\n";
    return kExitPlacementFailed;
  }
  if (!status.ok()) return ReportRpcError(*coordinator, status, err);
  if (!any) {
    err << "bdcoord: the coordinator ended the apply without progress\n";
    return kExitRuntimeError;
  }
  out << ApplySummary(last);
  return last.failures_size() == 0 && last.done() ? kExitOk : kExitRuntimeError;
}

std::string StatusTable(const bdcoord::v1::GetStatusResponse& response) {
  std::vector<std::vector<std::string>> rows = {
      {"INSTANCE", "SERVICE", "HOST", "IP", "STATE", "READY", "MESSAGE"}};
  const bool several = response.clusters_size() > 1;
  for (const auto& cluster : response.clusters()) {
    for (const auto& view : cluster.instances()) {
      rows.push_back(
          {several ? cluster.cluster() + "/" + view.placed().name() : view.placed().name(),
           view.placed().service(), view.placed().host(), view.placed().ip(),
           StateName(view.status().state()), view.status().ready() ? "yes" : "no",
           view.status().message().empty() ? "-" : view.status().message()});
    }
  }
  return RenderColumns(rows);
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
                          {"waiting_for", service.waiting_for()}});
    }
    clusters.push_back(
        {{"cluster", cluster.cluster()}, {"instances", instances}, {"services", services}});
  }
  return nlohmann::json({{"clusters", clusters}}).dump(2) + "\n";
}

int RunStatus(const StatusOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  bdcoord::v1::GetStatusRequest request;
  request.set_cluster(options.cluster);
  bdcoord::v1::GetStatusResponse response;
  const grpc::Status status = coordinator->stub->GetStatus(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    err << "bdcoord: " << status.error_message() << "\n";
    return kExitRuntimeError;
  }
  if (!status.ok()) return ReportRpcError(*coordinator, status, err);
  out << (options.output == "json" ? StatusJson(response) : StatusTable(response));
  return kExitOk;
}

}  // namespace bdcoord::cli
