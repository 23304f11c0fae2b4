#include "coordinator/state/etcd_kv_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace bdcoord::coordinator {
namespace {

using Json = nlohmann::json;

constexpr char kUrlForm[] =
    "etcd://HOST:PORT[,HOST:PORT...][/PREFIX] such as etcd://127.0.0.1:2379";

absl::Status BadUrl(const std::string& url, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("store URL '", url, "': ", why, "; expected ", kUrlForm));
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

size_t Append(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// etcd's JSON gives 64-bit integers as strings (proto3's mapping), small ones sometimes as numbers.
int64_t Int(const Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  int64_t value = 0;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &value)) return value;
  return 0;
}

std::string Bytes(const Json& object, const char* field) {
  auto it = object.find(field);
  std::string bytes;
  if (it != object.end() && it->is_string()) absl::Base64Unescape(it->get<std::string>(), &bytes);
  return bytes;
}

std::vector<EtcdKeyValue> Kvs(const Json& range) {
  std::vector<EtcdKeyValue> kvs;
  auto it = range.find("kvs");
  if (it == range.end() || !it->is_array()) return kvs;
  for (const Json& kv : *it) {
    kvs.push_back({Bytes(kv, "key"), Bytes(kv, "value"), Int(kv, "create_revision"),
                   Int(kv, "mod_revision"), Int(kv, "lease")});
  }
  return kvs;
}

Json OpJson(const EtcdOp& op) {
  Json body = {{"key", absl::Base64Escape(op.key)}};
  if (!op.range_end.empty()) body["range_end"] = absl::Base64Escape(op.range_end);
  switch (op.kind) {
    case EtcdOp::Kind::kRange:
      if (op.keys_only) body["keys_only"] = true;
      return {{"request_range", body}};
    case EtcdOp::Kind::kPut:
      body["value"] = absl::Base64Escape(op.value);
      if (op.lease != 0) body["lease"] = std::to_string(op.lease);
      return {{"request_put", body}};
    case EtcdOp::Kind::kDelete:
      return {{"request_delete_range", body}};
  }
  return body;
}

Json CompareJson(const EtcdCompare& compare) {
  static constexpr const char* kResults[] = {"EQUAL", "NOT_EQUAL", "LESS", "GREATER"};
  Json body = {{"key", absl::Base64Escape(compare.key)},
               {"result", kResults[static_cast<int>(compare.result)]}};
  if (!compare.range_end.empty()) body["range_end"] = absl::Base64Escape(compare.range_end);
  switch (compare.target) {
    case EtcdCompare::Target::kCreateRevision:
      body["target"] = "CREATE";
      body["create_revision"] = std::to_string(compare.revision);
      break;
    case EtcdCompare::Target::kModRevision:
      body["target"] = "MOD";
      body["mod_revision"] = std::to_string(compare.revision);
      break;
    case EtcdCompare::Target::kValue:
      body["target"] = "VALUE";
      body["value"] = absl::Base64Escape(compare.value);
      break;
  }
  return body;
}

class EtcdHttpKv final : public EtcdKv {
 public:
  explicit EtcdHttpKv(EtcdHttpOptions options) : options_(std::move(options)) {
    const char* scheme = options_.tls_ca.empty() ? "http://" : "https://";
    for (const std::string& endpoint : options_.endpoints) {
      urls_.push_back(absl::StrCat(scheme, endpoint));
    }
  }
  ~EtcdHttpKv() override = default;

  absl::StatusOr<EtcdRangeResult> Range(const std::string& key, const std::string& range_end,
                                        bool keys_only) override {
    Json request = {{"key", absl::Base64Escape(key)}};
    if (!range_end.empty()) request["range_end"] = absl::Base64Escape(range_end);
    if (keys_only) request["keys_only"] = true;
    absl::StatusOr<Json> response = Post("/v3/kv/range", request);
    if (!response.ok()) return response.status();
    return EtcdRangeResult{Kvs(*response), Int((*response)["header"], "revision")};
  }

  absl::StatusOr<EtcdTxnResult> Txn(const std::vector<EtcdCompare>& compares,
                                    const std::vector<EtcdOp>& success,
                                    const std::vector<EtcdOp>& failure) override {
    Json request = Json::object();
    Json& compare_json = request["compare"] = Json::array();
    for (const EtcdCompare& compare : compares) compare_json.push_back(CompareJson(compare));
    Json& success_json = request["success"] = Json::array();
    for (const EtcdOp& op : success) success_json.push_back(OpJson(op));
    Json& failure_json = request["failure"] = Json::array();
    for (const EtcdOp& op : failure) failure_json.push_back(OpJson(op));
    absl::StatusOr<Json> response = Post("/v3/kv/txn", request);
    if (!response.ok()) return response.status();
    EtcdTxnResult result;
    result.succeeded = response->value("succeeded", false);
    result.revision = Int((*response)["header"], "revision");
    if (auto it = response->find("responses"); it != response->end() && it->is_array()) {
      for (const Json& one : *it) {
        if (auto range = one.find("response_range"); range != one.end()) {
          result.ranges.push_back(Kvs(*range));
        }
      }
    }
    return result;
  }

  absl::StatusOr<int64_t> LeaseGrant(absl::Duration ttl) override {
    const int64_t seconds =
        std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(ttl, absl::Seconds(1))));
    absl::StatusOr<Json> response = Post("/v3/lease/grant", {{"TTL", std::to_string(seconds)}});
    if (!response.ok()) return response.status();
    const int64_t id = Int(*response, "ID");
    if (id == 0) {
      return absl::InternalError(absl::StrCat(Describe(), ": lease grant: no lease ID in ",
                                              response->dump().substr(0, 200)));
    }
    return id;
  }

  absl::Status LeaseKeepAlive(int64_t lease) override {
    absl::StatusOr<Json> response = Post("/v3/lease/keepalive", {{"ID", std::to_string(lease)}});
    if (!response.ok()) return response.status();
    // An expired lease answers with no TTL.
    if (Int(response->value("result", Json::object()), "TTL") <= 0) {
      return absl::NotFoundError(absl::StrCat(Describe(), ": lease ", lease, " expired"));
    }
    return absl::OkStatus();
  }

  absl::Status LeaseRevoke(int64_t lease) override {
    return Post("/v3/lease/revoke", {{"ID", std::to_string(lease)}}).status();
  }

  std::string Describe() const override {
    return absl::StrCat("etcd at ", absl::StrJoin(urls_, ","));
  }

 private:
  // POSTs to the current endpoint, moving on to the next ones while they cannot be reached. An
  // endpoint that took the request but gave no HTTP answer (a member dying, a proxy in front of
  // a dead one) is left for the next request; a read goes on to the next endpoint at once, where
  // anything else may have been done and fails.
  absl::StatusOr<Json> Post(const char* path, const Json& request) {
    const std::string body = request.dump();
    const bool read = std::string_view(path) == "/v3/kv/range";
    size_t first;
    {
      absl::MutexLock lock(&mu_);
      first = current_;
    }
    std::vector<std::string> unreachable;
    for (size_t i = 0; i < urls_.size(); ++i) {
      const size_t index = (first + i) % urls_.size();
      Delivery delivery = Delivery::kNotSent;
      absl::StatusOr<Json> response = PostTo(urls_[index], path, body, &delivery);
      const bool last = i + 1 == urls_.size();
      if (delivery == Delivery::kAnswered || (delivery == Delivery::kNoAnswer && (!read || last))) {
        absl::MutexLock lock(&mu_);
        if (delivery == Delivery::kNoAnswer) {
          current_ = (index + 1) % urls_.size();
        } else if (i > 0) {
          current_ = index;
        }
        return response;
      }
      unreachable.push_back(std::string(response.status().message()));
    }
    return absl::UnavailableError(
        absl::StrCat(path, ": no etcd endpoint answers: ", absl::StrJoin(unreachable, "; ")));
  }

  // How far a request went: not sent (no connection), sent without an HTTP answer, answered.
  enum class Delivery { kNotSent, kNoAnswer, kAnswered };

  absl::StatusOr<Json> PostTo(const std::string& url, const char* path, const std::string& body,
                              Delivery* delivery) {
    CurlPtr curl = Acquire();
    if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
    CURL* h = curl.get();
    const std::string full = url + path;
    std::string answer;
    char error[CURL_ERROR_SIZE] = {0};
    std::unique_ptr<curl_slist, SlistDeleter> headers(
        curl_slist_append(nullptr, "Content-Type: application/json"));
    curl_easy_setopt(h, CURLOPT_URL, full.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options_.request_timeout)));
    if (!options_.tls_ca.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, options_.tls_ca.c_str());
      if (!options_.tls_cert.empty())
        curl_easy_setopt(h, CURLOPT_SSLCERT, options_.tls_cert.c_str());
      if (!options_.tls_key.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, options_.tls_key.c_str());
    }
    const CURLcode code = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    Release(std::move(curl));
    const std::string curl_text = error[0] != '\0' ? error : curl_easy_strerror(code);
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
        (code == CURLE_OPERATION_TIMEDOUT && status == 0 && answer.empty() &&
         absl::StrContains(curl_text, "onnect"))) {
      return absl::UnavailableError(absl::StrCat(url, ": ", curl_text));  // not sent
    }
    *delivery = status == 0 ? Delivery::kNoAnswer : Delivery::kAnswered;
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return absl::UnavailableError(absl::StrCat(
          "etcd at ", url, path, ": no answer in ", absl::FormatDuration(options_.request_timeout),
          " (whether it was done is not known): ", curl_text));
    }
    if (code != CURLE_OK) {
      return absl::UnavailableError(absl::StrCat("etcd at ", url, path, ": ", curl_text));
    }
    Json response = Json::parse(answer, nullptr, /*allow_exceptions=*/false);
    if (response.is_discarded() || !response.is_object()) {
      return absl::InternalError(absl::StrCat("etcd at ", url, path, ": HTTP ", status,
                                              ", not JSON: ", answer.substr(0, 200)));
    }
    if (status != 200) {
      // The gateway's error: {"error": ..., "code": gRPC code, "message": ...}; gRPC's codes
      // are absl's.
      const int64_t grpc_code = Int(response, "code");
      const std::string message = response.value("message", response.value("error", answer));
      const auto code_of = grpc_code > 0 && grpc_code <= 16
                               ? static_cast<absl::StatusCode>(grpc_code)
                               : absl::StatusCode::kInternal;
      std::string hint;
      if (absl::StrContains(message, "too many operations in txn request")) {
        hint = " (start etcd with a larger --max-txn-ops, such as 10000)";
      } else if (absl::StrContains(message, "request is too large")) {
        hint = " (start etcd with a larger --max-request-bytes, such as 10485760)";
      }
      return absl::Status(code_of, absl::StrCat("etcd at ", url, path, ": ", message, hint));
    }
    return response;
  }

  CurlPtr Acquire() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CurlPtr curl = std::move(idle_.back());
        idle_.pop_back();
        return curl;
      }
    }
    return CurlPtr(curl_easy_init());
  }
  void Release(CurlPtr curl) {
    curl_easy_reset(curl.get());
    absl::MutexLock lock(&mu_);
    if (idle_.size() < 8) idle_.push_back(std::move(curl));  // keeps their connections
  }

  const EtcdHttpOptions options_;
  std::vector<std::string> urls_;
  absl::Mutex mu_;
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<CurlPtr> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<EtcdHttpOptions> ParseEtcdUrl(const std::string& url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "etcd://")) return BadUrl(url, "it does not start with etcd://");
  EtcdHttpOptions options;
  if (const size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    options.prefix = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
    if (options.prefix.back() != '/') options.prefix += '/';
  }
  if (rest.empty()) return BadUrl(url, "it names no etcd endpoint");
  for (absl::string_view endpoint : absl::StrSplit(rest, ',')) {
    const size_t colon = endpoint.rfind(':');
    if (endpoint.empty()) return BadUrl(url, "an endpoint is empty");
    if (colon == absl::string_view::npos || colon == 0) {
      return BadUrl(url, absl::StrCat("endpoint '", endpoint,
                                      "' is not HOST:PORT (etcd's client port is usually 2379)"));
    }
    int port = 0;
    if (!absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return BadUrl(url, absl::StrCat("endpoint '", endpoint, "' has no valid port"));
    }
    options.endpoints.emplace_back(endpoint);
  }
  return options;
}

absl::StatusOr<std::unique_ptr<EtcdKv>> NewEtcdHttpKv(const EtcdHttpOptions& options) {
  static std::once_flag once;
  static CURLcode global_init = CURLE_OK;
  std::call_once(once, [] { global_init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global_init != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init failed: ", curl_easy_strerror(global_init)));
  }
  if (options.endpoints.empty()) return absl::InvalidArgumentError("no etcd endpoint");
  return std::unique_ptr<EtcdKv>(new EtcdHttpKv(options));
}

}  // namespace bdcoord::coordinator
