#ifndef BDCOORD_COORDINATOR_STATE_ELECTION_LOGIC_H_
#define BDCOORD_COORDINATOR_STATE_ELECTION_LOGIC_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/time/time.h"

namespace bdcoord::coordinator {

// What one coordinator knows of the leader election, and when it acts next. Pure: no I/O, no
// clock (every time is given). LeaderElection (leader_election.h) feeds it etcd's answers.
//
// A coordinator leads from the campaign it won until its lease may have ended: the lease runs
// `ttl` from the moment the request that granted or renewed it was SENT (etcd counts from when
// it received it, which is later), and it stops counting itself leader `margin` before that, so
// that it steps down before etcd gives the key to another.
class ElectionLogic {
 public:
  explicit ElectionLogic(absl::Duration ttl, absl::Duration margin = absl::ZeroDuration())
      : ttl_(ttl), margin_(margin == absl::ZeroDuration() ? ttl / 5 : margin) {}

  // The campaign won: the leader key was created at `revision`, its lease asked for at `sent`.
  void Won(int64_t revision, absl::Time sent) {
    revision_ = revision;
    leader_.clear();
    lease_ends_ = sent + ttl_;
    renewed_at_ = sent;
  }
  // The campaign lost: `leader` (its advertised address) holds the key.
  void Lost(std::string leader) {
    revision_ = 0;
    leader_ = std::move(leader);
  }
  // A renewal sent at `sent` was answered.
  void KeptAlive(absl::Time sent) {
    if (revision_ == 0) return;
    lease_ends_ = std::max(lease_ends_, sent + ttl_);
    renewed_at_ = std::max(renewed_at_, sent);
  }
  // The lease is gone (etcd says so, or it was resigned): a follower now.
  void LeaseGone() {
    revision_ = 0;
    leader_.clear();
  }

  // Whether it won and has not heard that the lease is gone (it may still have to step down).
  bool won() const { return revision_ != 0; }
  // Whether it leads at `now`: it won, and its lease surely runs (with the margin).
  bool LeadsAt(absl::Time now) const { return revision_ != 0 && now < lease_ends_ - margin_; }
  // The leader key's create revision while it leads (what its writes compare), else 0.
  int64_t RevisionAt(absl::Time now) const { return LeadsAt(now) ? revision_ : 0; }
  // Whether it won and then let the lease run out without hearing so (it must step down).
  bool ExpiredAt(absl::Time now) const { return revision_ != 0 && !LeadsAt(now); }
  // The leader's address as last seen by a lost campaign ("" when unknown or itself).
  const std::string& leader() const { return leader_; }

  // When to act next: a leader renews three times a lease; a follower campaigns again as often
  // (the key goes when the leader's lease ends, up to ttl after the leader died).
  absl::Time NextActionAt(absl::Time last_campaign) const {
    return revision_ != 0 ? renewed_at_ + ttl_ / 3 : last_campaign + ttl_ / 3;
  }

  absl::Duration ttl() const { return ttl_; }

 private:
  const absl::Duration ttl_;
  const absl::Duration margin_;
  int64_t revision_ = 0;  // 0: not the leader
  std::string leader_;
  absl::Time lease_ends_ = absl::InfinitePast();
  absl::Time renewed_at_ = absl::InfinitePast();
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_ELECTION_LOGIC_H_
