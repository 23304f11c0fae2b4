#include "proto/rpc/bearer_token.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace bdcoord::rpc {

absl::StatusOr<std::string> CheckToken(const std::string& origin, absl::string_view token) {
  token = absl::StripAsciiWhitespace(token);
  if (token.empty())
    return absl::InvalidArgumentError(absl::StrCat(origin, ": the token is empty"));
  for (const char c : token) {
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": the token must be one word of printable ASCII characters"));
    }
  }
  return std::string(token);
}

absl::StatusOr<std::string> ReadFlagFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(flag, ": cannot read '", path, "': ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> text = ReadFlagFile(flag, path);
  if (!text.ok()) return text.status();
  return CheckToken(absl::StrCat(flag, " '", path, "'"), *text);
}

bool BearerTokenMatches(absl::string_view authorization, absl::string_view token) {
  constexpr size_t kPrefix = sizeof(kBearerPrefix) - 1;
  if (token.empty() || authorization.size() < kPrefix ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kPrefix), kBearerPrefix)) {
    return false;
  }
  const absl::string_view presented = authorization.substr(kPrefix);
  // Every byte of the token is compared, whatever the presented value is; only the token's own
  // length shows in the time taken.
  unsigned char diff = presented.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char got = i < presented.size() ? presented[i] : 0;
    diff |= got ^ static_cast<unsigned char>(token[i]);
  }
  return diff == 0;
}

}  // namespace bdcoord::rpc
