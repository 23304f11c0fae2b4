#include "coordinator/web/http_access.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/rpc/bearer_token.h"
#include "proto/rpc/loopback.h"

namespace bdcoord::coordinator {
namespace {

// HOST of HOST[:PORT] (an IPv6 address in brackets keeps them).
absl::string_view HostOf(absl::string_view host_port) {
  if (absl::StartsWith(host_port, "[")) {
    const size_t close = host_port.find(']');
    return close == absl::string_view::npos ? host_port : host_port.substr(0, close + 1);
  }
  return host_port.substr(0, host_port.find(':'));
}

}  // namespace

absl::StatusOr<HttpBind> ParseHttpListen(const std::string& listen, bool tls_configured,
                                         bool token_configured) {
  absl::StatusOr<rpc::ListenAddress> address =
      rpc::ParseListenAddress("--http-listen", listen, "127.0.0.1:8080");
  if (!address.ok()) return address.status();
  const std::string& host = address->host;
  HttpBind bind{.host = host,
                .port = address->port,
                .tls = tls_configured,
                .loopback = rpc::IsLoopbackHost(host)};
  if (!bind.loopback && !tls_configured) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to serve the status page on '", listen,
        "' without TLS: it is not a loopback address\n  hint: add --tls-cert and --tls-key (the "
        "page is then HTTPS), or listen on 127.0.0.1:PORT and reach it through an SSH tunnel"));
  }
  if (!token_configured) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to serve the status page on '", listen,
        "' without a token: any user who can reach it could read the cluster and its logs\n  "
        "hint: add --token-file FILE, and open the page as ",
        tls_configured ? "https" : "http", "://", listen, "/#token=TOKEN"));
  }
  if (host == "localhost") bind.host = "127.0.0.1";  // the server binds literal addresses
  if (absl::StartsWith(bind.host, "[")) bind.host = bind.host.substr(1, bind.host.size() - 2);
  return bind;
}

std::optional<HttpRefusal> CheckHttpRequest(const HttpBind& bind, absl::string_view host_header,
                                            absl::string_view authorization,
                                            absl::string_view token, bool needs_token) {
  if (bind.loopback && !rpc::IsLoopbackHost(std::string(HostOf(host_header)))) {
    return HttpRefusal{
        .status = 403,
        .message = absl::StrCat("the status page answers loopback names only, not '", host_header,
                                "': open it as ", bind.tls ? "https" : "http",
                                "://127.0.0.1:", bind.port, "/")};
  }
  if (needs_token && (token.empty() || !rpc::BearerTokenMatches(authorization, token))) {
    return HttpRefusal{.status = 401,
                       .message =
                           "missing or invalid bearer token: open the page as "
                           "/#token=TOKEN (the token of bdcoordd --token-file)"};
  }
  return std::nullopt;
}

}  // namespace bdcoord::coordinator
