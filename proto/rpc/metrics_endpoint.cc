#include "proto/rpc/metrics_endpoint.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "proto/rpc/loopback.h"

namespace bdcoord::rpc {

void AddMetricsListenFlag(CLI::App* app, std::string* listen) {
  app->add_option("--metrics-listen", *listen,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics; plain HTTP, so HOST must "
                  "be a loopback address (127.0.0.1, [::1], localhost). Off by default")
      ->type_name("HOST:PORT");
}

absl::StatusOr<std::string> MetricsBindAddress(const std::string& listen) {
  absl::StatusOr<ListenAddress> address =
      ParseListenAddress("--metrics-listen", listen, "127.0.0.1:9464");
  if (!address.ok()) return address.status();
  std::string host = address->host;
  if (!IsLoopbackHost(host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to serve metrics on '", listen,
        "': not a loopback address, and the metrics endpoint is plain HTTP without "
        "authentication\n  hint: listen on 127.0.0.1:PORT or [::1]:PORT and scrape it locally, "
        "or through a proxy that adds TLS"));
  }
  if (host == "localhost") host = "127.0.0.1";  // the HTTP server binds literal addresses only
  return absl::StrCat(host, ":", address->port);
}

absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartMetricsEndpoint(
    const std::string& listen, const std::shared_ptr<prometheus::Registry>& registry) {
  if (listen.empty()) return nullptr;
  absl::StatusOr<std::string> bind_address = MetricsBindAddress(listen);
  if (!bind_address.ok()) return bind_address.status();
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(*bind_address, /*num_threads=*/1);
  } catch (const std::exception& error) {  // civetweb throws when it cannot bind
    return absl::UnavailableError(
        absl::StrCat("--metrics-listen: cannot listen on '", listen, "': ", error.what()));
  }
  exposer->RegisterCollectable(registry);
  return exposer;
}

}  // namespace bdcoord::rpc
