#ifndef BDCOORD_AGENT_DOCKER_TAR_H_
#define BDCOORD_AGENT_DOCKER_TAR_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/docker/docker_client.h"

namespace bdcoord::agent {

// The first entry of a tar stream (what GET /containers/{id}/archive answers: the path itself
// first, named by its base name, then what a directory holds): its name as in the archive (a
// directory's ends in '/'), content, permission bits and "uid:gid". nullopt while `archive` is
// too short to hold it. PAX and GNU extension headers before it are skipped. An archive that ends
// first, a malformed header, and an entry that is neither a regular file nor a directory (a
// symbolic link...) are InvalidArgument.
absl::StatusOr<std::optional<ArchiveFile>> FirstTarEntry(absl::string_view archive);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DOCKER_TAR_H_
