#ifndef BDCOORD_AGENT_DOCKER_TAR_H_
#define BDCOORD_AGENT_DOCKER_TAR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/docker/docker_client.h"

namespace bdcoord::agent {

struct TarOptions {
  // Emit an entry for every parent directory of every file (mode directory_mode, owned by
  // root), before the first file inside it. Note that extractors, dockerd included, apply a
  // directory entry's mode and owner to a directory that already exists: /tmp/x would make /tmp
  // 0755. DockerClient::PutFiles therefore turns this off and lets dockerd create the missing
  // parents (root, 0755) while leaving existing ones as they are.
  bool parent_directories = true;
  uint32_t directory_mode = 0755;
  // Modification time of every entry, seconds since the epoch (pure: no clock here).
  int64_t mtime_unix = 0;
};

// Builds an uncompressed POSIX ustar archive of the files, in order, with names relative to "/"
// (what PUT /containers/{id}/archive?path=/ expects). Paths must be absolute and normalized (no
// "", "." or ".." components). A path ending in '/' is an explicit directory entry with that
// mode and owner (its content must be empty); an explicit directory replaces the implicit
// parent entry for the same path. Names longer than 100 bytes are split into the ustar prefix
// (up to 155 bytes) and name fields. owner is "uid:gid" (numeric) or empty for 0:0.
// Fails with InvalidArgument naming the offending path.
absl::StatusOr<std::string> BuildTar(const std::vector<ArchiveFile>& files,
                                     const TarOptions& options = {});

// The first entry of a tar stream (what GET /containers/{id}/archive answers: the path itself
// first, named by its base name, then what a directory holds): its name as in the archive (a
// directory's ends in '/'), content, permission bits and "uid:gid". nullopt while `archive` is
// too short to hold it. PAX and GNU extension headers before it are skipped. An archive that ends
// first, a malformed header, and an entry that is neither a regular file nor a directory (a
// symbolic link...) are InvalidArgument.
absl::StatusOr<std::optional<ArchiveFile>> FirstTarEntry(absl::string_view archive);

// Parses "uid:gid" (decimal, each at most 07777777 so that it fits the ustar field); an empty
// string is 0:0.
absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseOwner(absl::string_view owner);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DOCKER_TAR_H_
