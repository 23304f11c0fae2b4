#include "cli/hosts_command.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "cli/coordinator_client.h"
#include "cli/exit_codes.h"
#include "cli/text_table.h"
#include "nlohmann/json.hpp"

namespace bdcoord::cli {
namespace {

std::map<std::string, std::string> SortedLabels(const bdcoord::v1::HostView& host) {
  return {host.facts().labels().begin(), host.facts().labels().end()};
}

std::string Memory(int64_t bytes) {
  if (bytes <= 0) return "-";
  constexpr double kGi = 1024.0 * 1024 * 1024;
  constexpr double kMi = 1024.0 * 1024;
  if (bytes >= kGi) return absl::StrFormat("%.1fGi", bytes / kGi);
  return absl::StrFormat("%.0fMi", bytes / kMi);
}

absl::Time HeartbeatTime(const bdcoord::v1::HostView& host) {
  return absl::FromUnixSeconds(host.last_heartbeat().seconds()) +
         absl::Nanoseconds(host.last_heartbeat().nanos());
}

std::string Ago(absl::Duration age) {
  if (age < absl::ZeroDuration()) age = absl::ZeroDuration();
  const int64_t seconds = absl::ToInt64Seconds(age);
  if (seconds < 120) return absl::StrCat(seconds, "s ago");
  if (seconds < 7200) return absl::StrCat(seconds / 60, "m ago");
  if (seconds < 172800) return absl::StrCat(seconds / 3600, "h ago");
  return absl::StrCat(seconds / 86400, "d ago");
}

}  // namespace

std::string HostsTable(const bdcoord::v1::ListHostsResponse& response, absl::Time now) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATE", "INSTANCES", "LABELS", "CPUS", "MEMORY", "DOCKER", "LAST-HEARTBEAT"}};
  for (const auto& host : response.hosts()) {
    std::vector<std::string> labels;
    for (const auto& [key, value] : SortedLabels(host)) labels.push_back(key + "=" + value);
    std::string state = host.connected() ? "up" : "disconnected";
    if (host.drained()) state += ",drained";
    rows.push_back({host.name(), state, absl::StrCat(host.instances()),
                    labels.empty() ? "-" : absl::StrJoin(labels, ","),
                    host.facts().cpus() ? absl::StrCat(host.facts().cpus()) : "-",
                    Memory(host.facts().memory_bytes()),
                    host.facts().docker_version().empty() ? "-" : host.facts().docker_version(),
                    host.has_last_heartbeat() ? Ago(now - HeartbeatTime(host)) : "-"});
  }
  return RenderColumns(rows);
}

std::string HostsJson(const bdcoord::v1::ListHostsResponse& response) {
  nlohmann::json hosts = nlohmann::json::array();
  for (const auto& host : response.hosts()) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [key, value] : SortedLabels(host)) labels[key] = value;
    hosts.push_back({
        {"name", host.name()},
        {"connected", host.connected()},
        {"drained", host.drained()},
        {"labels", labels},
        {"hostname", host.facts().hostname()},
        {"cpus", host.facts().cpus()},
        {"memory_bytes", host.facts().memory_bytes()},
        {"docker_version", host.facts().docker_version()},
        {"docker_api_version", host.facts().docker_api_version()},
        {"interfaces", std::vector<std::string>(host.facts().interfaces().begin(),
                                                host.facts().interfaces().end())},
        {"last_heartbeat", host.has_last_heartbeat()
                               ? nlohmann::json(absl::FormatTime(
                                     absl::RFC3339_full, HeartbeatTime(host), absl::UTCTimeZone()))
                               : nlohmann::json(nullptr)},
        {"instances", host.instances()},
    });
  }
  return nlohmann::json({{"hosts", hosts}}).dump(2) + "\n";
}

int RunHosts(const HostsOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  bdcoord::v1::ListHostsResponse response;
  const grpc::Status status = coordinator->stub->ListHosts(&context, {}, &response);
  if (!status.ok()) return ReportRpcError(*coordinator, status, err);
  out << (options.output == "json" ? HostsJson(response) : HostsTable(response, options.now()));
  return kExitOk;
}

}  // namespace bdcoord::cli
