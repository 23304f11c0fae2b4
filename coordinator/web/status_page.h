#ifndef BDCOORD_COORDINATOR_WEB_STATUS_PAGE_H_
#define BDCOORD_COORDINATOR_WEB_STATUS_PAGE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "coordinator/web/http_access.h"

namespace bdcoord::coordinator {

// bdcoordd's read-only status page (--http-listen): racks, hosts, instances with their IPs and
// states, services' progress, a rollout, the last events, and an instance's recent logs, from
// the coordinator's own ClusterService (an in-process channel, with the token), so the page
// sees exactly what `bdcoord status`, `hosts`, `events` and `logs` see. The HTML, CSS and
// script are built into the binary (assets/): no CDN, nothing from the internet.
//
//   GET /                      the page (/status.js, /status.css beside it)
//   GET /api/status            {"clusters": [...], "hosts": [...], "events": [...]} (proto JSON)
//   GET /api/logs?cluster=C&target=INSTANCE&tail=N   {"lines": [...]} (N <= 1000, default 200)
class StatusPage {
 public:
  struct Options {
    HttpBind bind;                  // ParseHttpListen
    std::string tls_cert, tls_key;  // PEM files, for bind.tls
    std::string token;              // required of /api/ requests when set
    size_t events_kept = 50;        // the last events the page shows
  };

  // Binds and starts serving on a thread of its own, and starts watching events. Unavailable
  // "cannot listen on ..." when the address cannot be bound; InvalidArgument when the TLS files
  // cannot be loaded.
  static absl::StatusOr<std::unique_ptr<StatusPage>> Start(
      Options options, std::unique_ptr<bdcoord::v1::ClusterService::StubInterface> cluster);
  virtual ~StatusPage() = default;

  virtual int port() const = 0;  // the bound port (options.bind.port, or the one picked for 0)
  virtual std::string url() const = 0;  // http[s]://HOST:PORT/
  // Stops serving and watching; returns when both threads are done. Call before the
  // coordinator stops (the destructor does it too).
  virtual void Stop() = 0;
};

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_WEB_STATUS_PAGE_H_
