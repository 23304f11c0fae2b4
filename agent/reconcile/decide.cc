#include "agent/reconcile/decide.h"

#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "agent/docker/labels.h"

namespace bdcoord::agent {

std::string SpecHash(const bdcoord::v1::DesiredInstance& instance) {
  bdcoord::v1::DesiredInstance copy = instance;
  copy.clear_spec_hash();
  copy.clear_completed();
  std::string bytes;
  copy.SerializeToString(&bytes);
  // FNV-1a: stable across processes and releases, unlike std::hash or absl::Hash.
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", hash);
}

namespace {

std::string LabelOf(const ContainerInfo& container, const std::string& key) {
  auto label = container.labels.find(key);
  return label == container.labels.end() ? "" : label->second;
}

InstanceDecision DecideInstance(const bdcoord::v1::DesiredInstance& instance,
                                const std::vector<ContainerInfo>& managed) {
  InstanceDecision decision;
  decision.spec_hash = instance.spec_hash().empty() ? SpecHash(instance) : instance.spec_hash();
  for (const ContainerInfo& container : managed) {
    if (LabelOf(container, kInstanceLabel) == instance.name()) decision.existing = container;
  }
  if (instance.completed()) {
    decision.action = InstanceAction::kReportCompleted;
  } else if (!decision.existing) {
    decision.action = InstanceAction::kCreate;
  } else if (LabelOf(*decision.existing, kSpecHashLabel) != decision.spec_hash) {
    decision.action = InstanceAction::kReplace;
  } else {
    decision.action =
        decision.existing->state == "created" ? InstanceAction::kStart : InstanceAction::kKeep;
  }
  return decision;
}

}  // namespace

Decision Decide(const bdcoord::v1::DesiredState& desired,
                const std::vector<ContainerInfo>& managed) {
  Decision decision;
  absl::flat_hash_set<std::string> wanted;
  for (const auto& instance : desired.instances()) {
    decision.instances.push_back(DecideInstance(instance, managed));
    wanted.insert(instance.name());
  }
  for (const ContainerInfo& container : managed) {
    auto label = container.labels.find(kInstanceLabel);
    if (label != container.labels.end() && !wanted.contains(label->second)) {
      decision.remove.push_back(container);
    }
  }
  return decision;
}

}  // namespace bdcoord::agent
