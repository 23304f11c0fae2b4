#include "coordinator/spec/validation.h"

#include <arpa/inet.h>

#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "coordinator/spec/instance_names.h"
#include "coordinator/spec/spec_loader.h"
#include "net/ipv4.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::ClusterSpec;
using bdcoord::v1::Dependency;
using bdcoord::v1::MaxPer;
using bdcoord::v1::Network;
using bdcoord::v1::Service;
using net::Cidr;
using net::Ipv4;

// Hand-written rather than std::regex: libstdc++'s regex recurses per character and overflows
// the stack on long user input.

bool IsLowerAlnum(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c); }

// RFC 1123 label: what a hostname, a container name and an FQDN part may be.
bool IsDnsLabel(absl::string_view text) {
  if (text.empty() || text.size() > kMaxNameLength) return false;
  if (!IsLowerAlnum(text.front()) || !IsLowerAlnum(text.back())) return false;
  for (char c : text) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsDnsName(absl::string_view text) {
  if (text.size() > kMaxDomainLength) return false;
  for (absl::string_view label : absl::StrSplit(text, '.')) {
    if (!IsDnsLabel(label)) return false;
  }
  return true;
}

// A host label key: the characters a constraint accepts for its label.
bool IsLabelKey(absl::string_view text) {
  if (text.empty() || text.size() > kMaxDomainLength) return false;
  for (char c : text) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '/' && c != '-') return false;
  }
  return true;
}

// What Docker takes as a container's user: USER or USER:GROUP, each a name (looked up in the
// image's /etc/passwd and /etc/group) or a number up to 2147483647.
bool IsUserSpec(const std::string& text) {
  const std::vector<std::string> parts = absl::StrSplit(text, ':');
  if (parts.size() > 2) return false;
  for (const std::string& part : parts) {
    if (part.empty() || part.size() > kMaxNameLength || part[0] == '-') return false;
    for (char c : part) {
      if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '$' && c != '-') return false;
    }
    int64_t id = 0;
    if (absl::SimpleAtoi(part, &id) && id > 2147483647) return false;
  }
  return true;
}

bool IsIpAddress(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

// The resolv.conf options of glibc's resolver (resolv.conf(5)); those with a value take a whole
// number in [min, max] (glibc silently clamps larger ones, so they are errors here).
struct DnsOption {
  const char* name;
  bool has_value = false;
  int min = 0;
  int max = 0;
};
constexpr DnsOption kDnsOptions[] = {
    {"ndots", true, 0, 15},
    {"timeout", true, 1, 30},
    {"attempts", true, 1, 5},
    {"rotate"},
    {"no-check-names"},
    {"inet6"},
    {"edns0"},
    {"single-request"},
    {"single-request-reopen"},
    {"no-tld-query"},
    {"use-vc"},
    {"no-reload"},
    {"trust-ad"},
    {"no-aaaa"},
};

// glibc reads at most this many nameservers (MAXNS), Docker's embedded DNS forwards to as many.
constexpr int kMaxNameservers = 3;

// What validation learned about one network, for the checks of the services on it.
struct NetworkFacts {
  std::optional<Cidr> subnet;
  std::optional<Ipv4> gateway;
  absl::flat_hash_set<uint32_t> reserved;
  std::optional<Cidr> shim_range;  // set when host_shim is on and the range is valid
};

// The planner keeps a shim_range out of the containers' pool address by address, so it is
// bounded; one address per host, so this is plenty.
constexpr uint64_t kMaxShimRangeSize = 4096;

class Validator {
 public:
  Validator(const ClusterSpec& spec, const SourceMap& positions)
      : spec_(spec), positions_(positions) {}

  std::vector<Diagnostic> Run() {
    CheckCluster();
    CheckHosts();
    CheckNetworks();
    CheckServices();
    CheckDns();
    CheckDependencyCycles();
    CheckColocationCycles();
    return std::move(diagnostics_);
  }

 private:
  void Error(absl::string_view path, std::string message, std::string hint = "") {
    diagnostics_.push_back({positions_.Find(path), OneLine(message), OneLine(hint)});
  }

  std::vector<std::string> ServiceNames() const {
    std::vector<std::string> names;
    for (const Service& s : spec_.services()) names.push_back(s.name());
    return names;
  }

  // Names are checked for length before anything else looks at them (suggestions, instance
  // names); false when `text` is too long.
  bool CheckLength(absl::string_view path, absl::string_view what, absl::string_view text,
                   size_t max) {
    if (text.size() <= max) return true;
    Error(path, absl::StrCat(what, " ", Quote(text), " is ", text.size(), " characters long"),
          absl::StrCat("at most ", max));
    return false;
  }

  void CheckCluster() {
    if (!CheckLength("cluster", "cluster name", spec_.cluster(), kMaxNameLength)) {
    } else if (!spec_.cluster().empty() && !IsDnsLabel(spec_.cluster())) {
      Error("cluster", absl::StrCat("cluster name ", Quote(spec_.cluster()), " is not a DNS label"),
            "use lowercase letters, digits and '-', at most 63 characters");
    }
    if (!CheckLength("domain", "domain", spec_.domain(), kMaxDomainLength)) {
    } else if (!spec_.domain().empty() && !IsDnsName(spec_.domain())) {
      Error("domain", absl::StrCat("domain ", Quote(spec_.domain()), " is not a DNS name"),
            "e.g. `domain: bigdata.lan`");
    }
  }

  void CheckHosts() {
    absl::flat_hash_map<std::string, int> names;
    absl::flat_hash_map<std::string, int> addresses;
    for (int i = 0; i < spec_.hosts_size(); ++i) {
      const auto& host = spec_.hosts(i);
      const std::string path = absl::StrCat("hosts.", i);
      if (host.name().empty()) continue;  // reported by the loader
      for (const auto& [key, value] : host.labels()) {
        const std::string label_path = absl::StrCat(path, ".labels.", key);
        if (CheckLength(label_path, "label key", key, kMaxDomainLength)) {
          CheckLength(label_path, absl::StrCat("value of label ", Quote(key)), value,
                      kMaxLabelValueLength);
        }
      }
      if (!CheckLength(path + ".name", "host name", host.name(), kMaxNameLength)) {
        continue;
      } else if (!IsDnsLabel(host.name())) {
        Error(path + ".name", absl::StrCat("host name ", Quote(host.name()), " is not a DNS label"),
              "use lowercase letters, digits and '-'");
      }
      if (auto [it, inserted] = names.emplace(host.name(), i); !inserted) {
        Error(path + ".name", absl::StrCat("duplicate host name ", Quote(host.name())),
              absl::StrCat("already used by hosts entry ", it->second + 1, " on line ",
                           positions_.Find(absl::StrCat("hosts.", it->second)).line));
      }
      if (!host.address().empty()) {
        if (auto ip = Ipv4::Parse(host.address()); !ip.ok()) {
          Error(path + ".address",
                absl::StrCat("address of host ", Quote(host.name()), ": ", ip.status().message()));
        } else if (auto [it, inserted] = addresses.emplace(host.address(), i); !inserted) {
          Error(path + ".address",
                absl::StrCat("host ", Quote(host.name()), " has the same address ", host.address(),
                             " as host ", Quote(spec_.hosts(it->second).name())));
        }
      }
      for (const auto& [network, parent] : host.parents()) {
        if (!HasNetwork(network)) {
          Error(absl::StrCat(path, ".parents.", network),
                absl::StrCat("host ", Quote(host.name()),
                             " overrides the parent of unknown network ", Quote(network)),
                SuggestionHint(network, NetworkNames()));
        }
      }
    }
  }

  bool HasNetwork(const std::string& name) const {
    for (const Network& n : spec_.networks()) {
      if (n.name() == name) return true;
    }
    return false;
  }

  std::vector<std::string> NetworkNames() const {
    std::vector<std::string> names;
    for (const Network& n : spec_.networks()) names.push_back(n.name());
    return names;
  }

  void CheckNetworks() {
    for (const Network& network : spec_.networks()) {
      const std::string path = absl::StrCat("networks.", network.name());
      const std::string what = absl::StrCat("network ", Quote(network.name()));
      if (!CheckLength(path, "network name", network.name(), kMaxNameLength)) continue;
      NetworkFacts& facts = networks_[network.name()];
      if (network.driver() == bdcoord::v1::NETWORK_DRIVER_UNSPECIFIED) {
        Error(path, absl::StrCat(what, " has no driver"), "add `driver: macvlan` or `ipvlan`");
      }
      if (network.parent().empty()) {
        Error(path, absl::StrCat(what, " has no parent interface"),
              "add `parent: eth0` (hosts may override it with `parents`)");
      }
      if (network.subnet().empty()) {
        Error(path, absl::StrCat(what, " has no subnet"), "add `subnet: 10.0.50.0/24`");
        continue;
      }
      auto subnet = Cidr::Parse(network.subnet());
      if (!subnet.ok()) {
        Error(path + ".subnet", absl::StrCat("subnet of ", what, ": ", subnet.status().message()));
        // Without a subnet only the syntax of the other fields can be checked.
        if (auto range = Cidr::Parse(network.ip_range());
            !network.ip_range().empty() && !range.ok()) {
          Error(path + ".ip_range",
                absl::StrCat("ip_range of ", what, ": ", range.status().message()));
        }
        continue;
      }
      facts.subnet = *subnet;
      auto in_subnet = [&](const std::string& field_path, const std::string& field,
                           const std::string& text) -> std::optional<Ipv4> {
        auto ip = Ipv4::Parse(text);
        if (!ip.ok()) {
          Error(field_path, absl::StrCat(field, " of ", what, ": ", ip.status().message()));
          return std::nullopt;
        }
        if (!subnet->Contains(*ip)) {
          Error(field_path, absl::StrCat(field, " ", text, " of ", what, " is outside its subnet ",
                                         subnet->ToString()));
          return std::nullopt;
        }
        return *ip;
      };
      if (!network.gateway().empty()) {
        facts.gateway = in_subnet(path + ".gateway", "gateway", network.gateway());
      }
      if (!network.ip_range().empty()) {
        auto range = Cidr::Parse(network.ip_range());
        if (!range.ok()) {
          Error(path + ".ip_range",
                absl::StrCat("ip_range of ", what, ": ", range.status().message()));
        } else if (!subnet->Contains(*range)) {
          Error(path + ".ip_range", absl::StrCat("ip_range ", network.ip_range(), " of ", what,
                                                 " is not inside its subnet ", subnet->ToString()));
        }
      }
      for (int i = 0; i < network.reserved_size(); ++i) {
        if (auto ip = in_subnet(absl::StrCat(path, ".reserved.", i), "reserved address",
                                network.reserved(i))) {
          facts.reserved.insert(ip->value());
        }
      }
      CheckShimRange(network, path, what, *subnet, &facts);
    }
  }

  // A shim_range for `subnet` to suggest: its last /29, when that is clear of ip_range and the
  // gateway; empty otherwise.
  static std::string SuggestedShimRange(const Network& network, const Cidr& subnet,
                                        const std::optional<Ipv4>& gateway) {
    if (subnet.prefix_length() > 28) return "";
    auto last = Cidr::Parse(absl::StrCat(Ipv4(subnet.broadcast().value() - 7).ToString(), "/29"));
    if (!last.ok()) return "";
    if (auto range = Cidr::Parse(network.ip_range()); range.ok() && range->Overlaps(*last)) {
      return "";
    }
    if (gateway && last->Contains(*gateway)) return "";
    return last->ToString();
  }

  // host_shim needs a shim_range: a range of the subnet, clear of the containers' addresses
  // (ip_range; without one the planner keeps containers out of shim_range) and the gateway.
  void CheckShimRange(const Network& network, const std::string& path, const std::string& what,
                      const Cidr& subnet, NetworkFacts* facts) {
    const std::string range_path = path + ".shim_range";
    if (network.shim_range().empty()) {
      if (network.host_shim()) {
        const std::string suggested = SuggestedShimRange(network, subnet, facts->gateway);
        Error(path + ".host_shim", absl::StrCat(what, " has host_shim but no shim_range"),
              absl::StrCat(suggested.empty() ? "add a shim_range, a CIDR"
                                             : absl::StrCat("add `shim_range: ", suggested, "`"),
                           " (inside the subnet, outside ip_range): each host with containers "
                           "on the network takes one address of it for its shim"));
      }
      return;
    }
    if (!network.host_shim()) {
      Error(range_path, absl::StrCat("shim_range of ", what, " is set but host_shim is not"),
            "set `host_shim: true`, or drop shim_range");
      return;
    }
    auto range = Cidr::Parse(network.shim_range());
    if (!range.ok()) {
      Error(range_path, absl::StrCat("shim_range of ", what, ": ", range.status().message()));
      return;
    }
    if (!subnet.Contains(*range)) {
      Error(range_path, absl::StrCat("shim_range ", network.shim_range(), " of ", what,
                                     " is not inside its subnet ", subnet.ToString()));
      return;
    }
    bool usable = true;
    if (range->size() > kMaxShimRangeSize) {
      Error(range_path,
            absl::StrCat("shim_range ", network.shim_range(), " of ", what, " has ", range->size(),
                         " addresses; at most ", kMaxShimRangeSize, " (a /20)"),
            "each host takes one address: a /26 serves 64 hosts");
      usable = false;
    }
    if (auto ip_range = Cidr::Parse(network.ip_range());
        ip_range.ok() && range->Overlaps(*ip_range)) {
      Error(range_path,
            absl::StrCat("shim_range ", network.shim_range(), " of ", what,
                         " overlaps its ip_range ", network.ip_range()),
            "the hosts' shim addresses must not be containers' addresses: take shim_range from "
            "outside ip_range");
      usable = false;
    }
    if (facts->gateway && range->Contains(*facts->gateway)) {
      Error(range_path,
            absl::StrCat("shim_range ", network.shim_range(), " of ", what,
                         " contains its gateway ", facts->gateway->ToString()),
            "take shim_range from another part of the subnet");
      usable = false;
    }
    if (usable) facts->shim_range = *range;
  }

  void CheckDns() {
    const bdcoord::v1::Dns& dns = spec_.dns();
    for (int i = 0; i < dns.nameservers_size(); ++i) {
      if (!IsIpAddress(dns.nameservers(i))) {
        Error(
            absl::StrCat("dns.nameservers.", i),
            absl::StrCat("nameserver ", Quote(dns.nameservers(i)), " in dns is not an IP address"),
            "write the server's IPv4 or IPv6 address, e.g. 10.0.50.2 (no resolver can look up "
            "its name yet)");
      }
    }
    if (dns.nameservers_size() > kMaxNameservers) {
      Error(absl::StrCat("dns.nameservers.", kMaxNameservers),
            absl::StrCat("dns names ", dns.nameservers_size(), " nameservers; at most ",
                         kMaxNameservers, " are used"),
            "keep the 3 that should answer first");
    }
    for (int i = 0; i < dns.search().values_size(); ++i) {
      const std::string& domain = dns.search().values(i);
      const std::string path = absl::StrCat("dns.search.", i);
      if (domain.empty()) {
        Error(path, absl::StrCat("search domain ", i + 1, " in dns is empty"),
              "write a domain, e.g. `search: [bigdata.lan]`, or `search: []` for none");
      } else if (!IsDnsName(domain)) {
        Error(path, absl::StrCat("search domain ", Quote(domain), " in dns is not a DNS name"),
              "use lowercase letters, digits and '-' in dot-separated labels, e.g. bigdata.lan");
      }
    }
    std::vector<std::string> option_names;
    for (const DnsOption& option : kDnsOptions) option_names.push_back(option.name);
    for (int i = 0; i < dns.options().values_size(); ++i) {
      CheckDnsOption(dns.options().values(i), absl::StrCat("dns.options.", i), option_names);
    }
  }

  // `NAME` or `NAME:N`, as resolv.conf writes them.
  void CheckDnsOption(const std::string& text, const std::string& path,
                      const std::vector<std::string>& names) {
    const std::pair<std::string, std::string> parts = absl::StrSplit(text, absl::MaxSplits(':', 1));
    const bool has_value = absl::StrContains(text, ':');
    const DnsOption* option = nullptr;
    for (const DnsOption& candidate : kDnsOptions) {
      if (parts.first == candidate.name) option = &candidate;
    }
    if (option == nullptr) {
      Error(path, absl::StrCat("unknown option ", Quote(text), " in dns"),
            SuggestionHint(parts.first, names));
      return;
    }
    if (!option->has_value) {
      if (has_value) {
        Error(path, absl::StrCat("option ", Quote(text), " in dns takes no value"),
              absl::StrCat("write `", option->name, "`"));
      }
      return;
    }
    int value = 0;
    if (!has_value || !absl::SimpleAtoi(parts.second, &value) || value < option->min ||
        value > option->max) {
      Error(path,
            absl::StrCat("option ", Quote(text), " in dns needs a whole number from ", option->min,
                         " to ", option->max),
            absl::StrCat("write it as ", option->name, ":N, e.g. ", option->name, ":",
                         std::max(option->min, 1)));
    }
  }

  void CheckServices() {
    const std::vector<std::string> service_names = ServiceNames();
    std::vector<std::string> host_names;
    for (const auto& host : spec_.hosts()) host_names.push_back(host.name());
    absl::flat_hash_map<uint32_t, std::string> pinned_by;       // IP -> service
    absl::flat_hash_map<std::string, std::string> instance_of;  // instance name -> service
    for (const Service& service : spec_.services()) {
      const std::string path = absl::StrCat("services.", service.name());
      const std::string what = absl::StrCat("service ", Quote(service.name()));
      if (!CheckLength(path, "service name", service.name(), kMaxNameLength) ||
          !CheckLength(path + ".hostname", "hostname prefix", service.hostname(), kMaxNameLength)) {
        continue;
      }
      if (!IsDnsLabel(service.name())) {
        Error(path, absl::StrCat("service name ", Quote(service.name()), " is not a DNS label"),
              "use lowercase letters, digits and '-'");
      }
      if (!service.hostname().empty() && !IsDnsLabel(absl::StrCat(service.hostname(), "1"))) {
        Error(path + ".hostname",
              absl::StrCat("hostname prefix ", Quote(service.hostname()), " of ", what,
                           " does not make DNS labels"),
              "use lowercase letters, digits and '-'; instances are named PREFIX1, PREFIX2, ...");
      }
      for (uint64_t index = 1; index <= service.count(); ++index) {
        const std::string name = InstanceName(service, index);
        if (auto [it, inserted] = instance_of.emplace(name, service.name());
            !inserted && it->second != service.name()) {
          Error(path,
                absl::StrCat("instance name ", Quote(name), " of ", what,
                             " is also an instance of service ", Quote(it->second)),
                "set a distinct `hostname` prefix on one of them");
          break;
        }
      }
      CheckServiceNetwork(service, path, what, &pinned_by);
      if (service.run_once() && service.restart().mode() != bdcoord::v1::RestartPolicy::MODE_NO &&
          service.restart().mode() != bdcoord::v1::RestartPolicy::MODE_UNSPECIFIED &&
          service.restart().mode() != bdcoord::v1::RestartPolicy::MODE_ON_FAILURE) {
        Error(path + ".restart",
              absl::StrCat(what, " runs once but its restart policy would restart it forever"),
              "use `restart: on-failure:N` or drop restart");
      }
      if (service.has_reschedule() && service.volumes_size() > 0 &&
          !service.reschedule().allow_volumes()) {
        Error(path + ".reschedule",
              absl::StrCat(what,
                           " has volumes and reschedule: a moved instance starts with new, empty "
                           "volumes, its data stays on the lost host"),
              "say `allow_volumes: true` in reschedule if that is what you want, or drop "
              "reschedule");
      }
      if (service.run_once() && service.has_reschedule()) {
        Error(path + ".reschedule",
              absl::StrCat(what, " runs once: it is not rescheduled (a job is not moved)"),
              "drop `reschedule`, or `run_once` to keep it running");
      }
      if (service.run_once() && service.has_update()) {
        Error(path + ".update",
              absl::StrCat(what,
                           " runs once: it has no rolling update (a completed job is "
                           "never run again)"),
              "drop `update`, or `run_once` to keep it running");
      }
      if (!service.user().empty() && !IsUserSpec(service.user())) {
        Error(path + ".user",
              absl::StrCat("user ", Quote(service.user()), " of ", what,
                           " is not USER or USER:GROUP"),
              "each a name from the image's /etc/passwd or /etc/group, or a number up to "
              "2147483647: `zookeeper`, `zookeeper:hadoop`, `\"1000:1000\"`");
      }
      CheckPlacement(service, path, what, service_names, host_names);
      CheckDependencies(service, path, what, service_names);
      for (int i = 0; i < service.files_size(); ++i) {
        if (!IsCleanAbsolutePath(service.files(i).path())) {
          Error(absl::StrCat(path, ".files.", service.files(i).path()),
                absl::StrCat("file path ", Quote(service.files(i).path()), " of ", what,
                             absl::StartsWith(service.files(i).path(), "/")
                                 ? " has an empty, . or .. part"
                                 : " is not absolute"),
                "write the path inside the container, e.g. /conf/zoo.cfg");
        }
      }
    }
  }

  void CheckServiceNetwork(const Service& service, const std::string& path, const std::string& what,
                           absl::flat_hash_map<uint32_t, std::string>* pinned_by) {
    const Network* network = nullptr;
    if (service.network().empty()) {
      if (spec_.networks_size() == 1) {
        network = &spec_.networks(0);
      } else if (spec_.networks_size() == 0) {
        Error(path, absl::StrCat(what, " needs a network but the spec defines none"),
              "add a `networks:` section with a macvlan or ipvlan network");
      } else {
        Error(path, absl::StrCat(what, " does not say which network it is on"),
              absl::StrCat("add `network: NAME`; networks: ", absl::StrJoin(NetworkNames(), ", ")));
      }
    } else {
      for (const Network& n : spec_.networks()) {
        if (n.name() == service.network()) network = &n;
      }
      if (network == nullptr) {
        Error(path + ".network",
              absl::StrCat(what, " is on unknown network ", Quote(service.network())),
              SuggestionHint(service.network(), NetworkNames()));
      }
    }
    if (service.ips_size() > 0 && static_cast<uint32_t>(service.ips_size()) != service.count()) {
      Error(path + ".count",
            absl::StrCat(what, " has count ", service.count(), " but pins ", service.ips_size(),
                         " ips"),
            "pin one IP per instance, or drop count (it defaults to the number of ips)");
    }
    const NetworkFacts* facts = nullptr;
    if (network != nullptr) {
      auto it = networks_.find(network->name());
      if (it != networks_.end() && it->second.subnet) facts = &it->second;
    }
    for (int i = 0; i < service.ips_size(); ++i) {
      const std::string ip_path = absl::StrCat(path, ".ips.", i);
      auto ip = Ipv4::Parse(service.ips(i));
      if (!ip.ok()) {
        Error(ip_path, absl::StrCat("pinned IP of ", what, ": ", ip.status().message()));
        continue;
      }
      if (facts != nullptr) {
        const Cidr& subnet = *facts->subnet;
        if (!subnet.Contains(*ip)) {
          Error(ip_path,
                absl::StrCat("pinned IP ", service.ips(i), " of ", what, " is outside the subnet ",
                             subnet.ToString(), " of network ", Quote(network->name())));
          continue;
        }
        if (subnet.prefix_length() < 31 && (*ip == subnet.network() || *ip == subnet.broadcast())) {
          Error(ip_path, absl::StrCat("pinned IP ", service.ips(i), " of ", what, " is the ",
                                      *ip == subnet.network() ? "network" : "broadcast",
                                      " address of ", subnet.ToString()));
          continue;
        }
        if (facts->gateway && *ip == *facts->gateway) {
          Error(ip_path, absl::StrCat("pinned IP ", service.ips(i), " of ", what,
                                      " is the gateway of network ", Quote(network->name())));
          continue;
        }
        if (facts->reserved.contains(ip->value())) {
          Error(ip_path, absl::StrCat("pinned IP ", service.ips(i), " of ", what,
                                      " is reserved on network ", Quote(network->name())));
          continue;
        }
        if (facts->shim_range && facts->shim_range->Contains(*ip)) {
          Error(ip_path,
                absl::StrCat("pinned IP ", service.ips(i), " of ", what, " is in shim_range ",
                             facts->shim_range->ToString(), " of network ", Quote(network->name())),
                "the hosts' shim addresses come from shim_range: pin an address outside it");
          continue;
        }
      }
      if (auto [it, inserted] = pinned_by->emplace(ip->value(), service.name()); !inserted) {
        Error(
            ip_path,
            absl::StrCat("duplicate IP ", service.ips(i), ": pinned by ",
                         it->second == service.name() ? std::string("this service")
                                                      : absl::StrCat("service ", Quote(it->second)),
                         " too"),
            "every instance needs its own address");
      }
    }
  }

  void CheckPlacement(const Service& service, const std::string& path, const std::string& what,
                      const std::vector<std::string>& service_names,
                      const std::vector<std::string>& host_names) {
    const auto& rules = service.placement();
    const std::string rules_path = path + ".placement";
    if (!rules.colocate_with().empty()) {
      if (rules.colocate_with() == service.name()) {
        Error(rules_path + ".colocate_with", absl::StrCat(what, " cannot colocate with itself"));
      } else if (std::find(service_names.begin(), service_names.end(), rules.colocate_with()) ==
                 service_names.end()) {
        Error(rules_path + ".colocate_with",
              absl::StrCat(what, " colocates with unknown service ", Quote(rules.colocate_with())),
              SuggestionHint(rules.colocate_with(), service_names));
      }
    }
    for (int i = 0; i < rules.constraints_size(); ++i) {
      const auto& constraint = rules.constraints(i);
      const std::string constraint_path = absl::StrCat(rules_path, ".constraints.", i);
      if (!CheckLength(constraint_path, "label key", constraint.label(), kMaxDomainLength)) {
        continue;
      }
      for (const std::string& value : constraint.values()) {
        if (!CheckLength(constraint_path, "label value", value, kMaxLabelValueLength)) break;
      }
    }
    for (int i = 0; i < rules.hosts_size(); ++i) {
      if (std::find(host_names.begin(), host_names.end(), rules.hosts(i)) == host_names.end()) {
        Error(absl::StrCat(rules_path, ".hosts.", i),
              absl::StrCat(what, " is pinned to unknown host ", Quote(rules.hosts(i))),
              SuggestionHint(rules.hosts(i), host_names));
      }
    }
    if (rules.has_max_per()) CheckMaxPer(rules.max_per(), rules_path + ".max_per", what);
  }

  // A missing key reads as empty or 0, so these messages say what is needed, not what was found.
  void CheckMaxPer(const MaxPer& max_per, const std::string& path, const std::string& what) {
    if (max_per.label().empty()) {
      Error(path + ".label", absl::StrCat("max_per of ", what, " needs a label"),
            "name a host label: `max_per: {label: rack, count: 1}`");
    } else if (!IsLabelKey(max_per.label())) {
      Error(path + ".label",
            absl::StrCat("max_per label ", Quote(max_per.label()), " of ", what,
                         " is not a label key"),
            "use letters, digits and . _ / - as in `rack` or `topology/zone`");
    }
    if (max_per.count() < 1) {
      Error(path + ".count", absl::StrCat("max_per of ", what, " needs a count of at least 1"),
            "count is how many instances may share one value of the label; drop max_per for no "
            "limit");
    }
  }

  void CheckDependencies(const Service& service, const std::string& path, const std::string& what,
                         const std::vector<std::string>& service_names) {
    for (const Dependency& dependency : service.depends_on()) {
      const std::string dep_path = absl::StrCat(path, ".depends_on.", dependency.service());
      const Service* target = FindService(dependency.service());
      if (target == nullptr) {
        Error(dep_path,
              absl::StrCat(what, " depends on unknown service ", Quote(dependency.service())),
              SuggestionHint(dependency.service(), service_names));
        continue;
      }
      if (target == &service) {
        Error(dep_path, absl::StrCat(what, " depends on itself"));
        continue;
      }
      if (dependency.condition() == Dependency::CONDITION_COMPLETED && !target->run_once()) {
        Error(
            dep_path,
            absl::StrCat(what, " waits for ", Quote(target->name()),
                         " to complete, but it is not run_once and never completes"),
            absl::StrCat("set `run_once: true` on ", Quote(target->name()), " or wait for ready"));
      }
      if (dependency.condition() == Dependency::CONDITION_READY && !target->has_ready()) {
        Error(dep_path,
              absl::StrCat(what, " waits for ", Quote(target->name()),
                           " to be ready, but it has no ready probe"),
              absl::StrCat("add e.g. `ready: {tcp: PORT}` to ", Quote(target->name()),
                           " or wait for started"));
      }
    }
  }

  const Service* FindService(const std::string& name) const {
    for (const Service& s : spec_.services()) {
      if (s.name() == name) return &s;
    }
    return nullptr;
  }

  // Depth-first search over `edges` (service index -> service indices), reporting each cycle once.
  void ReportCycles(const std::vector<std::vector<int>>& edges,
                    const std::function<void(const std::vector<int>&)>& report) {
    const int n = static_cast<int>(edges.size());
    std::vector<int> state(n, 0);  // 0 new, 1 on the stack, 2 done
    std::vector<int> stack;
    std::function<void(int)> visit = [&](int node) {
      state[node] = 1;
      stack.push_back(node);
      for (int next : edges[node]) {
        if (state[next] == 1) {
          std::vector<int> cycle(std::find(stack.begin(), stack.end(), next), stack.end());
          cycle.push_back(next);
          report(cycle);
        } else if (state[next] == 0) {
          visit(next);
        }
      }
      stack.pop_back();
      state[node] = 2;
    };
    for (int i = 0; i < n; ++i) {
      if (state[i] == 0) visit(i);
    }
  }

  std::string CycleText(const std::vector<int>& cycle) const {
    std::vector<std::string> names;
    for (int i : cycle) names.push_back(spec_.services(i).name());
    return absl::StrJoin(names, " -> ");
  }

  int ServiceIndex(const std::string& name) const {
    for (int i = 0; i < spec_.services_size(); ++i) {
      if (spec_.services(i).name() == name) return i;
    }
    return -1;
  }

  void CheckDependencyCycles() {
    std::vector<std::vector<int>> edges(spec_.services_size());
    for (int i = 0; i < spec_.services_size(); ++i) {
      for (const Dependency& d : spec_.services(i).depends_on()) {
        const int target = ServiceIndex(d.service());
        if (target >= 0 && target != i) edges[i].push_back(target);
      }
    }
    ReportCycles(edges, [&](const std::vector<int>& cycle) {
      const Service& first = spec_.services(cycle[0]);
      Error(
          absl::StrCat("services.", first.name(), ".depends_on.", spec_.services(cycle[1]).name()),
          absl::StrCat("dependency cycle: ", CycleText(cycle)),
          "remove one of these depends_on entries");
    });
  }

  void CheckColocationCycles() {
    std::vector<std::vector<int>> edges(spec_.services_size());
    for (int i = 0; i < spec_.services_size(); ++i) {
      const int target = ServiceIndex(spec_.services(i).placement().colocate_with());
      if (target >= 0 && target != i) edges[i].push_back(target);
    }
    ReportCycles(edges, [&](const std::vector<int>& cycle) {
      Error(absl::StrCat("services.", spec_.services(cycle[0]).name(), ".placement.colocate_with"),
            absl::StrCat("colocate_with cycle: ", CycleText(cycle)),
            "one service of the cycle must be placed on its own");
    });
  }

  const ClusterSpec& spec_;
  const SourceMap& positions_;
  absl::flat_hash_map<std::string, NetworkFacts> networks_;
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace

std::vector<Diagnostic> ValidateSpec(const ClusterSpec& spec, const SourceMap& positions) {
  return Validator(spec, positions).Run();
}

}  // namespace bdcoord::coordinator
