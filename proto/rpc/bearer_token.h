#ifndef BDCOORD_PROTO_RPC_BEARER_TOKEN_H_
#define BDCOORD_PROTO_RPC_BEARER_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bdcoord::rpc {

// The metadata key and scheme of the token: `authorization: Bearer <token>`.
inline constexpr char kAuthorizationKey[] = "authorization";
inline constexpr char kBearerPrefix[] = "Bearer ";

// Reads the token in `path` for `flag` (one token; surrounding whitespace and the final newline
// are dropped). Errors name the flag and the path: unreadable or empty files, and tokens with
// inner whitespace or characters other than printable ASCII (they cannot travel as metadata).
absl::StatusOr<std::string> ReadTokenFile(const std::string& flag, const std::string& path);

// The whole file named by `flag`; NotFound "FLAG: cannot read 'PATH': why" when it cannot be read.
absl::StatusOr<std::string> ReadFlagFile(const std::string& flag, const std::string& path);

// Checks a token given as a value (e.g. from $BDCOORD_TOKEN) the same way; `origin` names it.
absl::StatusOr<std::string> CheckToken(const std::string& origin, absl::string_view token);

// Whether an `authorization` metadata value carries `token` ("Bearer <token>", the scheme in any
// case). Takes the same time whatever the presented value has in common with the token.
bool BearerTokenMatches(absl::string_view authorization, absl::string_view token);

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_BEARER_TOKEN_H_
