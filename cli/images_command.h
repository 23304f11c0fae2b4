#ifndef BDCOORD_CLI_IMAGES_COMMAND_H_
#define BDCOORD_CLI_IMAGES_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "bdcoord/v1/cluster.pb.h"
#include "cli/coordinator_client.h"

namespace bdcoord::cli {

struct ImagesOptions {
  std::vector<std::string> images;  // push: image names or `docker save` files
  std::vector<std::string> hosts;   // only these hosts (default: every connected host)
  std::string output = "table";     // ls: table | json
  std::string docker_host;          // push: the local Docker (default: LocalDockerHost())
  CoordinatorFlags coordinator;
};

// `bdcoord images push IMAGE...`: each image through the coordinator to the hosts that lack it,
// with progress (one line redrawn on a terminal, a line per tenth otherwise) and each host's
// result. 0 when every host has it, 1 when one failed or the coordinator refused, 2 for a file
// that is not a `docker save` archive.
int RunImagesPush(const ImagesOptions& options, std::ostream& out, std::ostream& err);
// `bdcoord images ls`: which host has which image.
int RunImagesLs(const ImagesOptions& options, std::ostream& out, std::ostream& err);

// The renderings, apart for tests: HOST IMAGE ID SIZE (one row per tag, `<none>` for an
// untagged image, IDs cut to 12 hex digits), or JSON.
std::string ImagesTable(const bdcoord::v1::ListImagesResponse& response);
std::string ImagesJson(const bdcoord::v1::ListImagesResponse& response);
// Each host's line of a push's result: `  host1  loaded   Loaded image: x:1`.
std::string PushResultLines(const bdcoord::v1::PushImageProgress& progress);

}  // namespace bdcoord::cli

#endif  // BDCOORD_CLI_IMAGES_COMMAND_H_
