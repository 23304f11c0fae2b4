#ifndef BDCOORD_COORDINATOR_WEB_HTTP_ACCESS_H_
#define BDCOORD_COORDINATOR_WEB_HTTP_ACCESS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bdcoord::coordinator {

// Who may see the status page (bdcoordd --http-listen): the API's rules carried over to HTTP.
// Pure: no sockets, no clock.

// Where and how the page is served.
struct HttpBind {
  std::string host;  // a literal address, without brackets (what the HTTP server binds)
  int port = 0;      // 0: any free port
  bool tls = false;  // HTTPS with --tls-cert and --tls-key
  bool loopback = false;
};

// --http-listen HOST:PORT. The page always needs the token, as the API on TCP does (on loopback
// any user of the machine could otherwise read the cluster and its logs); off loopback it also
// needs TLS (a browser brings no client certificate, so the token stands in for it). On
// loopback it is plain HTTP unless TLS is configured. InvalidArgument naming the flag otherwise.
absl::StatusOr<HttpBind> ParseHttpListen(const std::string& listen, bool tls_configured,
                                         bool token_configured);

// Why a request is refused, as an HTTP status and a message for the page.
struct HttpRefusal {
  int status = 0;
  std::string message;
};

// Whether a request for the page's data may be answered: on a loopback bind the Host header
// must name a loopback address (a web page elsewhere that resolves its own name to 127.0.0.1,
// DNS rebinding, is refused); the Authorization header must carry the token. The page's
// static files carry no data and need only the Host check.
std::optional<HttpRefusal> CheckHttpRequest(const HttpBind& bind, absl::string_view host_header,
                                            absl::string_view authorization,
                                            absl::string_view token, bool needs_token);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_WEB_HTTP_ACCESS_H_
