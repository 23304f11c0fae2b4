#include "coordinator/render/rendered_plan.h"

#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "coordinator/render/templates.h"
#include "coordinator/spec/instance_names.h"
#include "net/hosts_file.h"
#include "net/ipv4.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::ClusterSpec;
using bdcoord::v1::Service;
using kainjow::mustache::data;

constexpr const char* kMemoryVariables[] = {"memory_mib", "memory_bytes", "heap_mib"};
constexpr const char* kCpuVariables[] = {"millicpus", "cpus"};

std::vector<std::string> KnownTemplateNames(const ClusterSpec& spec) {
  std::vector<std::string> names = {"index",   "name",    "fqdn",   "ip",        "host",
                                    "service", "cluster", "domain", "resources", "peers"};
  for (const char* variable : kMemoryVariables)
    names.push_back(absl::StrCat("resources.", variable));
  for (const char* variable : kCpuVariables) names.push_back(absl::StrCat("resources.", variable));
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

// What every instance of one service shares: its resources.* variables, and for those it lacks
// the hint that says how to set them.
struct ServiceTemplates {
  data layer{data::type::object};
  std::map<std::string, std::string> unset;
};

ServiceTemplates MakeServiceTemplates(const Service& service) {
  ServiceTemplates out;
  const bdcoord::v1::Resources& limits = service.resources();
  data resources{data::type::object};
  const std::string owner = absl::StrCat("service '", service.name(), "'");
  if (limits.memory_bytes() > 0) {
    constexpr int64_t kMiB = 1024 * 1024;
    const int64_t mib = limits.memory_bytes() / kMiB;
    resources.set("memory_bytes", std::to_string(limits.memory_bytes()));
    resources.set("memory_mib", std::to_string(mib));
    // Half of the limit for the heap: a small JVM's non-heap part (metaspace, code cache,
    // thread stacks) measured about 100 MB, so 128Mi gives 64m and 384Mi 192m (README).
    resources.set("heap_mib", std::to_string(mib / 2));
  } else {
    for (const char* variable : kMemoryVariables) {
      out.unset[absl::StrCat("resources.", variable)] = absl::StrCat(
          owner, " has no resources.memory: set it, e.g. `resources: {memory: 512Mi}`");
    }
  }
  if (limits.millicpus() > 0) {
    resources.set("millicpus", std::to_string(limits.millicpus()));
    // Whole CPUs rounded up, as the JVM counts a CPU quota (at least 1).
    resources.set("cpus", std::to_string((limits.millicpus() + 999) / 1000));
  } else {
    for (const char* variable : kCpuVariables) {
      out.unset[absl::StrCat("resources.", variable)] =
          absl::StrCat(owner, " has no resources.cpus: set it, e.g. `resources: {cpus: 500m}`");
    }
  }
  if (service.has_resources()) {
    out.layer.set("resources", std::move(resources));
  } else {
    out.unset["resources"] = absl::StrCat(
        owner, " has no resources: set them, e.g. `resources: {cpus: 500m, memory: 512Mi}`");
  }
  return out;
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
                           const ServiceTemplates& shared,
                           const bdcoord::v1::PlacedInstance& placed, const data& cluster,
                           const std::vector<std::string>& known,
                           std::vector<Diagnostic>* diagnostics) {
  RenderedInstance out;
  out.placed = placed;
  const data vars = InstanceTemplateData(placed);
  const std::vector<const data*> layers = {&vars, &shared.layer, &cluster};
  const std::string base = absl::StrCat("services.", service.name());
  auto render = [&](const std::string& text, const std::string& path, const std::string& what) {
    RenderedTemplate result = RenderTemplate(text, layers, known, shared.unset);
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

// What an instance adds to its host's desired state, near enough: its rendered text.
size_t RenderedBytes(const RenderedInstance& instance) {
  size_t bytes = 0;
  for (const std::string& arg : instance.command) bytes += arg.size();
  for (const auto& env : instance.env) bytes += env.name().size() + env.value().size();
  for (const auto& file : instance.files) bytes += file.path().size() + file.content().size();
  for (const auto& volume : instance.volumes) {
    bytes += volume.source().size() + volume.target().size();
  }
  return bytes;
}

// The first cap this instance goes past, as an error at its service.
std::optional<Diagnostic> OverCap(const LoadedSpec& loaded,
                                  const bdcoord::v1::PlacedInstance& placed, size_t bytes,
                                  size_t on_host, size_t total) {
  const SourcePos pos = loaded.positions.Find(absl::StrCat("services.", placed.service()));
  if (bytes > kMaxInstanceBytes) {
    return Diagnostic{
        pos,
        absl::StrCat("instance '", placed.name(), "' of service '", placed.service(), "' renders ",
                     bytes, " bytes (command, env, files and volumes); at most ",
                     kMaxInstanceBytes / (1 << 20), " MiB (", kMaxInstanceBytes,
                     " bytes) per instance"),
        "keep large data out of the spec: in the image, or in a volume"};
  }
  if (on_host > kMaxHostBytes) {
    return Diagnostic{
        pos,
        absl::StrCat("the instances placed on host '", placed.host(), "' render more than ",
                     kMaxHostBytes / (1 << 20), " MiB with the hosts file (at most ", kMaxHostBytes,
                     " bytes per host), past it at instance '", placed.name(), "' of service '",
                     placed.service(), "'"),
        "spread the service over more hosts (placement: max_per, distinct_hosts), or render "
        "smaller files"};
  }
  if (total > kMaxPlanBytes) {
    return Diagnostic{
        pos,
        absl::StrCat("the cluster renders more than ", kMaxPlanBytes / (1 << 20),
                     " MiB in all (at most ", kMaxPlanBytes, " bytes), past it at instance '",
                     placed.name(), "' of service '", placed.service(), "'"),
        "lower the counts, or render smaller files"};
  }
  return std::nullopt;
}

}  // namespace

std::vector<Diagnostic> CheckTemplates(const LoadedSpec& loaded) {
  const ClusterSpec& spec = loaded.spec;
  std::vector<Diagnostic> diagnostics;
  // One sample peer per service is enough to find unknown names inside peer sections, and keeps
  // the check independent of the cluster's size.
  const std::vector<std::string> known = KnownTemplateNames(spec);
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
    RenderOne(loaded, spec.services(s), MakeServiceTemplates(spec.services(s)),
              samples.instances(s), cluster, known, &diagnostics);
  }
  return diagnostics;
}

std::vector<net::HostsEntry> HostsEntries(const bdcoord::v1::Placement& placement) {
  std::vector<net::HostsEntry> entries;
  entries.reserve(placement.instances_size());
  for (const auto& instance : placement.instances()) {
    if (auto ip = net::Ipv4::Parse(instance.ip()); ip.ok()) {
      entries.push_back({*ip, instance.fqdn(), instance.name()});
    }
  }
  return entries;
}

Plan RenderPlan(const LoadedSpec& loaded, const bdcoord::v1::Placement& placement,
                const RenderOptions& options) {
  Plan plan;
  plan.placement = placement;
  plan.hosts_file = net::RenderHostsFile(HostsEntries(placement));
  if (!options.instances) return plan;

  struct ServiceEntry {
    const Service* service;
    ServiceTemplates templates;
  };
  absl::flat_hash_map<std::string, ServiceEntry> service_by_name;
  for (const Service& service : loaded.spec.services()) {
    service_by_name[service.name()] = {&service, MakeServiceTemplates(service)};
  }
  const std::vector<std::string> known = KnownTemplateNames(loaded.spec);
  const data cluster = ClusterTemplateData(loaded.spec, placement);
  absl::flat_hash_map<std::string, size_t> host_bytes;
  size_t total_bytes = 0;
  for (const auto& placed : placement.instances()) {
    if (!options.only.empty() && placed.name() != options.only) continue;
    auto entry = service_by_name.find(placed.service());
    if (entry == service_by_name.end()) continue;
    plan.instances.push_back(RenderOne(loaded, *entry->second.service, entry->second.templates,
                                       placed, cluster, known, &plan.diagnostics));
    // The same error would follow for every instance of the service: one says it.
    if (!plan.diagnostics.empty()) return plan;
    const size_t bytes = RenderedBytes(plan.instances.back());
    size_t& on_host = host_bytes[placed.host()];
    if (on_host == 0) on_host = plan.hosts_file.size();
    on_host += bytes;
    total_bytes += bytes;
    if (std::optional<Diagnostic> over = OverCap(loaded, placed, bytes, on_host, total_bytes)) {
      plan.diagnostics.push_back(*std::move(over));
      return plan;
    }
  }
  return plan;
}

}  // namespace bdcoord::coordinator
