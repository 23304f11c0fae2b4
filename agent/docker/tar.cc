// Reads what dockerd's archive endpoint answers (the agent puts no files into containers:
// they are bind-mounted from its state directory).
#include "agent/docker/tar.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace bdcoord::agent {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kNameSize = 100;
constexpr size_t kPrefixSize = 155;

std::string Quoted(absl::string_view text) { return absl::StrCat("\"", text, "\""); }

// The value of a NUL- or space-terminated octal header field; nullopt when it is not octal.
std::optional<uint64_t> ReadOctal(absl::string_view field) {
  uint64_t value = 0;
  size_t at = 0;
  while (at < field.size() && field[at] == ' ') ++at;  // some writers pad on the left
  for (; at < field.size() && field[at] != '\0' && field[at] != ' '; ++at) {
    if (field[at] < '0' || field[at] > '7') return std::nullopt;
    value = value * 8 + static_cast<uint64_t>(field[at] - '0');
  }
  return value;
}

std::string CString(absl::string_view field) {
  return std::string(field.substr(0, std::min(field.size(), field.find('\0'))));
}

}  // namespace

absl::StatusOr<std::optional<ArchiveFile>> FirstTarEntry(absl::string_view archive) {
  for (size_t at = 0; at + kBlock <= archive.size();) {
    const absl::string_view header = archive.substr(at, kBlock);
    if (header.find_first_not_of('\0') == absl::string_view::npos) {
      return absl::InvalidArgumentError("the archive holds no entry");
    }
    const std::optional<uint64_t> size = ReadOctal(header.substr(124, 12));
    const std::optional<uint64_t> mode = ReadOctal(header.substr(100, 8));
    const std::optional<uint64_t> uid = ReadOctal(header.substr(108, 8));
    const std::optional<uint64_t> gid = ReadOctal(header.substr(116, 8));
    if (!size || !mode || !uid || !gid) {
      return absl::InvalidArgumentError(absl::StrCat("malformed tar header at byte ", at));
    }
    const size_t data = at + kBlock;
    const size_t next = data + (*size + kBlock - 1) / kBlock * kBlock;
    const char type = header[156];
    // Extended headers (PAX 'x' and 'g', GNU long names 'L' and 'K') describe the next entry.
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
      at = next;
      continue;
    }
    const std::string prefix = CString(header.substr(345, kPrefixSize));
    std::string name = CString(header.substr(0, kNameSize));
    if (!prefix.empty()) name = absl::StrCat(prefix, "/", name);
    if (name.empty()) {  // a directory's name.back() below needs one
      return absl::InvalidArgumentError(absl::StrCat("tar entry without a name at byte ", at));
    }
    if (type == '5') {
      if (name.back() != '/') name.push_back('/');
    } else if (type == '2') {
      return absl::InvalidArgumentError(absl::StrCat(Quoted(name), " is a symbolic link to ",
                                                     Quoted(CString(header.substr(157, 100)))));
    } else if (type != '0' && type != '\0') {
      return absl::InvalidArgumentError(
          absl::StrCat(Quoted(name), " is not a regular file or a directory (tar type '",
                       std::string(1, type), "')"));
    }
    if (archive.size() < data + *size) return std::nullopt;
    ArchiveFile entry;
    entry.path = std::move(name);
    entry.content = std::string(archive.substr(data, type == '5' ? 0 : *size));
    entry.mode = static_cast<uint32_t>(*mode & 07777);
    entry.owner = absl::StrCat(*uid, ":", *gid);
    return entry;
  }
  return std::nullopt;
}

}  // namespace bdcoord::agent
