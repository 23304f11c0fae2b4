#ifndef BDCOORD_AGENT_RECONCILE_CONTAINER_USER_H_
#define BDCOORD_AGENT_RECONCILE_CONTAINER_USER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bdcoord::agent {

// An instance's `user:` as Docker reads it: USER or USER:GROUP, each a name or a number.
struct UserSpec {
  std::string user;
  std::optional<uint32_t> uid;  // set when `user` is a number
  std::optional<std::string> group;
  std::optional<uint32_t> gid;  // set when `group` is a number
};

// The numbers a container runs as, and owns its files and new volumes with.
struct NumericUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// InvalidArgument naming the text when it is not USER[:GROUP] (numbers up to 2147483647).
absl::StatusOr<UserSpec> ParseUserSpec(absl::string_view text);

// Which of the image's files the numbers need: /etc/passwd for a user name, or for a bare uid
// (its primary group); /etc/group for a group name. "uid:gid" needs neither.
bool NeedsPasswd(const UserSpec& spec);
bool NeedsGroup(const UserSpec& spec);

// Docker's rules (moby/sys/user GetExecUser), from the image's own /etc/passwd and /etc/group
// (nullopt: the image has none): a user name is looked up (first match wins) and brings its
// primary group; a uid is taken as it is, with its primary group when /etc/passwd lists it, else
// group 0; GROUP replaces the group (a name looked up, a number as it is). A name the image lacks
// is NotFound: `user 'zookeper' is not in the image's /etc/passwd`.
absl::StatusOr<NumericUser> ResolveUser(const UserSpec& spec,
                                        const std::optional<std::string>& passwd,
                                        const std::optional<std::string>& group);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_RECONCILE_CONTAINER_USER_H_
