#ifndef BDCOORD_TESTS_UNIT_COORDINATOR_STATE_STORE_CONTRACT_H_
#define BDCOORD_TESTS_UNIT_COORDINATOR_STATE_STORE_CONTRACT_H_

// The Store's contract, one suite for every implementation (SQLite in state_test, etcd in
// store_etcd_test against a real etcd and in state_test against tests/testing's fake): a binary
// instantiates StoreContractTest with its backends.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "coordinator/state/store.h"

namespace bdcoord::coordinator {

// One implementation's state for one test: Open() may be called again (a restart) and sees
// what the store before it wrote.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  virtual absl::StatusOr<std::unique_ptr<Store>> Open() = 0;
  // What the backend still keeps of `cluster` (its rows, its keys), one line each.
  virtual std::vector<std::string> Leftovers(const std::string& cluster) = 0;
};

struct StoreBackendParam {
  std::string name;
  std::unique_ptr<StoreBackend> (*make)();
};

class StoreContractTest : public ::testing::TestWithParam<StoreBackendParam> {
 protected:
  void SetUp() override;
  void TearDown() override {
    store_.reset();
    backend_.reset();
  }
  // Opens the store (again: a restart); aborts the test when it cannot.
  Store& Open();

  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
};

// The keys of an etcd store (key -> value, every key under `prefix`) that still name `cluster`:
// its own keys (clusters/C, rollouts/C, statuses/C/..., completions/C/...) and the IPs it holds.
inline std::vector<std::string> EtcdLeftovers(const std::map<std::string, std::string>& keys,
                                              const std::string& prefix,
                                              const std::string& cluster) {
  std::vector<std::string> left;
  for (const auto& [key, value] : keys) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = key.substr(prefix.size());
    const std::string tail = "/" + cluster;
    const bool own = rest.find(tail + "/") != std::string::npos ||
                     (rest.size() > tail.size() &&
                      rest.compare(rest.size() - tail.size(), tail.size(), tail) == 0 &&
                      rest.compare(0, 4, "ips/") != 0);
    const bool ip = rest.compare(0, 4, "ips/") == 0 &&
                    value.find("\"cluster\":\"" + cluster + "\"") != std::string::npos;
    if (own || ip) left.push_back(rest);
  }
  return left;
}

// The stores' info lines (a line per apply) kept out of the test output; before any store logs.
void QuietStoreLogger();

// For gtest's messages and INSTANTIATE_TEST_SUITE_P's names.
inline void PrintTo(const StoreBackendParam& param, std::ostream* out) { *out << param.name; }
inline std::string BackendName(const ::testing::TestParamInfo<StoreBackendParam>& info) {
  return info.param.name;
}

// A service of a test cluster.
struct TestService {
  std::string name;
  int count = 1;
  bool run_once = false;
};

// A cluster whose instances are `<service><index>` on hosts h1..h3, with IPs 10.<octet>.0.<n>
// (n from 1 + ip_shift), in service then index order; host hK has shim address 10.<octet>.0.25K.
inline AppliedCluster MakeCluster(const std::string& name, int octet,
                                  const std::vector<TestService>& services, int ip_shift = 0) {
  AppliedCluster cluster;
  cluster.name = name;
  cluster.spec_file = absl::StrCat(name, ".yaml");
  cluster.spec_yaml = absl::StrCat("cluster: ", name, "\n");
  cluster.applied_at = absl::FromUnixSeconds(1700000000);
  cluster.spec.set_cluster(name);
  cluster.spec.set_domain(absl::StrCat(name, ".lan"));
  cluster.placement.set_cluster(name);
  int total = 0;
  for (const TestService& service : services) total += service.count;
  int n = 0;
  for (const TestService& service : services) {
    bdcoord::v1::Service* s = cluster.spec.add_services();
    s->set_name(service.name);
    s->set_count(static_cast<uint32_t>(service.count));
    s->set_run_once(service.run_once);
    for (int index = 1; index <= service.count; ++index, ++n) {
      bdcoord::v1::PlacedInstance* instance = cluster.placement.add_instances();
      instance->set_name(absl::StrCat(service.name, index));
      instance->set_service(service.name);
      instance->set_index(static_cast<uint32_t>(index));
      instance->set_host(absl::StrCat("h", 1 + n % 3));
      instance->set_ip(absl::StrCat("10.", octet, ".0.", 1 + (n + ip_shift) % total));
      instance->set_network("lan");
      instance->set_fqdn(absl::StrCat(instance->name(), ".", name, ".lan"));
    }
  }
  // One shim address per host with instances (host_shim on "lan").
  for (int h = 1; h <= std::min(n, 3); ++h) {
    bdcoord::v1::ShimAddress* shim = cluster.placement.add_shims();
    shim->set_network("lan");
    shim->set_host(absl::StrCat("h", h));
    shim->set_address(absl::StrCat("10.", octet, ".0.", 250 + h));
  }
  return cluster;
}

inline bdcoord::v1::InstanceStatus MakeStatus(const std::string& name,
                                              bdcoord::v1::InstanceState state,
                                              const std::string& container_id = "c0ffee") {
  bdcoord::v1::InstanceStatus status;
  status.set_name(name);
  status.set_service(name.substr(0, name.find_first_of("0123456789")));
  status.set_state(state);
  status.set_container_id(container_id);
  return status;
}

inline std::vector<std::string> Names(const AppliedCluster& cluster) {
  std::vector<std::string> names;
  for (const auto& instance : cluster.placement.instances()) names.push_back(instance.name());
  return names;
}

template <typename Map>
inline std::vector<std::string> Keys(const Map& map) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : map) keys.push_back(key);
  return keys;
}

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_TESTS_UNIT_COORDINATOR_STATE_STORE_CONTRACT_H_
