#ifndef BDCOORD_COORDINATOR_STATE_INVENTORY_H_
#define BDCOORD_COORDINATOR_STATE_INVENTORY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bdcoord/v1/agent.pb.h"

namespace bdcoord::coordinator {

// One Docker host as the live inventory sees it.
struct InventoryHost {
  std::string name;
  bdcoord::v1::HostFacts facts;
  std::map<std::string, std::string> labels;  // from facts.labels
  bool connected = false;
  bool down = false;  // missed its heartbeats; cleared by the next hello or heartbeat
  absl::Time last_heartbeat = absl::InfinitePast();
  uint64_t session = 0;  // changes at every hello: a reconnected agent must be told everything
};

// The hosts whose agents connected: facts, labels, connection and heartbeat state. Pure (every
// time is an argument, no clock, no I/O) and thread-safe.
class Inventory {
 public:
  // An agent said hello: registers the host or refreshes its facts; it is connected and up.
  // Returns the session number of this connection (for Disconnected).
  uint64_t Hello(const std::string& name, const bdcoord::v1::HostFacts& facts, absl::Time now);
  // A host known from before a coordinator restart that has not said hello yet: registered, not
  // connected and down, as if its last heartbeat were at `since`. False (nothing changes) for a
  // host already known.
  bool Remember(const std::string& name, const bdcoord::v1::HostFacts& facts, absl::Time since);
  // False for a host that never said hello.
  bool Heartbeat(const std::string& name, absl::Time now);
  // The agent's stream ended. With a session, only when that session is still the host's
  // current one (a reconnect may have replaced it already); 0 means whatever the session.
  void Disconnected(const std::string& name, uint64_t session = 0);
  // Connected hosts whose last heartbeat is older than `timeout` are marked down and
  // disconnected. Returns the names newly marked down, sorted.
  std::vector<std::string> MarkDown(absl::Time now, absl::Duration timeout);
  // Hosts not connected whose last heartbeat (or hello) is at least `after` before `now`,
  // sorted: the candidates for Forget.
  std::vector<std::string> GoneFor(absl::Time now, absl::Duration after) const;
  // Removes those of `names` that are still gone for `after` at `now` (a host that came back
  // meanwhile stays). Returns the names removed, sorted.
  std::vector<std::string> Forget(const std::vector<std::string>& names, absl::Time now,
                                  absl::Duration after);
  // Every host, sorted by name.
  std::vector<InventoryHost> Hosts() const;
  std::optional<InventoryHost> Find(const std::string& name) const;

 private:
  struct Entry {
    InventoryHost host;
  };
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> hosts_ ABSL_GUARDED_BY(mu_);
  uint64_t next_session_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_INVENTORY_H_
