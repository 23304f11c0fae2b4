#include "coordinator/placement/scheduler.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "coordinator/placement/filters/filter.h"
#include "coordinator/placement/filters/filters.h"
#include "coordinator/spec/instance_names.h"

namespace bdcoord::coordinator {
namespace {

using ::bdcoord::v1::ClusterSpec;
using ::bdcoord::v1::Host;
using ::bdcoord::v1::PlacementRules;
using ::bdcoord::v1::Service;

// Rank of a host inside one spread group: fewest instances of the service being placed (a soft
// anti-affinity: Drillbits spread evenly over the DataNode hosts), then fewest instances in total,
// then inventory order. Unique per host, so the order is total.
struct HostKey {
  int64_t of_service;
  int64_t total;
  int host;
  friend bool operator>(const HostKey& a, const HostKey& b) {
    if (a.of_service != b.of_service) return a.of_service > b.of_service;
    if (a.total != b.total) return a.total > b.total;
    return a.host > b.host;
  }
};

// Rank of a spread group: fewest instances of the service, then smallest label value (`rank` is
// the position of the value in sorted order). Unique per group.
struct GroupKey {
  int64_t count;
  int rank;
  int group;
  friend bool operator>(const GroupKey& a, const GroupKey& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.rank > b.rank;
  }
};

template <typename T>
void PushHeap(std::vector<T>& heap, T value) {
  heap.push_back(std::move(value));
  std::push_heap(heap.begin(), heap.end(), std::greater<T>());
}

template <typename T>
void PopHeap(std::vector<T>& heap) {
  std::pop_heap(heap.begin(), heap.end(), std::greater<T>());
  heap.pop_back();
}

class Scheduler {
 public:
  explicit Scheduler(const ScheduleInput& input)
      : spec_(*input.spec),
        hosts_(*input.hosts),
        previous_(input.previous),
        avoid_(input.avoid),
        num_hosts_(static_cast<int>(hosts_.size())) {
    state_.hosts = &hosts_;
    state_.total.assign(num_hosts_, 0);
    state_.used_cpus.assign(num_hosts_, 0);
    state_.used_memory.assign(num_hosts_, 0);
    state_.of_service.assign(num_hosts_, 0);
    host_index_.reserve(hosts_.size());
    for (int h = 0; h < num_hosts_; ++h) host_index_.try_emplace(hosts_[h].name(), h);
    for (int s = 0; s < spec_.services_size(); ++s) {
      state_.service_index.try_emplace(spec_.services(s).name(), s);
    }
  }

  ScheduleResult Run() {
    const int num_services = spec_.services_size();
    result_.hosts_by_service.resize(num_services);
    failures_by_service_.resize(num_services);
    state_.running_on.resize(num_services);
    state_.placed.assign(num_services, false);
    for (int s : PlacementOrder()) PlaceService(s);
    for (auto& failures : failures_by_service_) {
      for (auto& failure : failures) result_.failures.push_back(std::move(failure));
    }
    return std::move(result_);
  }

 private:
  // Spec order, except that a service with colocate_with comes after its target: among the
  // services whose target is already placed, the first in spec order goes next. Services caught
  // in a colocate cycle (validation rejects those) come last, in spec order; their colocate_with
  // rule then finds no host running the target and reports it.
  std::vector<int> PlacementOrder() const {
    const int num_services = spec_.services_size();
    std::vector<std::vector<int>> dependents(num_services);
    std::vector<int> waiting(num_services, 0);
    for (int s = 0; s < num_services; ++s) {
      const std::string& target = spec_.services(s).placement().colocate_with();
      if (target.empty()) continue;
      auto it = state_.service_index.find(target);
      // An unknown target: its filter removes every host.
      if (it == state_.service_index.end()) continue;
      dependents[it->second].push_back(s);
      waiting[s] = 1;
    }
    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (int s = 0; s < num_services; ++s) {
      if (waiting[s] == 0) ready.push(s);
    }
    std::vector<int> order;
    std::vector<bool> ordered(num_services, false);
    while (!ready.empty()) {
      const int s = ready.top();
      ready.pop();
      order.push_back(s);
      ordered[s] = true;
      for (int d : dependents[s]) {
        if (--waiting[d] == 0) ready.push(d);
      }
    }
    for (int s = 0; s < num_services; ++s) {
      if (!ordered[s]) order.push_back(s);
    }
    return order;
  }

  // Per-service context while one service is being placed.
  struct Context {
    int service_index = 0;
    const Service* service = nullptr;
    PlacementFilters filters;                // every hard rule, in order
    std::vector<PlacementFilter*> changing;  // the filters that are not Static
    bool recheck = false;                    // a filter AffectsOtherHosts
    int64_t cpus = 0;
    int64_t memory = 0;
  };

  // The filters whose verdict changes while the service is placed. They are monotone: once a host
  // fails them, it fails them until the service is done.
  static bool FitsNow(const Context& ctx, int h) {
    for (const PlacementFilter* filter : ctx.changing) {
      if (!filter->Feasible(h)) return false;
    }
    return true;
  }

  void Place(const Context& ctx, int h, int index) {
    result_.hosts_by_service[ctx.service_index][index] = h;
    ++state_.of_service[h];
    ++state_.total[h];
    if (ctx.cpus > 0) state_.used_cpus[h] += ctx.cpus;
    if (ctx.memory > 0) state_.used_memory[h] += ctx.memory;
    for (PlacementFilter* filter : ctx.changing) filter->Placed(h);
  }

  void PlaceService(int s) {
    Context ctx;
    ctx.service_index = s;
    ctx.service = &spec_.services(s);
    const Service& service = *ctx.service;
    const PlacementRules& placement = service.placement();
    ctx.filters = FiltersFor(service, state_);
    for (const auto& filter : ctx.filters) {
      if (!filter->Static()) ctx.changing.push_back(filter.get());
      if (filter->AffectsOtherHosts()) ctx.recheck = true;
    }
    ctx.cpus = service.resources().millicpus();
    ctx.memory = service.resources().memory_bytes();

    const int count = static_cast<int>(service.count());
    std::vector<int>& out = result_.hosts_by_service[s];
    out.assign(count, -1);

    // Hosts that pass the rules that do not change while this service is placed.
    std::vector<char> eligible(num_hosts_, 1);
    for (const auto& filter : ctx.filters) {
      if (!filter->Static()) continue;
      for (int h = 0; h < num_hosts_; ++h) {
        if (eligible[h] && !filter->Feasible(h)) eligible[h] = 0;
      }
    }

    // Hosts the service leaves (lost hosts it is rescheduled off): neither kept nor chosen.
    if (avoid_ != nullptr) {
      if (auto off = avoid_->find(service.name()); off != avoid_->end()) {
        for (const std::string& name : off->second) {
          if (auto host = host_index_.find(name); host != host_index_.end()) {
            eligible[host->second] = 0;
          }
        }
      }
    }

    // Instances whose previous host still satisfies every hard rule stay there, in index order.
    std::vector<char> kept(count, 0);
    if (previous_ != nullptr && !previous_->empty()) {
      for (int i = 0; i < count; ++i) {
        auto prev = previous_->find(InstanceName(service, static_cast<uint32_t>(i + 1)));
        if (prev == previous_->end()) continue;
        auto host = host_index_.find(prev->second);
        if (host == host_index_.end()) continue;
        const int h = host->second;
        if (!eligible[h] || !FitsNow(ctx, h)) continue;
        Place(ctx, h, i);
        kept[i] = 1;
      }
    }

    // Spread groups: one per value of the spread label among eligible hosts ("" for hosts
    // without it), or a single group without spread.
    std::vector<int> group_of(num_hosts_, 0);
    int num_groups = 1;
    std::vector<int> rank_of_group = {0};
    if (!placement.spread().empty()) {
      absl::flat_hash_map<std::string_view, int> group_by_value;
      std::vector<std::string_view> values;
      for (int h = 0; h < num_hosts_; ++h) {
        if (!eligible[h]) continue;
        const auto& labels = hosts_[h].labels();
        auto label = labels.find(placement.spread());
        const std::string_view value =
            label == labels.end() ? std::string_view() : std::string_view(label->second);
        auto [it, inserted] = group_by_value.try_emplace(value, static_cast<int>(values.size()));
        if (inserted) values.push_back(value);
        group_of[h] = it->second;
      }
      num_groups = static_cast<int>(values.size());
      std::vector<int> by_value(num_groups);
      for (int g = 0; g < num_groups; ++g) by_value[g] = g;
      std::sort(by_value.begin(), by_value.end(),
                [&](int a, int b) { return values[a] < values[b]; });
      rank_of_group.assign(num_groups, 0);
      for (int r = 0; r < num_groups; ++r) rank_of_group[by_value[r]] = r;
    }

    std::vector<int64_t> group_count(num_groups, 0);
    std::vector<std::vector<HostKey>> host_heaps(num_groups);
    for (int h = 0; h < num_hosts_; ++h) {
      if (!eligible[h]) continue;
      group_count[group_of[h]] += state_.of_service[h];
      if (FitsNow(ctx, h)) {
        host_heaps[group_of[h]].push_back({state_.of_service[h], state_.total[h], h});
      }
    }
    std::vector<GroupKey> group_heap;
    for (int g = 0; g < num_groups; ++g) {
      if (host_heaps[g].empty()) continue;
      std::make_heap(host_heaps[g].begin(), host_heaps[g].end(), std::greater<HostKey>());
      group_heap.push_back({group_count[g], rank_of_group[g], g});
    }
    std::make_heap(group_heap.begin(), group_heap.end(), std::greater<GroupKey>());

    // Once no host is left, nothing changes for this service: every later instance fails for the
    // same reasons, explained once.
    bool explained = false;
    PlacementFailure explanation;
    for (int i = 0; i < count; ++i) {
      if (kept[i]) continue;
      // A placement can make other hosts infeasible too (a limit per label value fills every host
      // with that value): drop such candidates when they reach the top, and groups left without
      // candidates.
      while (ctx.recheck && !group_heap.empty()) {
        std::vector<HostKey>& heap = host_heaps[group_heap.front().group];
        while (!heap.empty() && !FitsNow(ctx, heap.front().host)) PopHeap(heap);
        if (!heap.empty()) break;
        PopHeap(group_heap);
      }
      if (group_heap.empty()) {
        if (!explained) {
          explanation = Explain(ctx);
          explained = true;
        }
        PlacementFailure failure = explanation;
        failure.index = static_cast<uint32_t>(i + 1);
        failure.instance = InstanceName(service, failure.index);
        failures_by_service_[s].push_back(std::move(failure));
        continue;
      }
      // Only the chosen host's key and the chosen group's key change: re-key them at the top.
      const int g = group_heap.front().group;
      std::vector<HostKey>& heap = host_heaps[g];
      const int h = heap.front().host;
      PopHeap(heap);
      Place(ctx, h, i);
      if (FitsNow(ctx, h)) PushHeap(heap, HostKey{state_.of_service[h], state_.total[h], h});
      GroupKey key = group_heap.front();
      PopHeap(group_heap);
      if (!heap.empty()) {
        ++key.count;
        PushHeap(group_heap, key);
      }
    }

    // Remember where the service runs (for colocate_with) and reset the per-service counts.
    std::vector<int>& running = state_.running_on[s];
    for (int h = 0; h < num_hosts_; ++h) {
      if (state_.of_service[h] == 0) continue;
      running.push_back(h);
      state_.of_service[h] = 0;
    }
    state_.placed[s] = true;
  }

  // Why no host is left for the service: every filter in order, with how many of the hosts still
  // remaining it removed, and the hint of the filter that removed the last ones. O(hosts x rules).
  PlacementFailure Explain(const Context& ctx) const {
    PlacementFailure failure;
    failure.service = ctx.service->name();
    failure.hosts_total = num_hosts_;
    std::vector<int> remaining(num_hosts_);
    for (int h = 0; h < num_hosts_; ++h) remaining[h] = h;
    const PlacementFilter* last = nullptr;
    std::vector<int> last_candidates;
    for (const auto& filter : ctx.filters) {
      std::vector<int> kept;
      for (int h : remaining) {
        if (filter->Feasible(h)) kept.push_back(h);
      }
      const int removed = static_cast<int>(remaining.size() - kept.size());
      failure.filters.push_back({filter->Name(), removed});
      if (removed > 0 && kept.empty()) {
        last = filter.get();
        last_candidates = std::move(remaining);
      }
      remaining = std::move(kept);
    }
    if (num_hosts_ == 0) {
      failure.hint = "the inventory has no hosts: add hosts";
    } else if (last == nullptr) {
      // Unreachable when the placement loop and the filters agree; say so rather than guess.
      failure.hint = "no host left for this instance";
    } else {
      failure.hint = last->Hint(last_candidates);
    }
    return failure;
  }

  const ClusterSpec& spec_;
  const std::vector<Host>& hosts_;
  const absl::flat_hash_map<std::string, std::string>* previous_;
  const std::map<std::string, std::set<std::string>>* avoid_;
  const int num_hosts_;

  absl::flat_hash_map<std::string_view, int> host_index_;  // name -> first index
  PlacementState state_;                                   // what the filters read

  ScheduleResult result_;
  std::vector<std::vector<PlacementFailure>> failures_by_service_;
};

}  // namespace

ScheduleResult Schedule(const ScheduleInput& input) {
  if (input.spec == nullptr) return {};
  if (input.hosts == nullptr) {
    const std::vector<Host> no_hosts;
    ScheduleInput with_hosts = input;
    with_hosts.hosts = &no_hosts;
    return Scheduler(with_hosts).Run();
  }
  return Scheduler(input).Run();
}

}  // namespace bdcoord::coordinator
