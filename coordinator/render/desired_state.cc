#include "coordinator/render/desired_state.h"

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "coordinator/spec/instance_names.h"

namespace bdcoord::coordinator {
namespace {

// A lookup that misses /etc/hosts goes to Docker's embedded DNS server, which forwards it to
// the host's servers and never answers when none does; glibc then waits 5 s and asks again, per
// query (README, "dns"). timeout:1 attempts:1 bounds that to 1 s; an ndots option (any N > 0)
// makes the embedded server answer single-label names itself instead of forwarding them.
constexpr const char* kDefaultDnsOptions[] = {"ndots:1", "timeout:1", "attempts:1"};

bdcoord::v1::DesiredInstance MakeDesiredInstance(const bdcoord::v1::ClusterSpec& spec,
                                                 const bdcoord::v1::Service& service,
                                                 const bdcoord::v1::Dns& dns,
                                                 const RenderedInstance& rendered) {
  bdcoord::v1::DesiredInstance desired;
  desired.set_cluster(spec.cluster());
  desired.set_service(service.name());
  desired.set_name(rendered.placed.name());
  desired.set_index(rendered.placed.index());
  desired.set_domain(spec.domain());
  desired.set_image(service.image());
  for (const auto& arg : rendered.command) desired.add_command(arg);
  for (const auto& env : rendered.env) *desired.add_env() = env;
  for (const auto& file : rendered.files) *desired.add_files() = file;
  for (const auto& volume : rendered.volumes) *desired.add_volumes() = volume;
  desired.set_user(EffectiveUser(service));
  if (service.has_resources()) *desired.mutable_resources() = service.resources();
  if (service.has_restart()) *desired.mutable_restart() = service.restart();
  if (service.has_stop_timeout()) *desired.mutable_stop_timeout() = service.stop_timeout();
  desired.set_run_once(service.run_once());
  if (service.has_ready()) *desired.mutable_ready() = service.ready();
  desired.set_network(rendered.placed.network());
  desired.set_ip(rendered.placed.ip());
  *desired.mutable_dns() = dns;
  if (service.has_reschedule()) {
    const absl::Duration fence =
        FenceAfter(absl::Seconds(service.reschedule().after().seconds()) +
                   absl::Nanoseconds(service.reschedule().after().nanos()));
    desired.mutable_fence_after()->set_seconds(absl::ToInt64Seconds(fence));
    desired.mutable_fence_after()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(fence % absl::Seconds(1))));
  }
  // spec_hash stays empty: the agent hashes the instance itself (agent::SpecHash, stable across
  // builds), so both sides always agree on what "changed" means.
  return desired;
}

}  // namespace

absl::Duration FenceAfter(absl::Duration after) { return after / 2; }

bdcoord::v1::Dns ContainerDns(const bdcoord::v1::ClusterSpec& spec) {
  bdcoord::v1::Dns dns = spec.dns();
  // No search domain by default: /etc/hosts lists every member by FQDN and short name, and a
  // search domain costs DNS round trips on every lookup (getaddrinfo of a listed name 1.1 s
  // instead of 0.08 s on the testbed, where the upstream servers do not answer).
  if (!dns.has_search()) dns.mutable_search();
  if (!dns.has_options()) {
    for (const char* option : kDefaultDnsOptions) dns.mutable_options()->add_values(option);
  }
  return dns;
}

std::map<std::string, bdcoord::v1::DesiredInstance> DesiredInstances(
    const bdcoord::v1::ClusterSpec& spec, const Plan& plan) {
  std::map<std::string, bdcoord::v1::DesiredInstance> instances;
  const bdcoord::v1::Dns dns = ContainerDns(spec);
  for (const RenderedInstance& rendered : plan.instances) {
    const bdcoord::v1::Service* service = FindService(spec, rendered.placed.service());
    if (service == nullptr) continue;
    instances[rendered.placed.name()] = MakeDesiredInstance(spec, *service, dns, rendered);
  }
  return instances;
}

std::map<std::string, HostShare> SharesByHost(const bdcoord::v1::ClusterSpec& spec,
                                              const Plan& plan) {
  std::map<std::string, HostShare> shares;
  for (size_t i = 0; i < plan.instances.size(); ++i) {
    shares[plan.instances[i].placed.host()].instances.push_back(i);
  }
  for (int i = 0; i < plan.placement.shims_size(); ++i) {
    shares[plan.placement.shims(i).host()].shims.push_back(i);
  }
  // The last of a name, as a scan would find it (names are unique in a valid spec).
  for (int i = 0; i < spec.hosts_size(); ++i) shares[spec.hosts(i).name()].spec_host = i;
  return shares;
}

bdcoord::v1::DesiredState MakeDesiredState(const bdcoord::v1::ClusterSpec& spec, const Plan& plan,
                                           const HostShare& share,
                                           const InstanceOverrides& overrides) {
  bdcoord::v1::DesiredState state;
  state.set_cluster(spec.cluster());
  const bdcoord::v1::Host* spec_host = share.spec_host < 0 ? nullptr : &spec.hosts(share.spec_host);
  for (const auto& network : spec.networks()) {
    bdcoord::v1::Network* out = state.add_networks();
    *out = network;
    if (spec_host != nullptr) {
      if (auto it = spec_host->parents().find(network.name()); it != spec_host->parents().end()) {
        out->set_parent(it->second);
      }
    }
  }
  for (const int i : share.shims) {
    const bdcoord::v1::ShimAddress& shim = plan.placement.shims(i);
    (*state.mutable_shim_addresses())[shim.network()] = absl::StrCat(shim.address(), "/32");
  }
  const bdcoord::v1::Dns dns = ContainerDns(spec);
  for (const size_t i : share.instances) {
    const RenderedInstance& rendered = plan.instances[i];
    const bdcoord::v1::Service* service = FindService(spec, rendered.placed.service());
    if (service == nullptr) continue;
    const std::string& name = rendered.placed.name();
    bdcoord::v1::DesiredInstance* instance = state.add_instances();
    auto pinned = overrides.pinned.find(name);
    *instance = pinned != overrides.pinned.end()
                    ? pinned->second
                    : MakeDesiredInstance(spec, *service, dns, rendered);
    // Run-once: kept for its logs, never run again.
    instance->set_completed(overrides.completed.contains(name));
    instance->set_hold(overrides.held.contains(name));
  }
  return state;
}

const HostShare& ShareOf(const std::map<std::string, HostShare>& shares, const std::string& host) {
  static const HostShare kNothing;
  const auto found = shares.find(host);
  return found == shares.end() ? kNothing : found->second;
}

size_t OverridesHash(const Plan& plan, const HostShare& share, const InstanceOverrides& overrides) {
  std::string read;  // a digit per instance, each pinned spec after its own, length first
  read.reserve(share.instances.size());
  for (const size_t i : share.instances) {
    const std::string& name = plan.instances[i].placed.name();
    const auto pinned = overrides.pinned.find(name);
    read.push_back(static_cast<char>('0' + overrides.held.contains(name) +
                                     2 * overrides.completed.contains(name) +
                                     4 * (pinned != overrides.pinned.end())));
    if (pinned == overrides.pinned.end()) continue;
    const std::string spec = pinned->second.SerializeAsString();
    absl::StrAppend(&read, spec.size(), ":", spec);
  }
  return absl::HashOf(read);
}

bdcoord::v1::DesiredState MakeDesiredState(const bdcoord::v1::ClusterSpec& spec, const Plan& plan,
                                           const std::string& host,
                                           const InstanceOverrides& overrides) {
  return MakeDesiredState(spec, plan, ShareOf(SharesByHost(spec, plan), host), overrides);
}

}  // namespace bdcoord::coordinator
