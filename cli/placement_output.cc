#include "cli/placement_output.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/text_table.h"
#include "coordinator/placement/placement_failures.h"
#include "coordinator/spec/instance_names.h"

namespace bdcoord::cli {
namespace {

using bdcoord::v1::Host;
using bdcoord::v1::Placement;

std::string LabelsText(const Host& host) {
  const std::map<std::string, std::string> sorted(host.labels().begin(), host.labels().end());
  return absl::StrJoin(sorted, ",", absl::PairFormatter("="));
}

}  // namespace

std::string FormatShimTable(const ShimAddresses& shims) {
  if (shims.empty()) return "";
  std::vector<std::vector<std::string>> rows = {{"NETWORK", "HOST", "HOST SHIM"}};
  for (const auto& shim : shims) rows.push_back({shim.network(), shim.host(), shim.address()});
  return RenderColumns(rows);
}

nlohmann::ordered_json ShimsJson(const ShimAddresses& shims) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& shim : shims) {
    out.push_back(
        {{"network", shim.network()}, {"host", shim.host()}, {"address", shim.address()}});
  }
  return out;
}

std::string FormatPlacementTable(const std::vector<Host>& hosts, const Placement& placement) {
  absl::flat_hash_map<std::string, const Host*> host_by_name;
  for (const Host& host : hosts) host_by_name[host.name()] = &host;

  std::vector<std::vector<std::string>> rows = {{"INSTANCE", "SERVICE", "HOST", "LABELS", "IP"}};
  std::map<std::string, int> per_host;
  std::map<std::string, std::map<std::string, int>> services_per_host;
  for (const auto& instance : placement.instances()) {
    auto it = host_by_name.find(instance.host());
    rows.push_back({instance.name(), instance.service(), instance.host(),
                    it == host_by_name.end() ? "" : LabelsText(*it->second), instance.ip()});
    ++per_host[instance.host()];
    ++services_per_host[instance.host()][instance.service()];
  }
  std::string out = RenderColumns(rows);

  std::vector<std::vector<std::string>> host_rows = {{"HOST", "LABELS", "INSTANCES", "SERVICES"}};
  std::map<std::string, std::pair<int, int>> per_rack;  // rack -> hosts, instances
  for (const Host& host : hosts) {
    const int count = per_host.count(host.name()) ? per_host[host.name()] : 0;
    std::vector<std::string> services;
    for (const auto& [service, n] : services_per_host[host.name()]) {
      services.push_back(absl::StrCat(service, "×", n));
    }
    host_rows.push_back({host.name(), LabelsText(host), absl::StrCat(count),
                         services.empty() ? "-" : absl::StrJoin(services, " ")});
    if (auto rack = host.labels().find("rack"); rack != host.labels().end()) {
      ++per_rack[rack->second].first;
      per_rack[rack->second].second += count;
    }
  }
  absl::StrAppend(&out, "\n", RenderColumns(host_rows));
  if (!per_rack.empty()) {
    std::vector<std::vector<std::string>> rack_rows = {{"RACK", "HOSTS", "INSTANCES"}};
    for (const auto& [rack, counts] : per_rack) {
      rack_rows.push_back({rack, absl::StrCat(counts.first), absl::StrCat(counts.second)});
    }
    absl::StrAppend(&out, "\n", RenderColumns(rack_rows));
  }
  if (!placement.shims().empty()) absl::StrAppend(&out, "\n", FormatShimTable(placement.shims()));
  absl::StrAppend(&out, "\n", placement.instances_size(), " instances on ", per_host.size(), " of ",
                  hosts.size(), " hosts\n");
  return out;
}

std::string FormatPlacementJson(const Placement& placement, const std::string& hosts_file) {
  nlohmann::ordered_json instances = nlohmann::ordered_json::array();
  for (const auto& instance : placement.instances()) {
    instances.push_back({{"name", instance.name()},
                         {"service", instance.service()},
                         {"index", instance.index()},
                         {"host", instance.host()},
                         {"ip", instance.ip()},
                         {"network", instance.network()},
                         {"fqdn", instance.fqdn()}});
  }
  nlohmann::ordered_json doc = {
      {"cluster", placement.cluster()}, {"instances", instances}, {"hosts_file", hosts_file}};
  // Only with host_shim networks: the other placements' output stays as it was.
  if (!placement.shims().empty()) doc["shims"] = ShimsJson(placement.shims());
  return doc.dump(2) + "\n";
}

absl::StatusOr<coordinator::PreviousPlacement> ParsePlacementJson(absl::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) {
    return absl::InvalidArgumentError("not valid JSON");
  }
  if (!doc.is_object() || !doc.contains("instances") || !doc["instances"].is_array()) {
    return absl::InvalidArgumentError(
        "not a placement: expected an object with an \"instances\" list (the output of "
        "`bdcoord place -o json`)");
  }
  coordinator::PreviousPlacement previous;
  for (size_t i = 0; i < doc["instances"].size(); ++i) {
    const nlohmann::json& instance = doc["instances"][i];
    auto field = [&](const char* key) -> std::string {
      return instance.is_object() && instance.contains(key) && instance[key].is_string()
                 ? instance[key].get<std::string>()
                 : "";
    };
    const std::string name = field("name");
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("instance ", i + 1, " has no \"name\" string"));
    }
    if (!field("host").empty()) previous.host_of[name] = field("host");
    if (!field("ip").empty()) previous.ip_of[name] = field("ip");
  }
  // Each host keeps its shim address too; entries without the three strings are ignored.
  if (doc.contains("shims") && doc["shims"].is_array()) {
    for (const nlohmann::json& shim : doc["shims"]) {
      if (!shim.is_object()) continue;
      const auto network = shim.find("network"), host = shim.find("host"),
                 address = shim.find("address");
      if (network == shim.end() || host == shim.end() || address == shim.end() ||
          !network->is_string() || !host->is_string() || !address->is_string()) {
        continue;
      }
      previous.shim_of[network->get<std::string>()][host->get<std::string>()] =
          address->get<std::string>();
    }
  }
  return previous;
}

std::string FormatPlacementFailures(const std::vector<coordinator::PlacementFailure>& failures,
                                    int instances_total) {
  return coordinator::FormatPlacementFailures(failures, instances_total);
}

std::string FormatInstanceConfig(const coordinator::RenderedInstance& instance,
                                 const bdcoord::v1::Service& service) {
  const auto& placed = instance.placed;
  std::string out = absl::StrCat("# ", placed.name(), " (service ", placed.service(), ") on ",
                                 placed.host(), ", ", placed.ip(), " (", placed.fqdn(), ")\n");
  absl::StrAppend(&out, "image: ", service.image(), "\n");
  absl::StrAppend(&out, "user: ", coordinator::EffectiveUser(service), "\n");
  if (!instance.command.empty()) {
    nlohmann::json command = instance.command;
    absl::StrAppend(&out, "command: ", command.dump(), "\n");
  }
  if (!instance.env.empty()) {
    absl::StrAppend(&out, "env:\n");
    for (const auto& env : instance.env) {
      absl::StrAppend(&out, "  ", env.name(), "=", env.value(), "\n");
    }
  }
  for (const auto& volume : instance.volumes) {
    absl::StrAppend(&out, "volume: ", volume.source(), ":", volume.target(),
                    volume.read_only() ? ":ro" : "", "\n");
  }
  for (const auto& file : instance.files) {
    absl::StrAppend(&out, "--- ", file.path(), absl::StrFormat(" (mode %04o", file.mode()),
                    file.on_change().empty() ? "" : absl::StrCat(", on_change ", file.on_change()),
                    ")\n", file.content());
    if (!file.content().empty() && file.content().back() != '\n') out += "\n";
  }
  return out;
}

}  // namespace bdcoord::cli
