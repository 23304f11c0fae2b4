#ifndef BDCOORD_CLI_DOCKER_ARCHIVE_H_
#define BDCOORD_CLI_DOCKER_ARCHIVE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bdcoord::cli {

// What a `docker save` archive holds: its images' IDs (sha256:...) and tags. Pure.
struct ArchiveImages {
  std::vector<std::string> ids;
  std::vector<std::string> repo_tags;
};

// One entry's header of a tar archive (a 512-byte block): its name and size. std::nullopt for
// the zero block that ends the archive; InvalidArgument for a block that is no tar header.
struct TarEntry {
  std::string name;
  int64_t size = 0;
};
absl::StatusOr<std::optional<TarEntry>> ParseTarHeader(absl::string_view block);

// The images of an archive from its manifest.json (`[{"Config": "<hex>.json" or
// "blobs/sha256/<hex>", "RepoTags": [...]}]`). InvalidArgument saying what is wrong.
absl::StatusOr<ArchiveImages> ParseDockerManifest(absl::string_view manifest);

// A reference as Docker lists its tags: "name" is "name:latest"; a tag or a digest is kept.
std::string NormalizeImageReference(absl::string_view reference);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_DOCKER_ARCHIVE_H_
