#include "agent/state_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace bdcoord::agent {

absl::StatusOr<StateDirLock> StateDirLock::Acquire(const std::string& directory) {
  auto error = [&](const std::string& what) {
    return absl::FailedPreconditionError(
        absl::StrCat("--state-dir ", directory, ": ", what, ": ", std::strerror(errno)));
  };
  if (directory.empty() || directory[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("--state-dir must be an absolute path, not '", directory, "'"));
  }
  for (size_t slash = directory.find('/', 1);; slash = directory.find('/', slash + 1)) {
    const std::string part = directory.substr(0, slash);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return error("cannot make it");
    if (slash == std::string::npos) break;
  }
  const std::string path = absl::StrCat(directory, "/lock");
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return error("cannot open its lock file");
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    close(fd);
    if (busy) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--state-dir ", directory,
          " is in use by another bdagent: give each agent on this machine its own --state-dir"));
    }
    return error("cannot lock it");
  }
  return StateDirLock(fd);
}

StateDirLock::~StateDirLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace bdcoord::agent
