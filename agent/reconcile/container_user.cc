#include "agent/reconcile/container_user.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace bdcoord::agent {
namespace {

constexpr uint32_t kMaxId = 2147483647;  // Docker's limit (32-bit systems)

// A number (all digits, in range) or a name (what Docker looks up): false for neither.
bool ParsePart(absl::string_view text, std::string* name, std::optional<uint32_t>* id) {
  if (text.empty() || text[0] == '-') return false;
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-' &&
        c != '$') {
      return false;
    }
  }
  *name = std::string(text);
  if (text.find_first_not_of("0123456789") != absl::string_view::npos) return true;
  uint32_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value > kMaxId) return false;
  *id = value;
  return true;
}

// The fields of the first line of a passwd or group file whose field `key` is `value`
// (comments and blank lines skipped, like glibc).
std::optional<std::vector<std::string>> Find(const std::string& file, int key,
                                             absl::string_view value) {
  for (absl::string_view line : absl::StrSplit(file, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, ':');
    if (fields.size() > 3 && fields[key] == value) return fields;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<UserSpec> ParseUserSpec(absl::string_view text) {
  UserSpec spec;
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  bool ok = parts.size() <= 2 && ParsePart(parts[0], &spec.user, &spec.uid);
  if (ok && parts.size() == 2) {
    std::string group;
    ok = ParsePart(parts[1], &group, &spec.gid);
    spec.group = group;
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "user '", text, "' is not USER or USER:GROUP (names, or numbers up to ", kMaxId, ")"));
  }
  return spec;
}

bool NeedsPasswd(const UserSpec& spec) { return !spec.uid || !spec.group; }

bool NeedsGroup(const UserSpec& spec) { return spec.group && !spec.gid; }

absl::StatusOr<NumericUser> ResolveUser(const UserSpec& spec,
                                        const std::optional<std::string>& passwd,
                                        const std::optional<std::string>& group) {
  NumericUser numbers;
  // passwd: name:password:UID:GID:...; a numeric user is matched by uid only, like Docker.
  if (auto entry = passwd ? Find(*passwd, spec.uid ? 2 : 0, spec.user) : std::nullopt) {
    if (!absl::SimpleAtoi((*entry)[2], &numbers.uid) ||
        !absl::SimpleAtoi((*entry)[3], &numbers.gid)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the image's /etc/passwd has a malformed line for user '", spec.user, "'"));
    }
  } else if (spec.uid) {
    numbers = {*spec.uid, 0};
  } else {
    return absl::NotFoundError(absl::StrCat("user '", spec.user,
                                            "' is not in the image's /etc/passwd",
                                            passwd ? "" : " (the image has none)"));
  }
  if (spec.gid) {
    numbers.gid = *spec.gid;
  } else if (spec.group) {
    // group: name:password:GID:members
    const auto entry = group ? Find(*group, 0, *spec.group) : std::nullopt;
    if (!entry) {
      return absl::NotFoundError(absl::StrCat("group '", *spec.group,
                                              "' is not in the image's /etc/group",
                                              group ? "" : " (the image has none)"));
    }
    if (!absl::SimpleAtoi((*entry)[2], &numbers.gid)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the image's /etc/group has a malformed line for group '", *spec.group, "'"));
    }
  }
  return numbers;
}

}  // namespace bdcoord::agent
