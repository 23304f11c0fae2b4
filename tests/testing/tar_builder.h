#ifndef BDCOORD_TESTS_TESTING_TAR_BUILDER_H_
#define BDCOORD_TESTS_TESTING_TAR_BUILDER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/docker/docker_client.h"

// A ustar writer, for tests of the archive reader (agent/docker/tar.h FirstTarEntry).
namespace bdcoord::agent::testing {

struct TarOptions {
  // Emit an entry for every parent directory of every file (mode directory_mode, owned by
  // root), before the first file inside it. Note that extractors, dockerd included, apply a
  // directory entry's mode and owner to a directory that already exists: /tmp/x would make /tmp
  // 0755.
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

// Parses "uid:gid" (decimal, each at most 07777777 so that it fits the ustar field); an empty
// string is 0:0.
absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseOwner(absl::string_view owner);

}  // namespace bdcoord::agent::testing

#endif  // BDCOORD_TESTS_TESTING_TAR_BUILDER_H_
