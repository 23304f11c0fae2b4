#ifndef BDCOORD_COORDINATOR_STATE_ETCD_KV_HTTP_H_
#define BDCOORD_COORDINATOR_STATE_ETCD_KV_HTTP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/state/etcd_kv.h"

namespace bdcoord::coordinator {

struct EtcdHttpOptions {
  std::vector<std::string> endpoints;  // HOST:PORT of etcd members' client URLs
  std::string prefix = "/bdcoord/";    // every key of the store starts with it
  // TLS to etcd (https) when `tls_ca` is set; `tls_cert` and `tls_key` for client certificates.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration request_timeout = absl::Seconds(5);
};

// `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]` (bdcoordd --store): the endpoints and the key
// prefix (default /bdcoord/). InvalidArgument saying what is wrong and what is expected.
absl::StatusOr<EtcdHttpOptions> ParseEtcdUrl(const std::string& url);

// EtcdKv over etcd's v3 JSON gateway (POST /v3/kv/range, /v3/kv/txn, /v3/lease/..., keys and
// values base64) with libcurl. It talks to one endpoint at a time and moves to the next when that
// one cannot be reached (the request was not sent); a request that timed out is not sent again.
absl::StatusOr<std::unique_ptr<EtcdKv>> NewEtcdHttpKv(const EtcdHttpOptions& options);

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_STATE_ETCD_KV_HTTP_H_
