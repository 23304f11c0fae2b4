#ifndef BDCOORD_AGENT_RECONCILE_HOST_FILES_H_
#define BDCOORD_AGENT_RECONCILE_HOST_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bdcoord::agent {

struct FileOwner {
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool operator==(const FileOwner&) const = default;
};

// The files the agent keeps on its host for its containers: each instance's `files` and each
// cluster's hosts map under the agent's state directory, bind-mounted into the containers (no
// archive upload on the start path; a new hosts map is one write), the roots of new volumes,
// and the /etc/hosts of containers made before that (Docker's own file at HostsPath).
class HostFiles {
 public:
  virtual ~HostFiles() = default;
  // NotFound when there is no such file.
  virtual absl::StatusOr<std::string> Read(const std::string& path) = 0;
  // Rewrites an existing file IN PLACE (same inode): a container sees it through a bind mount,
  // which keeps pointing at the old inode if the file is replaced by a rename. Never creates it.
  virtual absl::Status WriteInPlace(const std::string& path, const std::string& content) = 0;
  // Creates the file (and its missing parent directories, root's, 0700) with this content, mode
  // and owner, replacing one that was there; a symbolic link in its place is not followed.
  virtual absl::Status Create(const std::string& path, const std::string& content, uint32_t mode,
                              FileOwner owner) = 0;
  virtual absl::StatusOr<FileOwner> OwnerOf(const std::string& path) = 0;
  virtual absl::Status SetOwner(const std::string& path, FileOwner owner) = 0;
  // The names in a directory (empty when it does not exist).
  virtual absl::StatusOr<std::vector<std::string>> List(const std::string& directory) = 0;
  // Removes the path and everything under it (symbolic links are removed, never followed); a
  // path that does not exist is fine.
  virtual absl::Status RemoveAll(const std::string& path) = 0;
};

// The real one: plain file I/O on the host.
class LocalHostFiles : public HostFiles {
 public:
  absl::StatusOr<std::string> Read(const std::string& path) override;
  absl::Status WriteInPlace(const std::string& path, const std::string& content) override;
  absl::Status Create(const std::string& path, const std::string& content, uint32_t mode,
                      FileOwner owner) override;
  absl::StatusOr<FileOwner> OwnerOf(const std::string& path) override;
  absl::Status SetOwner(const std::string& path, FileOwner owner) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& directory) override;
  absl::Status RemoveAll(const std::string& path) override;
};

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_RECONCILE_HOST_FILES_H_
