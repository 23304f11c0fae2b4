// Writes ustar archives for the tests of the archive reader (agent/docker/tar.h): the agent
// itself only reads them (a container's /etc/passwd), it puts no files into containers.
#include "tests/testing/tar_builder.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace bdcoord::agent::testing {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kNameSize = 100;
constexpr size_t kPrefixSize = 155;
constexpr uint32_t kMaxId = 07777777;           // 7 octal digits
constexpr uint64_t kMaxSize = 077777777777ULL;  // 11 octal digits
constexpr int64_t kMaxMtime = 077777777777LL;   // 11 octal digits

std::string Quoted(absl::string_view text) { return absl::StrCat("\"", text, "\""); }

absl::Status BadPath(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("archive path ", Quoted(path), ": ", why));
}

// Writes `value` as `width - 1` zero-padded octal digits followed by a NUL.
void PutOctal(char* field, size_t width, uint64_t value) {
  const std::string text = absl::StrFormat("%0*o", static_cast<int>(width - 1), value);
  std::memcpy(field, text.data(), width - 1);
  field[width - 1] = '\0';
}

// Splits a relative name into the ustar (prefix, name) fields.
absl::StatusOr<std::pair<std::string, std::string>> SplitName(absl::string_view full,
                                                              absl::string_view original) {
  if (full.size() <= kNameSize) return std::make_pair(std::string(), std::string(full));
  // A directory's trailing '/' belongs to the name part, so never split there.
  const size_t search_end = full.back() == '/' ? full.size() - 1 : full.size();
  for (size_t i = 0; i < search_end; ++i) {
    if (full[i] != '/') continue;
    const size_t name_size = full.size() - i - 1;
    if (i <= kPrefixSize && name_size <= kNameSize && name_size > 0) {
      return std::make_pair(std::string(full.substr(0, i)), std::string(full.substr(i + 1)));
    }
    if (i > kPrefixSize) break;
  }
  return BadPath(original, absl::StrFormat("too long for a ustar header (%d bytes; at most a "
                                           "155-byte directory prefix and a 100-byte name)",
                                           full.size()));
}

struct Entry {
  std::string name;  // relative, directories end in '/'
  std::string original;
  char type = '0';
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  const std::string* content = nullptr;
};

absl::Status AppendEntry(const Entry& entry, int64_t mtime, std::string& out) {
  absl::StatusOr<std::pair<std::string, std::string>> split = SplitName(entry.name, entry.original);
  if (!split.ok()) return split.status();
  const uint64_t size = entry.content == nullptr ? 0 : entry.content->size();
  if (size > kMaxSize) return BadPath(entry.original, "content too large for a ustar header");

  char header[kBlock];
  std::memset(header, 0, sizeof(header));
  std::memcpy(header + 0, split->second.data(), split->second.size());  // name[100]
  PutOctal(header + 100, 8, entry.mode & 07777);                        // mode
  PutOctal(header + 108, 8, entry.uid);                                 // uid
  PutOctal(header + 116, 8, entry.gid);                                 // gid
  PutOctal(header + 124, 12, size);                                     // size
  PutOctal(header + 136, 12, static_cast<uint64_t>(mtime));             // mtime
  header[156] = entry.type;                                             // typeflag
  std::memcpy(header + 257, "ustar", 6);                                // magic, NUL-terminated
  std::memcpy(header + 263, "00", 2);                                   // version
  PutOctal(header + 329, 8, 0);                                         // devmajor
  PutOctal(header + 337, 8, 0);                                         // devminor
  std::memcpy(header + 345, split->first.data(), split->first.size());  // prefix[155]
  // The checksum is computed with its own field as eight spaces.
  std::memset(header + 148, ' ', 8);
  uint32_t sum = 0;
  for (unsigned char c : header) sum += c;
  const std::string checksum = absl::StrFormat("%06o", sum);
  std::memcpy(header + 148, checksum.data(), 6);
  header[154] = '\0';
  header[155] = ' ';

  out.append(header, sizeof(header));
  if (entry.content != nullptr) {
    out.append(*entry.content);
    const size_t padding = (kBlock - size % kBlock) % kBlock;
    out.append(padding, '\0');
  }
  return absl::OkStatus();
}

// Checks an absolute path and returns it relative to "/" (a directory keeps its trailing '/').
absl::StatusOr<std::string> RelativeName(absl::string_view path, bool directory) {
  if (path.empty() || path[0] != '/') return BadPath(path, "must be absolute");
  if (path.find('\0') != absl::string_view::npos) return BadPath(path, "contains a NUL byte");
  absl::string_view rest = path.substr(1);
  if (directory && !rest.empty()) rest.remove_suffix(1);
  if (rest.empty()) return BadPath(path, "names the root directory");
  for (absl::string_view part : absl::StrSplit(rest, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return BadPath(path, "must be normalized (no empty, \".\" or \"..\" components)");
    }
  }
  return directory ? absl::StrCat(rest, "/") : std::string(rest);
}

}  // namespace

absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseOwner(absl::string_view owner) {
  if (owner.empty()) return std::make_pair(0u, 0u);
  const std::vector<absl::string_view> parts = absl::StrSplit(owner, ':');
  auto parse = [](absl::string_view text, uint32_t& value) {
    if (text.empty() || text.size() > 8) return false;
    uint64_t v = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > kMaxId) return false;
    value = static_cast<uint32_t>(v);
    return true;
  };
  uint32_t uid = 0;
  uint32_t gid = 0;
  if (parts.size() != 2 || !parse(parts[0], uid) || !parse(parts[1], gid)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "owner ", Quoted(owner), " is not a numeric \"uid:gid\" (each at most ", kMaxId, ")"));
  }
  return std::make_pair(uid, gid);
}

absl::StatusOr<std::string> BuildTar(const std::vector<ArchiveFile>& files,
                                     const TarOptions& options) {
  if (options.mtime_unix < 0 || options.mtime_unix > kMaxMtime) {
    return absl::InvalidArgumentError(
        absl::StrCat("archive mtime ", options.mtime_unix, " does not fit a ustar header"));
  }
  // First pass: validate everything and collect the explicit directories.
  std::vector<Entry> entries;
  std::set<std::string> explicit_dirs;
  std::set<std::string> seen;
  for (const ArchiveFile& file : files) {
    const bool directory = !file.path.empty() && file.path.back() == '/';
    absl::StatusOr<std::string> name = RelativeName(file.path, directory);
    if (!name.ok()) return name.status();
    if (directory && !file.content.empty()) {
      return BadPath(file.path, "a directory entry cannot have content");
    }
    absl::StatusOr<std::pair<uint32_t, uint32_t>> owner = ParseOwner(file.owner);
    if (!owner.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("archive path ", Quoted(file.path), ": ", owner.status().message()));
    }
    // "a" and "a/" are the same path in the container.
    const std::string key = directory ? name->substr(0, name->size() - 1) : *name;
    if (!seen.insert(key).second) return BadPath(file.path, "appears twice");
    if (directory) explicit_dirs.insert(key);
    Entry entry;
    entry.name = *std::move(name);
    entry.original = file.path;
    entry.type = directory ? '5' : '0';
    entry.mode = file.mode;
    entry.uid = owner->first;
    entry.gid = owner->second;
    entry.content = directory ? nullptr : &file.content;
    entries.push_back(std::move(entry));
  }

  std::string out;
  std::set<std::string> emitted_dirs;
  for (const Entry& entry : entries) {
    if (options.parent_directories) {
      // Every proper ancestor of the entry, outermost first.
      for (size_t slash = entry.name.find('/');
           slash != std::string::npos && slash + 1 < entry.name.size();
           slash = entry.name.find('/', slash + 1)) {
        const std::string dir = entry.name.substr(0, slash);
        if (explicit_dirs.count(dir) > 0 || !emitted_dirs.insert(dir).second) continue;
        Entry parent;
        parent.name = absl::StrCat(dir, "/");
        parent.original = absl::StrCat("/", dir, "/");
        parent.type = '5';
        parent.mode = options.directory_mode;
        absl::Status status = AppendEntry(parent, options.mtime_unix, out);
        if (!status.ok()) return status;
      }
    }
    absl::Status status = AppendEntry(entry, options.mtime_unix, out);
    if (!status.ok()) return status;
  }
  out.append(2 * kBlock, '\0');  // end-of-archive marker
  return out;
}

}  // namespace bdcoord::agent::testing
