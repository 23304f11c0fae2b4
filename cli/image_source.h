#ifndef BDCOORD_CLI_IMAGE_SOURCE_H_
#define BDCOORD_CLI_IMAGE_SOURCE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/docker_archive.h"

namespace bdcoord::cli {

// Where `bdcoord images push` reads an image: a `docker save` file, or the local Docker (the
// CLI's machine's dockerd, GET /images/{name}/get over its unix socket).
struct ImageSource {
  std::string name;         // as the user gave it
  std::string file;         // the archive's path; empty: the local Docker
  std::string docker_host;  // unix:///PATH of the local Docker
  ArchiveImages images;     // its IDs and tags
  int64_t size_bytes = 0;   // the file's size, or the image's as Docker counts it
};

// The local Docker's address: $DOCKER_HOST when set, else unix:///var/run/docker.sock.
std::string LocalDockerHost();

// What `name` is: an existing file (or a name ending in .tar) is a `docker save` archive, read
// for its manifest (the rest skipped, never read whole); anything else an image of the local
// Docker, inspected. Errors say which file or image and what is wrong, with a hint;
// InvalidArgument for a file that is not a `docker save` archive or a DOCKER_HOST that is not
// unix://, NotFound for a missing file or image, Unavailable when the local Docker cannot be
// reached.
absl::StatusOr<ImageSource> ResolveImageSource(const std::string& name,
                                               const std::string& docker_host);

// Reads the archive, in pieces of at most `piece_bytes`, in order, into `sink` (which may
// block: that is the flow control); false from the sink stops it (OK).
absl::Status ReadImageArchive(const ImageSource& source, size_t piece_bytes,
                              const std::function<bool(std::string)>& sink);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_IMAGE_SOURCE_H_
