#ifndef BDCOORD_AGENT_RECONCILE_HOSTS_WRITER_H_
#define BDCOORD_AGENT_RECONCILE_HOSTS_WRITER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bdcoord::agent {

// Reads and rewrites a container's /etc/hosts through the host-side file at HostsPath.
class HostsWriter {
 public:
  virtual ~HostsWriter() = default;
  virtual absl::StatusOr<std::string> Read(const std::string& hosts_path) = 0;
  // Rewrites the file IN PLACE (same inode): the container sees it through a bind mount, which
  // keeps pointing at the old inode if the file is replaced by a rename.
  virtual absl::Status WriteInPlace(const std::string& hosts_path, const std::string& content) = 0;
};

// The real one: plain file I/O on the host.
class FileHostsWriter : public HostsWriter {
 public:
  absl::StatusOr<std::string> Read(const std::string& hosts_path) override;
  absl::Status WriteInPlace(const std::string& hosts_path, const std::string& content) override;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_RECONCILE_HOSTS_WRITER_H_
