// Scheduler throughput on generated clusters: hosts in racks, 12 services that use every rule kind
// (each constraint op, spread over rack and zone, distinct_hosts, colocate_with, pinned hosts,
// capacity for cpus and memory, hosts with unlimited capacity and hosts that fill up).
//
// Args: hosts, instances. The baseline (1k hosts, 10k instances) sits beside the targets
// (10k hosts: 100k instances under 1 s, 1M instances under 15 s) so ratios read in one run.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/scheduler.h"
#include "tests/testing/placement_builders.h"

namespace bdcoord::coordinator {
namespace {

using ::bdcoord::testing::Cluster;
using ::bdcoord::testing::Labels;
using ::bdcoord::testing::MakeConstraint;
using ::bdcoord::testing::Previous;
using ::bdcoord::v1::Constraint;
using ::bdcoord::v1::Host;
using ::bdcoord::v1::Service;

constexpr int kRacks = 50;
constexpr int64_t kGi = int64_t{1} << 30;

std::string HostName(int i) { return absl::StrFormat("host%05d", i); }

struct Scenario {
  Cluster cluster;
  int64_t instances = 0;
};

void AddConstraint(Service& service, const std::string& label, Constraint::Op op,
                   const std::vector<std::string>& values, const std::string& text) {
  *service.mutable_placement()->add_constraints() = MakeConstraint(label, op, values, text);
}

Scenario Generate(int num_hosts, int64_t num_instances) {
  Scenario scenario;
  const int racks = num_hosts >= kRacks * 20 ? kRacks : 10;
  const int per_rack = (num_hosts + racks - 1) / racks;
  const int64_t per_host = (num_instances + num_hosts - 1) / num_hosts;
  Cluster& cluster = scenario.cluster;
  cluster.hosts().reserve(num_hosts);
  for (int i = 0; i < num_hosts; ++i) {
    const int rack = i / per_rack;
    Labels labels = {{"rack", absl::StrFormat("r%02d", rack)},
                     {"zone", absl::StrCat("z", rack % 3)},
                     {"tier", i % 5 == 0 ? "storage" : "compute"}};
    if (i % 2 == 0) labels["ssd"] = "true";
    if (i % 10 == 3) labels["gpu"] = "a100";
    if (i % 50 == 7) labels["role"] = "edge";
    // One host in 4 has capacity 0 (unlimited); one in 97 is small: full after a few instances,
    // then dropped.
    const bool unlimited = i % 4 == 0;
    const bool small = !unlimited && i % 97 == 1;
    const int64_t cpus = unlimited ? 0 : small ? 1500 : per_host * 2000;
    const int64_t memory = unlimited ? 0 : small ? 3 * kGi : per_host * 4 * kGi;
    Host& host = cluster.AddHost(HostName(i), labels, cpus, memory);
    host.set_address(absl::StrFormat("10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255));
  }

  cluster.spec().set_cluster("bench");
  cluster.spec().set_domain("bench.example");
  auto add = [&](const std::string& name, int64_t count) -> Service& {
    scenario.instances += count;
    return cluster.AddService(name, static_cast<uint32_t>(count));
  };

  // Fixed-size services (distinct_hosts bounds them by the host count).
  const int64_t datanodes = num_hosts * 2 / 5;  // on ssd hosts: half the inventory
  const int64_t fixed = 5 + 2 + datanodes + 3 + num_hosts;
  const int64_t scaled = num_instances - fixed;

  // Colocated first in spec order: placed after its target.
  Service& tm = add("flink-tm", scaled * 15 / 100);
  tm.mutable_placement()->set_colocate_with("hdfs-dn");
  tm.mutable_placement()->set_spread("rack");
  tm.mutable_resources()->set_millicpus(500);
  tm.mutable_resources()->set_memory_bytes(kGi);

  Service& zk = add("zk", 5);
  zk.mutable_placement()->set_spread("rack");
  zk.mutable_placement()->set_distinct_hosts(true);
  AddConstraint(zk, "role", Constraint::OP_NOT_EQUAL, {"edge"}, "role != edge");

  Service& nn = add("hdfs-nn", 2);
  nn.mutable_placement()->set_distinct_hosts(true);
  for (int i = 0; i < 4; ++i) nn.mutable_placement()->add_hosts(HostName(i * per_rack));

  Service& dn = add("hdfs-dn", datanodes);
  dn.mutable_placement()->set_spread("rack");
  dn.mutable_placement()->set_distinct_hosts(true);
  AddConstraint(dn, "ssd", Constraint::OP_EXISTS, {}, "ssd exists");

  Service& jm = add("flink-jm", 3);
  jm.mutable_placement()->set_distinct_hosts(true);
  for (int i = 0; i < 10; ++i) jm.mutable_placement()->add_hosts(HostName(i * 7 + 1));

  Service& kafka = add("kafka", scaled * 15 / 100);
  kafka.mutable_placement()->set_spread("rack");
  AddConstraint(kafka, "ssd", Constraint::OP_EQUAL, {"true"}, "ssd == true");
  kafka.mutable_resources()->set_millicpus(1000);
  kafka.mutable_resources()->set_memory_bytes(2 * kGi);

  Service& drill = add("drill", scaled * 15 / 100);
  AddConstraint(drill, "tier", Constraint::OP_IN, {"compute", "analytics"},
                "tier in (compute,analytics)");

  Service& wildfly = add("wildfly", scaled * 15 / 100);
  AddConstraint(wildfly, "zone", Constraint::OP_NOT_IN, {"z2"}, "zone not in (z2)");
  wildfly.mutable_resources()->set_memory_bytes(kGi / 2);

  Service& cache = add("cache", scaled * 15 / 100);
  AddConstraint(cache, "gpu", Constraint::OP_NOT_EXISTS, {}, "gpu not exists");

  Service& monitor = add("monitor", num_hosts);
  monitor.mutable_placement()->set_distinct_hosts(true);

  Service& batch = add("batch", scaled * 10 / 100);
  batch.mutable_placement()->set_spread("zone");
  AddConstraint(batch, "gpu", Constraint::OP_EXISTS, {}, "gpu exists");
  batch.mutable_resources()->set_millicpus(250);

  // The rest: no rules at all.
  add("web", num_instances - scenario.instances);
  return scenario;
}

int64_t Placed(const ScheduleResult& result) {
  int64_t placed = 0;
  for (const auto& hosts : result.hosts_by_service) {
    for (int h : hosts) placed += h >= 0 ? 1 : 0;
  }
  return placed;
}

// Fails the benchmark when the scenario does not place every instance (it is generated to fit).
bool CheckAllPlaced(benchmark::State& state, const Scenario& scenario,
                    const ScheduleResult& result) {
  if (result.failures.empty() && Placed(result) == scenario.instances) return true;
  const std::string first = result.failures.empty() ? std::string("no failure reported")
                                                    : absl::StrCat(result.failures[0].instance,
                                                                   ": ", result.failures[0].hint);
  state.SkipWithError(
      absl::StrCat(result.failures.size(), " instances not placed, first ", first).c_str());
  return false;
}

void Report(benchmark::State& state, const Scenario& scenario, const ScheduleResult& result) {
  state.SetItemsProcessed(state.iterations() * scenario.instances);
  state.counters["hosts"] = static_cast<double>(scenario.cluster.hosts().size());
  state.counters["instances"] = static_cast<double>(scenario.instances);
  state.counters["placed"] = static_cast<double>(Placed(result));
}

// A first placement: no previous state.
void BM_Schedule(benchmark::State& state) {
  const Scenario scenario = Generate(static_cast<int>(state.range(0)), state.range(1));
  ScheduleResult result;
  for (auto _ : state) {
    result = scenario.cluster.Run();
    benchmark::DoNotOptimize(result.hosts_by_service.data());
    if (!CheckAllPlaced(state, scenario, result)) return;
  }
  Report(state, scenario, result);
}

// A re-plan with every instance's previous host known (the minimal-moves path), after one host in
// 200 left the inventory: most instances stay, the displaced ones are placed again.
void BM_Replan(benchmark::State& state) {
  Scenario scenario = Generate(static_cast<int>(state.range(0)), state.range(1));
  Cluster& cluster = scenario.cluster;
  const ScheduleResult first = cluster.Run();
  if (!CheckAllPlaced(state, scenario, first)) return;
  const Previous previous = cluster.PlacementOf(first);
  // One host in 200 leaves the inventory; monitor (one per host) is lowered to match.
  std::vector<Host> kept;
  for (size_t h = 0; h < cluster.hosts().size(); ++h) {
    if (h % 200 != 199) kept.push_back(cluster.hosts()[h]);
  }
  const int64_t removed = static_cast<int64_t>(cluster.hosts().size() - kept.size());
  cluster.hosts() = std::move(kept);
  for (Service& service : *cluster.spec().mutable_services()) {
    if (service.name() == "monitor") {
      service.set_count(static_cast<uint32_t>(cluster.hosts().size()));
      scenario.instances -= removed;
    }
  }
  ScheduleResult result;
  for (auto _ : state) {
    result = cluster.Run(&previous);
    benchmark::DoNotOptimize(result.hosts_by_service.data());
    if (!CheckAllPlaced(state, scenario, result)) return;
  }
  Report(state, scenario, result);
}

BENCHMARK(BM_Schedule)
    ->ArgNames({"hosts", "instances"})
    ->Args({1'000, 10'000})
    ->Args({10'000, 100'000})
    ->Args({10'000, 1'000'000})
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_Replan)
    ->ArgNames({"hosts", "instances"})
    ->Args({1'000, 10'000})
    ->Args({10'000, 100'000})
    ->Args({10'000, 1'000'000})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bdcoord::coordinator

BENCHMARK_MAIN();
