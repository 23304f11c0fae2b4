#ifndef BDCOORD_COORDINATOR_STATE_LEADER_FENCE_H_
#define BDCOORD_COORDINATOR_STATE_LEADER_FENCE_H_

#include <cstdint>
#include <string>

namespace bdcoord::coordinator {

// What a store asks before each write: the leader key and its create revision while this
// coordinator leads (0 otherwise). The etcd store conditions every write on that key still having
// that revision, so a leader whose lease ended cannot write even before it knows.
class LeaderFence {
 public:
  virtual ~LeaderFence() = default;
  virtual std::string key() const = 0;
  virtual int64_t revision() const = 0;
};

// Whether this coordinator leads now, and who does: what its services and controller ask
// (bdcoordd over etcd; with SQLite there is none and it always leads).
class Leadership {
 public:
  virtual ~Leadership() = default;
  virtual bool IsLeader() const = 0;
  // The leader's address as last seen (this one's when it leads; "" when unknown).
  virtual std::string Leader() const = 0;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_LEADER_FENCE_H_
