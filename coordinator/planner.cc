#include "coordinator/planner.h"

#include "absl/strings/str_cat.h"
#include "coordinator/instance_names.h"
#include "coordinator/templates.h"
#include "coordinator/validation.h"
#include "net/hosts_file.h"
#include "net/ipam.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::ClusterSpec;
using bdcoord::v1::Host;
using bdcoord::v1::Network;
using bdcoord::v1::Service;
using kainjow::mustache::data;

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
    net::AddressPool pool;
    pool.subnet = *net::Cidr::Parse(network.subnet());
    pool.range = network.ip_range().empty() ? pool.subnet : *net::Cidr::Parse(network.ip_range());
    if (!network.gateway().empty()) {
      pool.gateway = *net::Ipv4::Parse(network.gateway());
    } else {
      // Without a gateway, Docker's IPAM takes the first free address of the range for one.
      const net::Ipv4 first = pool.range == pool.subnet
                                  ? net::Ipv4(pool.subnet.network().value() + 1)
                                  : pool.range.network();
      pool.reserved.push_back(first);
    }
    for (const std::string& ip : network.reserved()) pool.reserved.push_back(*net::Ipv4::Parse(ip));
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
      for (uint32_t index = 1; index <= service.count(); ++index) {
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

std::vector<std::string> KnownTemplateNames(const ClusterSpec& spec) {
  std::vector<std::string> names = {"index",   "name",    "fqdn",   "ip",   "host",
                                    "service", "cluster", "domain", "peers"};
  for (const Service& service : spec.services()) {
    names.push_back(absl::StrCat("peers.", service.name()));
  }
  return names;
}

// The cluster-wide template layer: cluster, domain and peers.SERVICE lists.
data ClusterTemplateData(const ClusterSpec& spec, const bdcoord::v1::Placement& placement) {
  data peers{data::type::object};
  data current{data::type::list};
  std::string current_service;
  auto flush = [&] {
    if (!current_service.empty()) peers.set(current_service, std::move(current));
    current = data{data::type::list};
  };
  for (int i = 0; i < placement.instances_size(); ++i) {
    const auto& instance = placement.instances(i);
    if (instance.service() != current_service) {
      flush();
      current_service = instance.service();
    }
    data peer{data::type::object};
    peer.set("index", std::to_string(instance.index()));
    peer.set("name", instance.name());
    peer.set("fqdn", instance.fqdn());
    peer.set("ip", instance.ip());
    peer.set("host", instance.host());
    const bool last = i + 1 == placement.instances_size() ||
                      placement.instances(i + 1).service() != instance.service();
    peer.set("last", last ? data::type::bool_true : data::type::bool_false);
    current.push_back(std::move(peer));
  }
  flush();
  // Services with no instances still have an (empty) list, so templates may name them.
  for (const Service& service : spec.services()) {
    if (peers.get(service.name()) == nullptr) peers.set(service.name(), data{data::type::list});
  }
  data cluster{data::type::object};
  cluster.set("cluster", spec.cluster());
  cluster.set("domain", spec.domain());
  cluster.set("peers", std::move(peers));
  return cluster;
}

data InstanceTemplateData(const bdcoord::v1::PlacedInstance& instance) {
  data vars{data::type::object};
  vars.set("index", std::to_string(instance.index()));
  vars.set("name", instance.name());
  vars.set("fqdn", instance.fqdn());
  vars.set("ip", instance.ip());
  vars.set("host", instance.host());
  vars.set("service", instance.service());
  return vars;
}

// Renders every template of one instance; errors become diagnostics at the template's place.
RenderedInstance RenderOne(const LoadedSpec& loaded, const Service& service,
                           const bdcoord::v1::PlacedInstance& placed, const data& cluster,
                           const std::vector<std::string>& known,
                           std::vector<Diagnostic>* diagnostics) {
  RenderedInstance out;
  out.placed = placed;
  const data vars = InstanceTemplateData(placed);
  const std::vector<const data*> layers = {&vars, &cluster};
  const std::string base = absl::StrCat("services.", service.name());
  auto render = [&](const std::string& text, const std::string& path, const std::string& what) {
    RenderedTemplate result = RenderTemplate(text, layers, known);
    if (result.error) {
      diagnostics->push_back(
          {loaded.positions.FindInScalar(path, result.error->line, result.error->column),
           absl::StrCat("template error in ", what, " of service '", service.name(),
                        "': ", result.error->message),
           result.error->hint});
    }
    return std::move(result.text);
  };
  for (int i = 0; i < service.command_size(); ++i) {
    out.command.push_back(render(service.command(i), absl::StrCat(base, ".command.", i),
                                 absl::StrCat("command argument ", i + 1)));
  }
  for (const auto& env : service.env()) {
    auto& rendered = out.env.emplace_back(env);
    rendered.set_value(render(env.value(), absl::StrCat(base, ".env.", env.name()),
                              absl::StrCat("env '", env.name(), "'")));
  }
  for (const auto& file : service.files()) {
    auto& rendered = out.files.emplace_back(file);
    rendered.set_content(render(file.content(), absl::StrCat(base, ".files.", file.path()),
                                absl::StrCat("file '", file.path(), "'")));
  }
  for (int i = 0; i < service.volumes_size(); ++i) {
    auto& rendered = out.volumes.emplace_back(service.volumes(i));
    rendered.set_source(render(service.volumes(i).source(), absl::StrCat(base, ".volumes.", i),
                               absl::StrCat("volume ", i + 1)));
  }
  return out;
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
    for (uint32_t index = 1; index <= service.count(); ++index) {
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
        if (my_subnet.ok() && their_subnet.ok() &&
            (my_subnet->Contains(*their_subnet) || their_subnet->Contains(*my_subnet))) {
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

  // Check every template once per service before placing, so a broken template is reported
  // (exit 2) even when placement would also fail.
  // One sample peer per service is enough to find unknown names inside peer sections, and keeps
  // the check independent of the cluster's size.
  const std::vector<std::string> known = KnownTemplateNames(spec);
  {
    bdcoord::v1::Placement samples;
    for (const Service& service : spec.services()) {
      auto* sample = samples.add_instances();
      sample->set_name(InstanceName(service, 1));
      sample->set_service(service.name());
      sample->set_index(1);
      sample->set_fqdn(InstanceFqdn(sample->name(), spec.domain()));
    }
    const data cluster = ClusterTemplateData(spec, samples);
    for (int s = 0; s < spec.services_size(); ++s) {
      RenderOne(loaded, spec.services(s), samples.instances(s), cluster, known, &plan.diagnostics);
    }
  }
  if (!plan.diagnostics.empty()) return plan;

  const std::vector<Host> spec_hosts(spec.hosts().begin(), spec.hosts().end());
  const std::vector<Host>& hosts = options.inventory ? *options.inventory : spec_hosts;
  absl::flat_hash_map<std::string, std::string> no_previous;
  ScheduleInput input;
  input.spec = &spec;
  input.hosts = &hosts;
  input.previous = options.previous ? &options.previous->host_of : &no_previous;
  ScheduleResult scheduled = Schedule(input);
  if (!scheduled.failures.empty()) {
    plan.failures = std::move(scheduled.failures);
    return plan;
  }

  plan.placement = BuildPlacement(spec, ips, hosts, &scheduled.hosts_by_service);
  RenderOptions render;
  render.instances = options.render;
  render.only = options.render_only;
  Plan rendered = RenderPlan(loaded, plan.placement, render);
  plan.hosts_file = std::move(rendered.hosts_file);
  plan.instances = std::move(rendered.instances);
  plan.diagnostics = std::move(rendered.diagnostics);
  return plan;
}

Plan RenderPlan(const LoadedSpec& loaded, const bdcoord::v1::Placement& placement,
                const RenderOptions& options) {
  Plan plan;
  plan.placement = placement;
  std::vector<net::HostsEntry> entries;
  entries.reserve(placement.instances_size());
  for (const auto& instance : placement.instances()) {
    if (auto ip = net::Ipv4::Parse(instance.ip()); ip.ok()) {
      entries.push_back({*ip, instance.fqdn(), instance.name()});
    }
  }
  plan.hosts_file = net::RenderHostsFile(std::move(entries));
  if (!options.instances) return plan;

  absl::flat_hash_map<std::string, const Service*> service_by_name;
  for (const Service& service : loaded.spec.services()) service_by_name[service.name()] = &service;
  const std::vector<std::string> known = KnownTemplateNames(loaded.spec);
  const data cluster = ClusterTemplateData(loaded.spec, placement);
  for (const auto& placed : placement.instances()) {
    if (!options.only.empty() && placed.name() != options.only) continue;
    auto service = service_by_name.find(placed.service());
    if (service == service_by_name.end()) continue;
    plan.instances.push_back(
        RenderOne(loaded, *service->second, placed, cluster, known, &plan.diagnostics));
  }
  return plan;
}

}  // namespace bdcoord::coordinator
