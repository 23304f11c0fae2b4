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

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_LEADER_FENCE_H_
