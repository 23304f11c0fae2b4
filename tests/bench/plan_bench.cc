// The whole of `bdcoord place` minus printing: YAML text -> spec with positions -> validation ->
// IP allocation -> template check -> placement -> hosts file, on generated clusters (hosts in 50
// racks, a dozen services using every rule kind). After the runs it prints how time grows from
// the 10k-instance baseline, measured in the same run: near-linear is x10 per step.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/plan/planner.h"
#include "coordinator/spec/spec_loader.h"

namespace bdcoord::coordinator {
namespace {

std::string GenerateSpec(int hosts, int instances) {
  std::string yaml = "cluster: bench\ndomain: bench.lan\nhosts:\n";
  for (int i = 0; i < hosts; ++i) {
    absl::StrAppendFormat(&yaml,
                          "  - {name: host%05d, labels: {rack: r%02d%s}, capacity: {cpus: 64, "
                          "memory: 512Gi}}\n",
                          i, i % 50, i % 3 == 0 ? ", ssd: \"true\"" : "");
  }
  yaml +=
      "networks:\n  lan: {driver: macvlan, parent: eth0, subnet: 10.0.0.0/8, "
      "gateway: 10.0.0.1}\nservices:\n";
  // Twelve services. Those with distinct_hosts scale with the hosts, the rest share the remaining
  // instances, so every size places completely.
  const int zk = 5, kafka = hosts / 10, datanode = hosts / 5, namenode = 1, pinned = 4;
  const int rest = instances - zk - kafka - datanode - namenode - pinned;
  const int unit = rest / 100;
  const int batch = rest - 99 * unit;  // absorbs the rounding
  const struct {
    const char* name;
    int count;
    const char* placement;
  } services[] = {
      {"zk", zk, "{spread: rack, distinct_hosts: true}"},
      {"kafka", kafka, "{spread: rack, distinct_hosts: true, constraints: [\"ssd exists\"]}"},
      {"namenode", namenode, "{constraints: [\"rack == r01\"]}"},
      {"datanode", datanode, "{distinct_hosts: true, spread: rack}"},
      {"drill", 10 * unit, "{colocate_with: datanode}"},
      {"jobmanager", 1 * unit, "{constraints: [\"rack in (r01, r02, r03)\"], spread: rack}"},
      {"taskmanager", 20 * unit, "{constraints: [\"rack not in (r49)\"]}"},
      {"web", 25 * unit, "{constraints: [\"rack != r00\"]}"},
      {"cache", 20 * unit, "{constraints: [\"gpu not exists\"]}"},
      {"batch", batch, "{}"},
      {"pinned", pinned, "{hosts: [host00001, host00002, host00003, host00004]}"},
      {"edge", 23 * unit, "{spread: rack}"},
  };
  for (const auto& s : services) {
    absl::StrAppendFormat(&yaml,
                          "  %s:\n    image: img\n    count: %d\n    resources: {cpus: 100m, "
                          "memory: 64Mi}\n    placement: %s\n    env: {ID: \"{{name}}\"}\n",
                          s.name, s.count, s.placement);
  }
  return yaml;
}

void BM_Place(benchmark::State& state) {
  const int hosts = static_cast<int>(state.range(0));
  const int instances = static_cast<int>(state.range(1));
  const std::string yaml = GenerateSpec(hosts, instances);
  PlanOptions options;
  options.render = false;
  int placed = 0;
  for (auto _ : state) {
    const LoadedSpec loaded = LoadSpec(yaml);
    const Plan plan = MakePlan(loaded, options);
    if (!plan.diagnostics.empty() || !plan.failures.empty()) {
      state.SkipWithError("the generated cluster did not place");
      return;
    }
    placed = plan.placement.instances_size();
    benchmark::DoNotOptimize(plan.hosts_file.data());
  }
  state.SetItemsProcessed(state.iterations() * placed);
  state.counters["instances"] = placed;
}
BENCHMARK(BM_Place)
    ->ArgNames({"hosts", "instances"})
    ->Args({1000, 10000})
    ->Args({10000, 100000})
    ->Args({10000, 1000000})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// Console output plus a growth summary against the first (baseline) run.
class GrowthReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred || run.iterations == 0) continue;
      const double ms = run.GetAdjustedRealTime();
      seconds_[run.benchmark_name()] = ms;
      order_.push_back(run.benchmark_name());
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    if (order_.empty()) return;
    const double base = seconds_[order_.front()];
    std::printf("\ngrowth against %s:\n", order_.front().c_str());
    for (const auto& name : order_) {
      std::printf("  %-45s %10.1f ms  x%.1f\n", name.c_str(), seconds_[name],
                  seconds_[name] / base);
    }
  }

 private:
  std::map<std::string, double> seconds_;
  std::vector<std::string> order_;
};

}  // namespace
}  // namespace bdcoord::coordinator

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bdcoord::coordinator::GrowthReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
