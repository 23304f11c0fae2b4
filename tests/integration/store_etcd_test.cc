// The Store's contract (tests/unit/coordinator/state/store_contract.cc) against a real etcd
// (Debian's etcd-server) that this binary starts on free loopback ports with its data in a
// temporary directory, and kills by its PID at the end. Every test has a key prefix of its own.
#include "coordinator/state/store_etcd.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coordinator/state/etcd_kv_http.h"
#include "coordinator/state/leader_election.h"
#include "tests/testing/etcd_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/coordinator/state/store_contract.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::HasSubstr;

// The one etcd of this binary.
class EtcdEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    QuietStoreLogger();
    std::string pattern = ::testing::TempDir() + "store_etcd_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    const absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<test_util::EtcdProcess>> etcd =
        test_util::EtcdProcess::Start(dir_);
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
    std::printf("etcd up on %s in %s\n", etcd_->endpoint().c_str(),
                absl::FormatDuration(absl::Now() - start).c_str());
  }
  void TearDown() override {
    etcd_.reset();
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
  }
  static test_util::EtcdProcess& etcd() { return *instance->etcd_; }
  static EtcdEnvironment* instance;

 private:
  std::string dir_;
  std::unique_ptr<test_util::EtcdProcess> etcd_;
};
EtcdEnvironment* EtcdEnvironment::instance = [] {
  auto* environment = new EtcdEnvironment();
  ::testing::AddGlobalTestEnvironment(environment);  // gtest owns it
  return environment;
}();

std::unique_ptr<EtcdKv> Client() {
  EtcdHttpOptions options;
  options.endpoints = {EtcdEnvironment::etcd().endpoint()};
  absl::StatusOr<std::unique_ptr<EtcdKv>> kv = NewEtcdHttpKv(options);
  EXPECT_TRUE(kv.ok()) << kv.status();
  return kv.ok() ? *std::move(kv) : nullptr;
}

class RealEtcdBackend : public StoreBackend {
 public:
  RealEtcdBackend() {
    static std::atomic<int> next{0};
    prefix_ = absl::StrCat("/contract-", next++, "/");
  }
  absl::StatusOr<std::unique_ptr<Store>> Open() override {
    return OpenEtcdStore(Client(), prefix_);
  }
  std::vector<std::string> Leftovers(const std::string& cluster) override {
    std::map<std::string, std::string> keys;
    absl::StatusOr<EtcdRangeResult> range = Client()->Range(prefix_, EtcdPrefixEnd(prefix_));
    EXPECT_TRUE(range.ok()) << range.status();
    if (range.ok()) {
      for (const EtcdKeyValue& kv : range->kvs) keys[kv.key] = kv.value;
    }
    return EtcdLeftovers(keys, prefix_, cluster);
  }

 private:
  std::string prefix_;
};

INSTANTIATE_TEST_SUITE_P(
    Etcd, StoreContractTest,
    ::testing::Values(StoreBackendParam{
        "Etcd", [] { return std::unique_ptr<StoreBackend>(std::make_unique<RealEtcdBackend>()); }}),
    BackendName);

// The real gateway's answers where the fake cannot tell: leases and their keys, a range
// compare, and the error of a transaction etcd refuses.
TEST(EtcdKvTest, TheJsonGatewayDoesWhatTheInterfaceSays) {
  std::unique_ptr<EtcdKv> kv = Client();
  ASSERT_NE(kv, nullptr);
  ASSERT_TRUE(kv->Put("/kv-test/a", std::string("\0\xff binary", 9)).ok());
  absl::StatusOr<EtcdRangeResult> range = kv->Range("/kv-test/", EtcdPrefixEnd("/kv-test/"));
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].value, std::string("\0\xff binary", 9));
  const int64_t written = range->kvs[0].mod_revision;
  EXPECT_GT(written, 0);

  // A compare on a stale revision fails and runs the failure branch.
  absl::StatusOr<EtcdTxnResult> txn =
      kv->Txn({EtcdCompare::ModRevisionIs("/kv-test/a", written - 1)},
              {EtcdOp::Delete("/kv-test/a")}, {EtcdOp::Get("/kv-test/a")});
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_FALSE(txn->succeeded);
  ASSERT_EQ(txn->ranges.size(), 1u);
  ASSERT_EQ(txn->ranges[0].size(), 1u);
  // Every key under a prefix unchanged since a revision: a range compare.
  txn = kv->Txn({{"/kv-test/", EtcdPrefixEnd("/kv-test/"), EtcdCompare::Target::kModRevision,
                  EtcdCompare::Result::kLess, range->revision + 1, ""}},
                {EtcdOp::Put("/kv-test/b", "x")}, {});
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_TRUE(txn->succeeded);

  // A key with a lease goes with it.
  absl::StatusOr<int64_t> lease = kv->LeaseGrant(absl::Seconds(5));
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(kv->Put("/kv-test/leader", "me", *lease).ok());
  EXPECT_TRUE(kv->LeaseKeepAlive(*lease).ok());
  ASSERT_TRUE(kv->LeaseRevoke(*lease).ok());
  EXPECT_TRUE(kv->Range("/kv-test/leader", "")->kvs.empty());
  const absl::Status expired = kv->LeaseKeepAlive(*lease);
  EXPECT_EQ(expired.code(), absl::StatusCode::kNotFound) << expired;

  // etcd refuses a transaction that writes a key twice: its message and code come through.
  txn = kv->Txn({}, {EtcdOp::Put("/kv-test/c", "1"), EtcdOp::Put("/kv-test/c", "2")}, {});
  EXPECT_EQ(txn.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      txn.status().message(),
      HasSubstr(absl::StrCat("etcd at http://", EtcdEnvironment::etcd().endpoint(),
                             "/v3/kv/txn: etcdserver: duplicate key given in txn request")));
}

// With several endpoints, one that does not answer is passed over.
TEST(EtcdKvTest, ADeadEndpointIsPassedOver) {
  EtcdHttpOptions options;
  options.endpoints = {absl::StrCat("127.0.0.1:", test_util::FreeLoopbackPort()),
                       EtcdEnvironment::etcd().endpoint()};
  absl::StatusOr<std::unique_ptr<EtcdKv>> kv = NewEtcdHttpKv(options);
  ASSERT_TRUE(kv.ok());
  absl::StatusOr<std::unique_ptr<Store>> store = OpenEtcdStore(*std::move(kv), "/two-endpoints/");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).ok());
}

// Takes connections and closes them unanswered, as a dying member or a proxy in front of a dead
// one does.
class SilentEndpoint {
 public:
  SilentEndpoint() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      for (int client; (client = ::accept(fd_, nullptr, nullptr)) >= 0;) ::close(client);
    });
  }
  ~SilentEndpoint() {
    ::shutdown(fd_, SHUT_RDWR);  // ends the accept
    thread_.join();
    ::close(fd_);
  }
  std::string endpoint() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// An endpoint that takes a request and gives no answer: a read goes on to the next endpoint at
// once; a write fails (whether it was done is not known) and the next goes to the next endpoint.
TEST(EtcdKvTest, AnEndpointThatGivesNoAnswerIsLeftForTheNext) {
  SilentEndpoint silent;
  EtcdHttpOptions options;
  options.endpoints = {silent.endpoint(), EtcdEnvironment::etcd().endpoint()};
  absl::StatusOr<std::unique_ptr<EtcdKv>> reader = NewEtcdHttpKv(options);
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE((*reader)->Range("/silent/key", "").ok());

  absl::StatusOr<std::unique_ptr<EtcdKv>> writer = NewEtcdHttpKv(options);
  ASSERT_TRUE(writer.ok());
  absl::StatusOr<EtcdTxnResult> first = (*writer)->Txn({}, {EtcdOp::Put("/silent/key", "1")}, {});
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(first.status().message(), HasSubstr("etcd at http://" + silent.endpoint()));
  absl::StatusOr<EtcdTxnResult> next = (*writer)->Txn({}, {EtcdOp::Put("/silent/key", "2")}, {});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->succeeded);
}

// A fence pinned to a revision: a leader that does not know it lost.
class PinnedFence : public LeaderFence {
 public:
  PinnedFence(std::string key, int64_t revision) : key_(std::move(key)), revision_(revision) {}
  std::string key() const override { return key_; }
  int64_t revision() const override { return revision_; }

 private:
  std::string key_;
  int64_t revision_;
};

// Two coordinators' elections on the real etcd, a 2 s lease: the leader dies without resigning
// (as under kill -9), the follower takes over within the lease and a third of it; the dead
// leader's term writes nothing. Several rounds; the takeover times are printed.
TEST(LeaderElectionOnEtcdTest, AFollowerTakesOverWithinTheLeaseAndTheOldTermCannotWrite) {
  const absl::Duration ttl = absl::Seconds(2);
  std::unique_ptr<EtcdKv> kv_a = Client();
  std::unique_ptr<EtcdKv> kv_b = Client();
  std::vector<absl::Duration> takeovers;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string key = absl::StrCat("/election-", round, "/leader");
    auto options = [&](const std::string& advertise) {
      return LeaderElectionOptions{
          .key = key, .advertise = advertise, .ttl = ttl, .now = [] { return absl::Now(); }};
    };
    LeaderElection a(kv_a.get(), options("a:7443"));
    a.Start();
    ASSERT_TRUE(a.AwaitLeadership(absl::Seconds(5)));
    LeaderElection b(kv_b.get(), options("b:7443"));
    b.Start();
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (b.Leader() != "a:7443" && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
    ASSERT_EQ(b.Leader(), "a:7443");
    const int64_t old_term = a.revision();

    const absl::Time killed = absl::Now();
    a.Abandon();
    ASSERT_TRUE(b.AwaitLeadership(ttl * 3));
    takeovers.push_back(absl::Now() - killed);
    EXPECT_LT(takeovers.back(), ttl + ttl / 3 + absl::Seconds(1));

    const PinnedFence fence(key, old_term);
    absl::StatusOr<std::unique_ptr<Store>> stale =
        OpenEtcdStore(Client(), absl::StrCat("/election-", round, "/"), &fence);
    ASSERT_TRUE(stale.ok()) << stale.status();
    const absl::Status refused = (*stale)->ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}}));
    EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
    EXPECT_THAT(refused.message(), HasSubstr("this coordinator is not the leader; the leader is "
                                             "'b:7443'"));
    absl::StatusOr<std::unique_ptr<Store>> current =
        OpenEtcdStore(Client(), absl::StrCat("/election-", round, "/"), &b);
    ASSERT_TRUE(current.ok()) << current.status();
    EXPECT_TRUE((*current)->ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}})).ok());
  }
  std::sort(takeovers.begin(), takeovers.end());
  std::printf("takeover after the leader died, lease %s: median %s, max %s\n",
              absl::FormatDuration(ttl).c_str(),
              absl::FormatDuration(takeovers[takeovers.size() / 2]).c_str(),
              absl::FormatDuration(takeovers.back()).c_str());
}

// bdcoordd --store etcd://... --etcd-ca --etcd-cert --etcd-key: https to an etcd that wants
// client certificates; without one, the open fails naming the store.
TEST(EtcdTlsTest, TheStoreTalksTlsWithAClientCertificate) {
  if (!test_util::HaveOpenssl()) GTEST_SKIP() << "openssl is not installed";
  test_util::TempDir dir("etcd_tls");
  ASSERT_TRUE(test_util::MakeTestCertificates(dir.path()));
  const test_util::EtcdTls tls{dir.path() + "/server.pem", dir.path() + "/server.key",
                               dir.path() + "/ca.pem"};
  absl::StatusOr<std::unique_ptr<test_util::EtcdProcess>> etcd =
      test_util::EtcdProcess::Start(dir.path(), &tls);
  ASSERT_TRUE(etcd.ok()) << etcd.status();

  absl::StatusOr<EtcdHttpOptions> options = ParseEtcdUrl((*etcd)->url());
  ASSERT_TRUE(options.ok()) << options.status();
  options->tls_ca = dir.path() + "/ca.pem";
  options->tls_cert = dir.path() + "/client.pem";
  options->tls_key = dir.path() + "/client.key";
  absl::StatusOr<std::unique_ptr<Store>> store =
      OpenEtcdStore(*NewEtcdHttpKv(*options), options->prefix);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->ApplyCluster(MakeCluster("demo", 1, {{"zk", 2}})).ok());
  EXPECT_EQ((*store)->GetCluster("demo")->placement.instances_size(), 2);

  options->tls_cert.clear();
  options->tls_key.clear();
  store = OpenEtcdStore(*NewEtcdHttpKv(*options), options->prefix);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(),
              HasSubstr(absl::StrCat("store etcd at https://", (*etcd)->endpoint(),
                                     " prefix '/bdcoord/': open: etcd at https://",
                                     (*etcd)->endpoint(), "/v3/kv/range: ")));
}

// bdcoordd --store: a URL it cannot use is refused at start, before anything listens.
std::string RunBdcoordd(const std::string& store) {
  const std::string command = std::string(BDCOORD_BINARY_DIR "/coordinator/bdcoordd") +
                              " --listen unix:///tmp/unused.sock --store '" + store +
                              "' 2>&1; echo rc=$?";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  if (pipe == nullptr) return output;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  ::pclose(pipe);
  return output;
}

TEST(BdcoorddStoreFlagTest, ABadStoreUrlIsRefusedWithAHint) {
  EXPECT_EQ(RunBdcoordd("etcd://h1"),
            "bdcoordd: --store: store URL 'etcd://h1': endpoint 'h1' is not HOST:PORT (etcd's "
            "client port is usually 2379); expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX] "
            "such as etcd://127.0.0.1:2379\nrc=2\n");
  EXPECT_EQ(RunBdcoordd("mysql"),
            "bdcoordd: --store: store URL 'mysql': it does not start with etcd://; expected "
            "etcd://HOST:PORT[,HOST:PORT...][/PREFIX] such as etcd://127.0.0.1:2379 (or sqlite, "
            "the default)\nrc=2\n");
}

}  // namespace
}  // namespace bdcoord::coordinator
