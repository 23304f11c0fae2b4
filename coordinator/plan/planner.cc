#include "coordinator/plan/planner.h"

#include "absl/strings/str_cat.h"
#include "coordinator/plan/network_pool.h"
#include "coordinator/spec/instance_names.h"
#include "coordinator/spec/validation.h"
#include "net/hosts_file.h"
#include "net/ipam.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::ClusterSpec;
using bdcoord::v1::Host;
using bdcoord::v1::Network;
using bdcoord::v1::Service;

const Network* NetworkOf(const ClusterSpec& spec, const Service& service) {
  for (const Network& network : spec.networks()) {
    if (service.network().empty() || network.name() == service.network()) return &network;
  }
  return nullptr;
}

// ips[s][i]: the address of instance i+1 of service s. Exhaustion becomes a diagnostic at the
// network, with the numbers.
std::vector<std::vector<net::Ipv4>> AllocateIps(
    const LoadedSpec& loaded, const PreviousPlacement* previous,
    const absl::flat_hash_map<std::string, std::string>* taken_ips,
    std::vector<Diagnostic>* diagnostics) {
  const ClusterSpec& spec = loaded.spec;
  std::vector<std::vector<net::Ipv4>> ips(spec.services_size());
  for (const Network& network : spec.networks()) {
    // Validation has parsed every address already, so value() below cannot fail.
    const net::Cidr subnet = *net::Cidr::Parse(network.subnet());
    const net::Cidr range =
        network.ip_range().empty() ? subnet : *net::Cidr::Parse(network.ip_range());
    // Docker's IPAM takes the first free address of the range for a gateway.
    net::AddressPool pool =
        NetworkPool(network, subnet, range,
                    range == subnet ? net::Ipv4(subnet.network().value() + 1) : range.network());
    // shim_range is kept out of the containers' addresses: out of the pool without an ip_range,
    // and with one (which validation keeps apart from it) out of the addresses a container kept
    // from an earlier plan, made when the ranges were other. Validation bounds its size.
    if (network.host_shim()) {
      if (auto shims = net::Cidr::Parse(network.shim_range()); shims.ok()) {
        for (uint64_t i = 0; i < shims->size(); ++i) {
          pool.reserved.push_back(net::Ipv4(static_cast<uint32_t>(shims->network().value() + i)));
        }
      }
    }
    if (taken_ips != nullptr) {
      bool clash = false;
      for (const Service& service : spec.services()) {
        if (NetworkOf(spec, service) != &network) continue;
        for (int i = 0; i < service.ips_size(); ++i) {
          auto holder = taken_ips->find(service.ips(i));
          if (holder == taken_ips->end()) continue;
          clash = true;
          diagnostics->push_back(
              {loaded.positions.Find(absl::StrCat("services.", service.name(), ".ips.", i)),
               absl::StrCat("pinned IP ", service.ips(i), " of service '", service.name(),
                            "' is held by ", holder->second),
               "pin another address, or take the other cluster down first"});
        }
      }
      if (clash) continue;
      for (const auto& [text, holder] : *taken_ips) {
        if (auto ip = net::Ipv4::Parse(text); ip.ok() && pool.subnet.Contains(*ip)) {
          pool.reserved.push_back(*ip);
        }
      }
    }

    std::vector<net::AddressRequest> requests;
    std::vector<int> owners;  // service index of each request
    for (int s = 0; s < spec.services_size(); ++s) {
      const Service& service = spec.services(s);
      if (NetworkOf(spec, service) != &network) continue;
      for (uint64_t index = 1; index <= service.count(); ++index) {
        net::AddressRequest request;
        if (service.ips_size() > 0) request.pinned = *net::Ipv4::Parse(service.ips(index - 1));
        if (previous != nullptr) {
          if (auto it = previous->ip_of.find(InstanceName(service, index));
              it != previous->ip_of.end()) {
            if (auto ip = net::Ipv4::Parse(it->second); ip.ok()) request.previous = *ip;
          }
        }
        requests.push_back(request);
        owners.push_back(s);
      }
    }
    auto allocated = net::AllocateAddresses(pool, requests);
    if (!allocated.ok()) {
      diagnostics->push_back(
          {loaded.positions.Find(absl::StrCat("networks.", network.name())),
           absl::StrCat("network '", network.name(), "' ", allocated.status().message()),
           "widen ip_range or the subnet, or lower the counts"});
      continue;
    }
    for (size_t r = 0; r < owners.size(); ++r) ips[owners[r]].push_back((*allocated)[r]);
  }
  return ips;
}

bdcoord::v1::Placement BuildPlacement(const ClusterSpec& spec,
                                      const std::vector<std::vector<net::Ipv4>>& ips,
                                      const std::vector<Host>& hosts,
                                      const std::vector<std::vector<int>>* hosts_by_service) {
  bdcoord::v1::Placement placement;
  placement.set_cluster(spec.cluster());
  for (int s = 0; s < spec.services_size(); ++s) {
    const Service& service = spec.services(s);
    const Network* network = NetworkOf(spec, service);
    for (uint64_t index = 1; index <= service.count(); ++index) {
      auto* instance = placement.add_instances();
      instance->set_name(InstanceName(service, index));
      instance->set_service(service.name());
      instance->set_index(index);
      if (hosts_by_service != nullptr) {
        const int host = (*hosts_by_service)[s][index - 1];
        if (host >= 0) instance->set_host(hosts[host].name());
      }
      if (index - 1 < ips[s].size()) instance->set_ip(ips[s][index - 1].ToString());
      if (network != nullptr) instance->set_network(network->name());
      instance->set_fqdn(InstanceFqdn(instance->name(), spec.domain()));
    }
  }
  return placement;
}

}  // namespace

// Where this spec's networks disagree with those other clusters already use on the LAN.
std::vector<Diagnostic> CheckSharedNetworks(
    const LoadedSpec& loaded,
    const std::map<std::string, std::vector<bdcoord::v1::Network>>& others) {
  std::vector<Diagnostic> diagnostics;
  auto describe = [](const Network& n) {
    return absl::StrCat("driver ", bdcoord::v1::NetworkDriver_Name(n.driver()), ", parent ",
                        n.parent().empty() ? "-" : n.parent(), ", subnet ", n.subnet(),
                        ", gateway ", n.gateway().empty() ? "-" : n.gateway(), ", ip_range ",
                        n.ip_range().empty() ? "-" : n.ip_range());
  };
  for (const Network& mine : loaded.spec.networks()) {
    const SourcePos pos = loaded.positions.Find(absl::StrCat("networks.", mine.name()));
    auto my_subnet = net::Cidr::Parse(mine.subnet());
    for (const auto& [cluster, networks] : others) {
      for (const Network& theirs : networks) {
        if (theirs.name() == mine.name()) {
          // A host has one shim per network, routing the containers of one cluster.
          if (mine.host_shim() || theirs.host_shim()) {
            diagnostics.push_back(
                {pos,
                 absl::StrCat("network '", mine.name(), "' is also used by cluster '", cluster,
                              "', and ", mine.host_shim() ? "this" : "that",
                              " cluster has host_shim on it: a host shim serves one cluster"),
                 "give each cluster a network of its own (another name and subnet), or drop "
                 "host_shim"});
            continue;
          }
          if (describe(theirs) != describe(mine)) {
            diagnostics.push_back(
                {pos,
                 absl::StrCat("network '", mine.name(), "' differs from the one cluster '", cluster,
                              "' uses (", describe(theirs), "; here ", describe(mine), ")"),
                 "clusters on one LAN share their network: define it the same way"});
          }
          continue;
        }
        auto their_subnet = net::Cidr::Parse(theirs.subnet());
        if (my_subnet.ok() && their_subnet.ok() && my_subnet->Overlaps(*their_subnet)) {
          diagnostics.push_back(
              {pos,
               absl::StrCat("network '", mine.name(), "' overlaps network '", theirs.name(), "' (",
                            theirs.subnet(), ") of cluster '", cluster, "'"),
               absl::StrCat("name it '", theirs.name(),
                            "' and define it the same way to share it, or use another subnet")});
        }
      }
    }
  }
  return diagnostics;
}

Plan MakePlan(const LoadedSpec& loaded, const PlanOptions& options) {
  Plan plan;
  const ClusterSpec& spec = loaded.spec;
  plan.diagnostics = loaded.diagnostics;
  for (Diagnostic& d : ValidateSpec(spec, loaded.positions)) {
    plan.diagnostics.push_back(std::move(d));
  }
  if (!plan.diagnostics.empty()) return plan;
  if (options.other_networks != nullptr) {
    plan.diagnostics = CheckSharedNetworks(loaded, *options.other_networks);
    if (!plan.diagnostics.empty()) return plan;
  }

  const std::vector<std::vector<net::Ipv4>> ips =
      AllocateIps(loaded, options.previous, options.taken_ips, &plan.diagnostics);
  if (!plan.diagnostics.empty()) return plan;

  // Every template once per service before placing, so a broken template is reported (exit 2)
  // even when placement would also fail.
  plan.diagnostics = CheckTemplates(loaded);
  if (!plan.diagnostics.empty()) return plan;

  const std::vector<Host> spec_hosts(spec.hosts().begin(), spec.hosts().end());
  const std::vector<Host>& hosts = options.inventory ? *options.inventory : spec_hosts;
  absl::flat_hash_map<std::string, std::string> no_previous;
  ScheduleInput input;
  input.spec = &spec;
  input.hosts = &hosts;
  input.previous = options.previous ? &options.previous->host_of : &no_previous;
  input.avoid = options.moving_off;
  ScheduleResult scheduled = Schedule(input);
  if (!scheduled.failures.empty()) {
    plan.failures = std::move(scheduled.failures);
    return plan;
  }

  plan.placement = BuildPlacement(spec, ips, hosts, &scheduled.hosts_by_service);
  plan.diagnostics = AllocateShimAddresses(
      loaded, options.previous ? &options.previous->shim_of : nullptr, &plan.placement);
  if (!plan.diagnostics.empty()) return plan;
  RenderOptions render;
  render.instances = options.render;
  render.only = options.render_only;
  Plan rendered = RenderPlan(loaded, plan.placement, render);
  plan.hosts_file = std::move(rendered.hosts_file);
  plan.instances = std::move(rendered.instances);
  plan.diagnostics = std::move(rendered.diagnostics);
  return plan;
}

}  // namespace bdcoord::coordinator
