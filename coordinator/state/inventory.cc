#include "coordinator/state/inventory.h"

#include <algorithm>

namespace bdcoord::coordinator {

uint64_t Inventory::Hello(const std::string& name, const bdcoord::v1::HostFacts& facts,
                          absl::Time now) {
  absl::MutexLock lock(&mu_);
  Entry& entry = hosts_[name];
  entry.host.name = name;
  entry.host.facts = facts;
  entry.host.labels =
      std::map<std::string, std::string>(facts.labels().begin(), facts.labels().end());
  entry.host.connected = true;
  entry.host.down = false;
  entry.host.last_heartbeat = now;
  entry.host.session = next_session_++;
  return entry.host.session;
}

bool Inventory::Remember(const std::string& name, const bdcoord::v1::HostFacts& facts,
                         absl::Time since) {
  absl::MutexLock lock(&mu_);
  auto [it, added] = hosts_.try_emplace(name);
  if (!added) return false;
  InventoryHost& host = it->second.host;
  host.name = name;
  host.facts = facts;
  host.labels = std::map<std::string, std::string>(facts.labels().begin(), facts.labels().end());
  host.down = true;
  host.last_heartbeat = since;
  return true;
}

bool Inventory::Heartbeat(const std::string& name, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = hosts_.find(name);
  if (it == hosts_.end()) return false;
  it->second.host.last_heartbeat = std::max(it->second.host.last_heartbeat, now);
  it->second.host.connected = true;
  it->second.host.down = false;
  return true;
}

void Inventory::Disconnected(const std::string& name, uint64_t session) {
  absl::MutexLock lock(&mu_);
  auto it = hosts_.find(name);
  if (it == hosts_.end()) return;
  if (session != 0 && it->second.host.session != session) return;
  it->second.host.connected = false;
}

std::vector<std::string> Inventory::MarkDown(absl::Time now, absl::Duration timeout) {
  std::vector<std::string> names;
  absl::MutexLock lock(&mu_);
  for (auto& [name, entry] : hosts_) {
    if (!entry.host.connected || entry.host.down) continue;
    if (now - entry.host.last_heartbeat > timeout) {
      entry.host.down = true;
      entry.host.connected = false;
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Disconnected, and for at least `after` since its last heartbeat.
static bool GoneFor(const InventoryHost& host, absl::Time now, absl::Duration after) {
  return !host.connected && now - host.last_heartbeat >= after;
}

std::vector<std::string> Inventory::GoneFor(absl::Time now, absl::Duration after) const {
  std::vector<std::string> names;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, entry] : hosts_) {
    if (coordinator::GoneFor(entry.host, now, after)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Inventory::Forget(const std::vector<std::string>& names, absl::Time now,
                                           absl::Duration after) {
  std::vector<std::string> forgotten;
  absl::MutexLock lock(&mu_);
  for (const std::string& name : names) {
    auto it = hosts_.find(name);
    // Checked again: the host may have come back since the caller asked.
    if (it == hosts_.end() || !coordinator::GoneFor(it->second.host, now, after)) continue;
    hosts_.erase(it);
    forgotten.push_back(name);
  }
  std::sort(forgotten.begin(), forgotten.end());
  return forgotten;
}

std::vector<InventoryHost> Inventory::Hosts() const {
  std::vector<InventoryHost> hosts;
  {
    absl::MutexLock lock(&mu_);
    hosts.reserve(hosts_.size());
    for (const auto& [name, entry] : hosts_) hosts.push_back(entry.host);
  }
  std::sort(hosts.begin(), hosts.end(),
            [](const InventoryHost& a, const InventoryHost& b) { return a.name < b.name; });
  return hosts;
}

std::optional<InventoryHost> Inventory::Find(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = hosts_.find(name);
  if (it == hosts_.end()) return std::nullopt;
  return it->second.host;
}

}  // namespace bdcoord::coordinator
