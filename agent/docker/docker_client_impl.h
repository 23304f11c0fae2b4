#ifndef BDCOORD_AGENT_DOCKER_DOCKER_CLIENT_IMPL_H_
#define BDCOORD_AGENT_DOCKER_DOCKER_CLIENT_IMPL_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/docker/docker_client.h"

namespace bdcoord::agent {

struct DockerClientOptions {
  std::string socket_path = "/var/run/docker.sock";
  // Whole-request limit for ordinary calls. Streams (Logs with follow, Events) have none; Logs
  // without follow fails if no byte arrives for this long; StopContainer adds its own timeout.
  std::chrono::milliseconds request_timeout{60'000};
  std::chrono::milliseconds connect_timeout{5'000};
  // Idle connections (libcurl easy handles) kept for reuse; calls made concurrently beyond this
  // open extra connections that are closed afterwards.
  size_t max_idle_connections = 4;
};

// The newest Engine API version this client speaks. The client uses min(daemon's, this).
inline constexpr char kMaxDockerApiVersion[] = "1.45";

// The real DockerClient: libcurl over dockerd's unix socket, http://docker/v<api>/...
// The API version is negotiated on first use from GET /version (and again by Version()); the
// socket need not exist yet when the client is made. Thread-safe; calls may run concurrently.
//
// Errors read "<METHOD> <path>: HTTP <status>: <Docker's message>" (path without /v1.xx and the
// query). Codes: 400 InvalidArgument; 403 FailedPrecondition; 404 NotFound (Remove* included:
// callers that want idempotence treat it as done); 409 AlreadyExists when creating, and
// FailedPrecondition where it means a wrong state (exec on a stopped container, removing a
// running one, a network in use); 5xx Internal; no daemon at the socket Unavailable naming the
// path; the connection closed mid-response Unavailable; a request or connect timeout
// DeadlineExceeded; a 2xx whose JSON is truncated or invalid Internal saying which.
// Start/Stop treat 304 (already in that state) as success. Stream callbacks must not throw (an
// exception is caught and reported as Internal).
absl::StatusOr<std::unique_ptr<DockerClient>> NewDockerClient(const DockerClientOptions& options);

// min(server_api, kMaxDockerApiVersion), raised to server_min_api when the daemon no longer
// accepts that (it then has the last word). InvalidArgument if server_api is not "MAJOR.MINOR".
absl::StatusOr<std::string> NegotiateDockerApiVersion(absl::string_view server_api,
                                                      absl::string_view server_min_api);

}  // namespace bdcoord::agent

#endif  // BDCOORD_AGENT_DOCKER_DOCKER_CLIENT_IMPL_H_
