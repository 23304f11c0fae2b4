#ifndef BDCOORD_COORDINATOR_STATE_LEADER_ELECTION_H_
#define BDCOORD_COORDINATOR_STATE_LEADER_ELECTION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/state/election_logic.h"
#include "coordinator/state/etcd_kv.h"
#include "coordinator/state/leader_fence.h"

namespace bdcoord::coordinator {

struct LeaderElectionOptions {
  std::string key;        // the leader key, such as /bdcoord/leader
  std::string advertise;  // this coordinator's address, the key's value (what followers name)
  absl::Duration ttl = absl::Seconds(5);
  std::function<absl::Time()> now;  // the clock
};

// One leader among the coordinators sharing an etcd: campaign by a transaction that creates the
// key with a lease only if it does not exist (create_revision == 0), renew the lease a third of
// its TTL apart, step down when it may have ended, campaign again as a follower; Resign() (also
// on destruction) revokes the lease so that another takes over at once. One thread.
class LeaderElection final : public LeaderFence, public Leadership {
 public:
  LeaderElection(EtcdKv* kv, LeaderElectionOptions options);
  ~LeaderElection() override;
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  void Start();
  // Stops campaigning and gives the key up (revokes the lease). Idempotent.
  void Resign();
  // Stops without giving anything up, as a coordinator killed by SIGKILL would (tests).
  void Abandon();

  bool IsLeader() const override;
  // The leader's address as last seen (this one's when it leads; "" when unknown).
  std::string Leader() const override;
  // Waits until it leads or `timeout` passes.
  bool AwaitLeadership(absl::Duration timeout) const;

  std::string key() const override { return options_.key; }
  int64_t revision() const override;

 private:
  void Run();
  void Step() ABSL_LOCKS_EXCLUDED(mu_);

  EtcdKv* const kv_;
  const LeaderElectionOptions options_;
  mutable absl::Mutex mu_;
  ElectionLogic logic_ ABSL_GUARDED_BY(mu_);
  int64_t lease_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_campaign_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_LEADER_ELECTION_H_
