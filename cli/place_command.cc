#include "cli/place_command.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cli/coordinator_client.h"
#include "cli/exit_codes.h"
#include "cli/placement_output.h"
#include "coordinator/plan/planner.h"
#include "coordinator/spec/spec_loader.h"

namespace bdcoord::cli {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The dry run on the coordinator's live hosts.
int RunLivePlace(const PlaceOptions& options, const std::string& text, std::ostream& out,
                 std::ostream& err) {
  if (!options.previous_file.empty() || !options.show_config.empty()) {
    err << "bdcoord: --previous and --show-config plan offline; with the coordinator the "
           "cluster's current placement is the previous one\n";
    return kExitInvalidInput;
  }
  if (ReportEncodingError(options.spec_file, text, err)) return kExitInvalidInput;
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  bdcoord::v1::PlaceRequest request;
  request.mutable_spec()->set_file_name(options.spec_file);
  request.mutable_spec()->set_yaml(text);
  request.set_rejection_in_response(true);  // the whole report, however long
  bdcoord::v1::PlaceResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (grpc::Status status = coordinator->stub->Place(&context, request, &response); !status.ok()) {
    return ReportCallError(*coordinator, status, err);
  }
  if (response.has_rejection()) return ReportRejection(response.rejection(), err);
  if (options.output == "json") {
    out << FormatPlacementJson(response.placement(), response.hosts_file());
    return kExitOk;
  }
  if (options.output == "hosts") {
    out << response.hosts_file();
    return kExitOk;
  }
  // The live hosts' labels make the per-rack summary.
  std::vector<bdcoord::v1::Host> hosts;
  bdcoord::v1::ListHostsResponse listed;
  grpc::ClientContext list_context;
  list_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (coordinator->stub->ListHosts(&list_context, bdcoord::v1::ListHostsRequest(), &listed).ok()) {
    for (const auto& view : listed.hosts()) {
      bdcoord::v1::Host& host = hosts.emplace_back();
      host.set_name(view.name());
      *host.mutable_labels() = view.facts().labels();
    }
  }
  out << FormatPlacementTable(hosts, response.placement());
  return kExitOk;
}

}  // namespace

int RunPlace(const PlaceOptions& options, std::ostream& out, std::ostream& err) {
  auto text = ReadFile(options.spec_file);
  if (!text.ok()) {
    err << "bdcoord: " << text.status().message() << "\n";
    return kExitRuntimeError;
  }
  if (options.live) return RunLivePlace(options, *text, out, err);
  coordinator::PreviousPlacement previous;
  if (!options.previous_file.empty()) {
    auto previous_text = ReadFile(options.previous_file);
    if (!previous_text.ok()) {
      err << "bdcoord: " << previous_text.status().message() << "\n";
      return kExitRuntimeError;
    }
    auto parsed = ParsePlacementJson(*previous_text);
    if (!parsed.ok()) {
      err << options.previous_file << ": " << parsed.status().message() << "\n";
      return kExitInvalidInput;
    }
    previous = std::move(*parsed);
  }

  const coordinator::LoadedSpec loaded = coordinator::LoadSpec(*text);
  coordinator::PlanOptions plan_options;
  plan_options.previous = options.previous_file.empty() ? nullptr : &previous;
  // Rendered like apply renders, so the render caps (README, "Limits") are errors here too.
  plan_options.render = true;
  plan_options.render_only = options.show_config;
  const coordinator::Plan plan = coordinator::MakePlan(loaded, plan_options);

  if (!plan.diagnostics.empty()) {
    err << coordinator::FormatDiagnostics(options.spec_file, plan.diagnostics);
    err << plan.diagnostics.size() << (plan.diagnostics.size() == 1 ? " error" : " errors")
        << " in " << options.spec_file << "; nothing was placed\n";
    return kExitInvalidInput;
  }
  if (!plan.failures.empty()) {
    int total = 0;
    for (const auto& service : loaded.spec.services()) total += service.count();
    err << FormatPlacementFailures(plan.failures, total);
    return kExitPlacementFailed;
  }

  if (!options.show_config.empty()) {
    if (plan.instances.empty()) {
      std::vector<std::string> names;
      for (const auto& instance : plan.placement.instances()) names.push_back(instance.name());
      err << "bdcoord: no instance named '" << options.show_config << "' in " << options.spec_file
          << "\n";
      if (const std::string hint = coordinator::SuggestionHint(options.show_config, names);
          !hint.empty() && hint.size() < 200) {
        err << "  hint: " << hint << "\n";
      }
      return kExitInvalidInput;
    }
    const auto& instance = plan.instances.front();
    for (const auto& service : loaded.spec.services()) {
      if (service.name() == instance.placed.service()) {
        out << FormatInstanceConfig(instance, service);
      }
    }
    return kExitOk;
  }

  if (options.output == "json") {
    out << FormatPlacementJson(plan.placement, plan.hosts_file);
  } else if (options.output == "hosts") {
    out << plan.hosts_file;
  } else {
    const std::vector<bdcoord::v1::Host> hosts(loaded.spec.hosts().begin(),
                                               loaded.spec.hosts().end());
    out << FormatPlacementTable(hosts, plan.placement);
  }
  return kExitOk;
}

}  // namespace bdcoord::cli
