#ifndef BDCOORD_AGENT_RECONCILE_INSPECT_CACHE_H_
#define BDCOORD_AGENT_RECONCILE_INSPECT_CACHE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "agent/docker/docker_client.h"

namespace bdcoord::agent {

// What the agent last inspected of its containers, so that a pass does not ask Docker again
// about a container nothing happened to. Trusted only while Docker's event stream is known to
// carry the containers' changes: any state-changing event of a container, the agent's own action
// on it, or a lost stream sends the next look back to Docker. The stream counts as live from its
// first event on (that proves the subscription; a connection alone does not). Thread-safe: the
// event watcher feeds it while passes read it.
class InspectCache {
 public:
  // The state of the cache before an inspect, for Put: what changed after it invalidates it.
  using Ticket = uint64_t;

  std::optional<ContainerInfo> Get(const std::string& id) const;
  Ticket Before() const;
  // Keeps what an inspect begun at `before` saw, unless the container changed since or the
  // stream was not live then.
  void Put(Ticket before, const ContainerInfo& info);

  // One event from Docker's stream (type container): makes the stream live and, unless the
  // action changes nothing an inspect shows (exec_*, attach, archive-path...), forgets it.
  void OnEvent(const std::string& id, absl::string_view action);
  // The agent is about to act on the container (start, stop, remove).
  void Changed(const std::string& id);
  // The stream ended: nothing is trusted until it is live again.
  void StreamLost();

 private:
  void ChangedLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;  // counts changes
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t live_since_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, uint64_t> changed_at_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ContainerInfo> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_RECONCILE_INSPECT_CACHE_H_
