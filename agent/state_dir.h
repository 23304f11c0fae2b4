#ifndef BDCOORD_AGENT_STATE_DIR_H_
#define BDCOORD_AGENT_STATE_DIR_H_

#include <string>

#include "absl/status/statusor.h"

namespace bdcoord::agent {

// The agent's state directory (--state-dir: the instances' files, the clusters' hosts maps),
// held for the life of the process so that two agents never share one.
class StateDirLock {
 public:
  // Makes the directory (root's, 0700: files may hold secrets) and locks it. FailedPrecondition
  // naming the flag when another process holds it.
  static absl::StatusOr<StateDirLock> Acquire(const std::string& directory);
  StateDirLock(StateDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  StateDirLock& operator=(StateDirLock&&) = delete;
  ~StateDirLock();

 private:
  explicit StateDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_STATE_DIR_H_
