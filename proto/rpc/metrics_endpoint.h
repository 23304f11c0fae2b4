#ifndef BDCOORD_PROTO_RPC_METRICS_ENDPOINT_H_
#define BDCOORD_PROTO_RPC_METRICS_ENDPOINT_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace bdcoord::rpc {

// bdcoordd's and bdagent's Prometheus endpoint: --metrics-listen HOST:PORT, off by default.

// --metrics-listen into `listen` (empty: no endpoint).
void AddMetricsListenFlag(CLI::App* app, std::string* listen);

// The address the HTTP server binds: HOST:PORT with HOST a loopback address (127.0.0.0/8,
// [::1] or localhost, which becomes 127.0.0.1; port 0: any free one). InvalidArgument naming the
// flag otherwise: the endpoint is plain HTTP without authentication, so it is scraped locally or
// through a proxy.
absl::StatusOr<std::string> MetricsBindAddress(const std::string& listen);

// Serves `registry` at http://LISTEN/metrics until the returned exposer is destroyed; nullptr
// when `listen` is empty. InvalidArgument as MetricsBindAddress, Unavailable when the port
// cannot be bound.
absl::StatusOr<std::unique_ptr<prometheus::Exposer>> StartMetricsEndpoint(
    const std::string& listen, const std::shared_ptr<prometheus::Registry>& registry);

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_METRICS_ENDPOINT_H_
