#include "proto/rpc/coordinator_addresses.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace bdcoord::rpc {

absl::StatusOr<std::vector<std::string>> ParseCoordinatorAddresses(const std::string& flag,
                                                                   const std::string& text) {
  std::vector<std::string> addresses;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    const std::string address(absl::StripAsciiWhitespace(part));
    if (address.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " '", text,
                       "' has an empty address: give one or more addresses separated by commas "
                       "(such as unix:///run/a.sock,10.0.0.2:7443)"));
    }
    for (const std::string& seen : addresses) {
      if (seen == address) {
        return absl::InvalidArgumentError(
            absl::StrCat(flag, " '", text, "' names '", address, "' twice"));
      }
    }
    addresses.push_back(address);
  }
  return addresses;
}

std::optional<std::string> LeaderSearch::Next() {
  std::string address;
  if (!named_.empty()) {
    address = std::exchange(named_, "");
  } else {
    while (next_ < addresses_.size() && tried_.count(addresses_[next_]) != 0) ++next_;
    if (next_ == addresses_.size()) return std::nullopt;
    address = addresses_[next_++];
  }
  tried_.insert(address);
  return address;
}

void LeaderSearch::Redirected(const std::string& leader) {
  if (!leader.empty() && tried_.count(leader) == 0) named_ = leader;
}

}  // namespace bdcoord::rpc
