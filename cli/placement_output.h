#ifndef BDCOORD_CLI_PLACEMENT_OUTPUT_H_
#define BDCOORD_CLI_PLACEMENT_OUTPUT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/scheduler.h"
#include "coordinator/plan/planner.h"

namespace bdcoord::cli {

// The placement as a table (instance, service, host, labels, IP), then a summary per host,
// per rack when hosts carry a `rack` label, and each host's shim address on host_shim networks.
std::string FormatPlacementTable(const std::vector<bdcoord::v1::Host>& hosts,
                                 const bdcoord::v1::Placement& placement);

using ShimAddresses = google::protobuf::RepeatedPtrField<bdcoord::v1::ShimAddress>;

// Each host's shim address per host_shim network as a NETWORK, HOST, HOST SHIM table; empty when
// there are none. `bdcoord place` and `bdcoord status` print it under their tables.
std::string FormatShimTable(const ShimAddresses& shims);

// The same as `[{"network","host","address"}…]`.
nlohmann::ordered_json ShimsJson(const ShimAddresses& shims);

// `{"cluster":…,"instances":[{"name","service","index","host","ip","network","fqdn"}…],
// "hosts_file":"…"}`, and `"shims":[{"network","host","address"}…]` when a network has
// host_shim: stable field names that other tools read.
std::string FormatPlacementJson(const bdcoord::v1::Placement& placement,
                                const std::string& hosts_file);

// Reads the JSON above back (for `--previous`); unknown fields are ignored.
absl::StatusOr<coordinator::PreviousPlacement> ParsePlacementJson(absl::string_view text);

// Why instances could not be placed: per instance, what each rule filtered and what would fix it.
std::string FormatPlacementFailures(const std::vector<coordinator::PlacementFailure>& failures,
                                    int instances_total);

// The rendered command, env, files and volumes of one instance (`--show-config`).
std::string FormatInstanceConfig(const coordinator::RenderedInstance& instance,
                                 const bdcoord::v1::Service& service);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_PLACEMENT_OUTPUT_H_
