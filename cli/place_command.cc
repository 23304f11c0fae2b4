#include "cli/place_command.h"

#include <fstream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "cli/placement_output.h"
#include "coordinator/planner.h"
#include "coordinator/spec_loader.h"

namespace bdcoord::cli {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int RunPlace(const PlaceOptions& options, std::ostream& out, std::ostream& err) {
  auto text = ReadFile(options.spec_file);
  if (!text.ok()) {
    err << "bdcoord: " << text.status().message() << "\n";
    return kExitRuntimeError;
  }
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
  plan_options.render = !options.show_config.empty();
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
