#include "agent/host_facts.h"

#include <ifaddrs.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace bdcoord::agent {

absl::StatusOr<std::map<std::string, std::string>> LoadLabels(
    const std::string& config_path, const std::vector<std::string>& label_flags) {
  std::map<std::string, std::string> labels;
  if (!config_path.empty() && std::ifstream(config_path).good()) {
    try {
      const YAML::Node root = YAML::LoadFile(config_path);
      if (root["labels"]) {
        if (!root["labels"].IsMap()) {
          return absl::InvalidArgumentError(
              absl::StrCat(config_path, ":", root["labels"].Mark().line + 1,
                           ": labels must be a mapping, e.g. `labels: {rack: r1}`"));
        }
        for (const auto& item : root["labels"]) {
          labels[item.first.as<std::string>()] = item.second.as<std::string>();
        }
      }
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(config_path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
    }
  }
  for (const std::string& flag : label_flags) {
    std::vector<std::string> parts = absl::StrSplit(flag, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--label '", flag, "' is not KEY=VALUE (e.g. --label rack=r1)"));
    }
    labels[parts[0]] = parts[1];
  }
  return labels;
}

bdcoord::v1::HostFacts CollectHostFacts(DockerClient* docker,
                                        const std::map<std::string, std::string>& labels) {
  bdcoord::v1::HostFacts facts;
  char hostname[256] = {};
  if (gethostname(hostname, sizeof(hostname) - 1) == 0) facts.set_hostname(hostname);
  facts.set_cpus(static_cast<uint32_t>(sysconf(_SC_NPROCESSORS_ONLN)));
  facts.set_memory_bytes(static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE));
  if (auto version = docker->Version(); version.ok()) {
    facts.set_docker_version(version->version);
    facts.set_docker_api_version(version->api_version);
  }
  ifaddrs* addresses = nullptr;
  if (getifaddrs(&addresses) == 0) {
    std::set<std::string> names;  // one entry per interface, sorted
    for (ifaddrs* a = addresses; a != nullptr; a = a->ifa_next) names.insert(a->ifa_name);
    freeifaddrs(addresses);
    for (const auto& name : names) facts.add_interfaces(name);
  }
  for (const auto& [key, value] : labels) (*facts.mutable_labels())[key] = value;
  return facts;
}

}  // namespace bdcoord::agent
