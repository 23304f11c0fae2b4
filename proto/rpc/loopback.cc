#include "proto/rpc/loopback.h"

#include <arpa/inet.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace bdcoord::rpc {

bool IsLoopbackHost(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return host == "localhost";
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view flag, const std::string& listen,
                                                 absl::string_view example) {
  const size_t colon = listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", listen, "' is not HOST:PORT (such as ", example, ")"));
  }
  std::string host = listen.substr(0, colon);
  if (host.find(':') != std::string::npos && !absl::StartsWith(host, "[")) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " '", listen, "': an IPv6 address goes in brackets, such as [::1]:", port));
  }
  return ListenAddress{.host = std::move(host), .port = static_cast<int>(port)};
}

}  // namespace bdcoord::rpc
