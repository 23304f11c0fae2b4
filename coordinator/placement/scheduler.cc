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
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/spec/instance_names.h"

namespace bdcoord::coordinator {
namespace {

using ::bdcoord::v1::ClusterSpec;
using ::bdcoord::v1::Constraint;
using ::bdcoord::v1::Host;
using ::bdcoord::v1::PlacementRules;
using ::bdcoord::v1::Service;

// The constraint as the user wrote it; rebuilt from the parsed fields when `text` is empty.
std::string ConstraintText(const Constraint& constraint) {
  if (!constraint.text().empty()) return constraint.text();
  const std::string& label = constraint.label();
  const std::string first = constraint.values().empty() ? "" : constraint.values(0);
  const std::string list = absl::StrJoin(constraint.values(), ",");
  switch (constraint.op()) {
    case Constraint::OP_EQUAL:
      return absl::StrCat(label, " == ", first);
    case Constraint::OP_NOT_EQUAL:
      return absl::StrCat(label, " != ", first);
    case Constraint::OP_IN:
      return absl::StrCat(label, " in (", list, ")");
    case Constraint::OP_NOT_IN:
      return absl::StrCat(label, " not in (", list, ")");
    case Constraint::OP_EXISTS:
      return absl::StrCat(label, " exists");
    case Constraint::OP_NOT_EXISTS:
      return absl::StrCat(label, " not exists");
    default:
      return absl::StrCat(label, " ?");
  }
}

enum class RuleKind { kPinned, kConstraint, kColocate, kDistinct, kCpus, kMemory };

// One hard rule that applies to a service, in the order rules are applied.
struct Rule {
  RuleKind kind;
  int constraint = -1;  // index into placement.constraints, for kConstraint
  std::string name;     // as reported in RuleFilter::rule
};

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
        num_hosts_(static_cast<int>(hosts_.size())),
        total_(num_hosts_, 0),
        used_cpus_(num_hosts_, 0),
        used_memory_(num_hosts_, 0),
        of_service_(num_hosts_, 0) {
    host_index_.reserve(hosts_.size());
    capacity_cpus_.reserve(hosts_.size());
    capacity_memory_.reserve(hosts_.size());
    for (int h = 0; h < num_hosts_; ++h) {
      host_index_.try_emplace(hosts_[h].name(), h);
      capacity_cpus_.push_back(hosts_[h].capacity().millicpus());
      capacity_memory_.push_back(hosts_[h].capacity().memory_bytes());
    }
    for (int s = 0; s < spec_.services_size(); ++s) {
      service_index_.try_emplace(spec_.services(s).name(), s);
    }
  }

  ScheduleResult Run() {
    const int num_services = spec_.services_size();
    result_.hosts_by_service.resize(num_services);
    failures_by_service_.resize(num_services);
    running_on_.resize(num_services);
    placed_.assign(num_services, false);
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
      auto it = service_index_.find(target);
      if (it == service_index_.end()) continue;  // unknown target: the rule removes every host
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

  // The hard rules that apply to `service`, in the order they filter.
  static std::vector<Rule> RulesOf(const Service& service) {
    const PlacementRules& placement = service.placement();
    std::vector<Rule> rules;
    if (!placement.hosts().empty()) {
      rules.push_back(
          {RuleKind::kPinned, -1,
           absl::StrCat("pinned hosts [", absl::StrJoin(placement.hosts(), ", "), "]")});
    }
    for (int c = 0; c < placement.constraints_size(); ++c) {
      rules.push_back(
          {RuleKind::kConstraint, c,
           absl::StrCat("constraint `", ConstraintText(placement.constraints(c)), "`")});
    }
    if (!placement.colocate_with().empty()) {
      rules.push_back(
          {RuleKind::kColocate, -1, absl::StrCat("colocate_with ", placement.colocate_with())});
    }
    if (placement.distinct_hosts()) rules.push_back({RuleKind::kDistinct, -1, "distinct_hosts"});
    // A capacity rule applies only to a service that asks for that resource: asking for none
    // always fits.
    if (service.resources().millicpus() > 0) {
      rules.push_back({RuleKind::kCpus, -1, "capacity (cpus)"});
    }
    if (service.resources().memory_bytes() > 0) {
      rules.push_back({RuleKind::kMemory, -1, "capacity (memory)"});
    }
    return rules;
  }

  static bool Fits(int64_t used, int64_t request, int64_t capacity) {
    return request <= 0 || capacity <= 0 || used + request <= capacity;
  }

  // Per-service context while one service is being placed.
  struct Context {
    int service_index = 0;
    const Service* service = nullptr;
    std::vector<Rule> rules;
    absl::flat_hash_set<std::string_view> pinned;
    std::vector<char> colocated;  // per host: runs an instance of the colocate_with target
    bool distinct = false;
    int64_t cpus = 0;
    int64_t memory = 0;
  };

  bool Passes(const Context& ctx, const Rule& rule, int h) const {
    const Host& host = hosts_[h];
    switch (rule.kind) {
      case RuleKind::kPinned:
        return ctx.pinned.contains(host.name());
      case RuleKind::kConstraint:
        return ConstraintHolds(ctx.service->placement().constraints(rule.constraint), host);
      case RuleKind::kColocate:
        return ctx.colocated[h] != 0;
      case RuleKind::kDistinct:
        return of_service_[h] == 0;
      case RuleKind::kCpus:
        return Fits(used_cpus_[h], ctx.cpus, capacity_cpus_[h]);
      case RuleKind::kMemory:
        return Fits(used_memory_[h], ctx.memory, capacity_memory_[h]);
    }
    return false;
  }

  static bool IsStatic(RuleKind kind) {
    return kind == RuleKind::kPinned || kind == RuleKind::kConstraint ||
           kind == RuleKind::kColocate;
  }

  // The rules that change while the service is placed (distinct_hosts, capacity). They are
  // monotone: once a host fails them, it fails them until the service is done.
  bool FitsNow(const Context& ctx, int h) const {
    return (!ctx.distinct || of_service_[h] == 0) &&
           Fits(used_cpus_[h], ctx.cpus, capacity_cpus_[h]) &&
           Fits(used_memory_[h], ctx.memory, capacity_memory_[h]);
  }

  void Place(const Context& ctx, int h, int index) {
    result_.hosts_by_service[ctx.service_index][index] = h;
    ++of_service_[h];
    ++total_[h];
    if (ctx.cpus > 0) used_cpus_[h] += ctx.cpus;
    if (ctx.memory > 0) used_memory_[h] += ctx.memory;
  }

  void PlaceService(int s) {
    Context ctx;
    ctx.service_index = s;
    ctx.service = &spec_.services(s);
    const Service& service = *ctx.service;
    const PlacementRules& placement = service.placement();
    ctx.rules = RulesOf(service);
    for (const std::string& name : placement.hosts()) ctx.pinned.insert(name);
    if (!placement.colocate_with().empty()) {
      ctx.colocated.assign(num_hosts_, 0);
      auto it = service_index_.find(placement.colocate_with());
      if (it != service_index_.end() && placed_[it->second]) {
        for (int h : running_on_[it->second]) ctx.colocated[h] = 1;
      }
    }
    ctx.distinct = placement.distinct_hosts();
    ctx.cpus = service.resources().millicpus();
    ctx.memory = service.resources().memory_bytes();

    const int count = static_cast<int>(service.count());
    std::vector<int>& out = result_.hosts_by_service[s];
    out.assign(count, -1);

    // Hosts that pass the rules that do not change while this service is placed.
    std::vector<char> eligible(num_hosts_, 1);
    for (const Rule& rule : ctx.rules) {
      if (!IsStatic(rule.kind)) continue;
      for (int h = 0; h < num_hosts_; ++h) {
        if (eligible[h] && !Passes(ctx, rule, h)) eligible[h] = 0;
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
      group_count[group_of[h]] += of_service_[h];
      if (FitsNow(ctx, h)) host_heaps[group_of[h]].push_back({of_service_[h], total_[h], h});
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
      if (FitsNow(ctx, h)) PushHeap(heap, HostKey{of_service_[h], total_[h], h});
      GroupKey key = group_heap.front();
      PopHeap(group_heap);
      if (!heap.empty()) {
        ++key.count;
        PushHeap(group_heap, key);
      }
    }

    // Remember where the service runs (for colocate_with) and reset the per-service counts.
    std::vector<int>& running = running_on_[s];
    for (int h = 0; h < num_hosts_; ++h) {
      if (of_service_[h] == 0) continue;
      running.push_back(h);
      of_service_[h] = 0;
    }
    placed_[s] = true;
  }

  // Why no host is left for the service: every rule in order, with how many of the hosts still
  // remaining it removed, and a hint from the rule that removed the last ones. O(hosts x rules).
  PlacementFailure Explain(const Context& ctx) const {
    const Service& service = *ctx.service;
    PlacementFailure failure;
    failure.service = service.name();
    failure.hosts_total = num_hosts_;
    std::vector<int> remaining(num_hosts_);
    for (int h = 0; h < num_hosts_; ++h) remaining[h] = h;
    const Rule* last = nullptr;
    int64_t remaining_before_last = 0;
    for (const Rule& rule : ctx.rules) {
      const int64_t before = static_cast<int64_t>(remaining.size());
      std::erase_if(remaining, [&](int h) { return !Passes(ctx, rule, h); });
      const int removed = static_cast<int>(before - static_cast<int64_t>(remaining.size()));
      failure.filters.push_back({rule.name, removed});
      if (removed > 0 && remaining.empty()) {
        last = &rule;
        remaining_before_last = before;
      }
    }
    if (num_hosts_ == 0) {
      failure.hint = "the inventory has no hosts: add hosts";
    } else if (last == nullptr) {
      // Unreachable when the placement loop and the rules agree; say so rather than guess.
      failure.hint = "no host left for this instance";
    } else {
      switch (last->kind) {
        case RuleKind::kPinned:
          failure.hint = "pin more hosts or lower count";
          break;
        case RuleKind::kConstraint:
          failure.hint =
              absl::StrCat("add a host whose labels satisfy `",
                           ConstraintText(service.placement().constraints(last->constraint)),
                           "` or relax the constraint");
          break;
        case RuleKind::kColocate:
          failure.hint = absl::StrCat("place more ", service.placement().colocate_with(),
                                      " instances or drop colocate_with");
          break;
        case RuleKind::kDistinct:
          failure.hint = absl::StrCat(
              "distinct_hosts needs ", service.count(), " eligible hosts for ", service.count(),
              " instances: add hosts or lower count to ", remaining_before_last);
          break;
        case RuleKind::kCpus:
          failure.hint = "add hosts with more cpus or lower resources.cpus";
          break;
        case RuleKind::kMemory:
          failure.hint = "add hosts with more memory or lower resources.memory";
          break;
      }
    }
    return failure;
  }

  const ClusterSpec& spec_;
  const std::vector<Host>& hosts_;
  const absl::flat_hash_map<std::string, std::string>* previous_;
  const int num_hosts_;

  absl::flat_hash_map<std::string_view, int> host_index_;     // name -> first index
  absl::flat_hash_map<std::string_view, int> service_index_;  // name -> first index

  std::vector<int64_t> capacity_cpus_;    // per host: millicpus, 0 = unlimited
  std::vector<int64_t> capacity_memory_;  // per host: bytes, 0 = unlimited
  std::vector<int64_t> total_;            // per host: instances of every service
  std::vector<int64_t> used_cpus_;        // per host: millicpus of placed instances
  std::vector<int64_t> used_memory_;      // per host: bytes of placed instances
  std::vector<int64_t> of_service_;       // per host: instances of the service being placed

  std::vector<std::vector<int>> running_on_;  // per service: hosts it runs on, ascending
  std::vector<bool> placed_;                  // per service: already placed

  ScheduleResult result_;
  std::vector<std::vector<PlacementFailure>> failures_by_service_;
};

}  // namespace

bool ConstraintHolds(const Constraint& constraint, const Host& host) {
  const auto& labels = host.labels();
  auto it = labels.find(constraint.label());
  const bool present = it != labels.end();
  auto listed = [&]() {
    return present && std::find(constraint.values().begin(), constraint.values().end(),
                                it->second) != constraint.values().end();
  };
  switch (constraint.op()) {
    case Constraint::OP_EQUAL:
    case Constraint::OP_IN:
      return listed();
    case Constraint::OP_NOT_EQUAL:
    case Constraint::OP_NOT_IN:
      return !listed();
    case Constraint::OP_EXISTS:
      return present;
    case Constraint::OP_NOT_EXISTS:
      return !present;
    default:
      return false;  // an unknown operator never holds: a hard rule fails closed
  }
}

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
