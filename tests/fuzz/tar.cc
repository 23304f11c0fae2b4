// The tar writer and reader: files made from arbitrary bytes either fail with InvalidArgument or
// give an archive whose first entry reads back; FirstTarEntry on arbitrary bytes never crashes.
#include "agent/docker/tar.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "agent/docker/docker_client.h"

namespace agent = bdcoord::agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  // As an archive read back from dockerd.
  (void)agent::FirstTarEntry(input);

  // As files: records separated by NUL, fields "path\x01content\x02mode\x03owner".
  std::vector<agent::ArchiveFile> files;
  for (absl::string_view record : absl::StrSplit(input, '\0')) {
    agent::ArchiveFile file;
    std::vector<absl::string_view> fields = absl::StrSplit(record, absl::ByAnyChar("\x01\x02\x03"));
    file.path = std::string(fields[0]);
    if (fields.size() > 1) file.content = std::string(fields[1]);
    if (fields.size() > 2) {
      uint32_t mode = 0;
      for (char c : fields[2]) mode = mode * 8 + (static_cast<unsigned char>(c) & 7);
      file.mode = mode;
    }
    if (fields.size() > 3) file.owner = std::string(fields[3]);
    files.push_back(std::move(file));
    if (files.size() >= 64) break;
  }
  agent::TarOptions options;
  options.parent_directories = !files.empty() && !files[0].content.empty();
  options.mtime_unix = static_cast<int64_t>(size) * 1000003;
  absl::StatusOr<std::string> archive = agent::BuildTar(files, options);
  if (!archive.ok()) {
    if (archive.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  if (archive->size() % 512 != 0) std::abort();
  absl::StatusOr<std::optional<agent::ArchiveFile>> first = agent::FirstTarEntry(*archive);
  if (!files.empty() && (!first.ok() || !first->has_value())) std::abort();
  return 0;
}
