// The etcd store against tests/testing's fake etcd: the contract (store_contract.cc), and the
// fault paths a real etcd does not take on demand. store_etcd_test (integration) runs the
// contract against a real etcd.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/state/etcd_kv_http.h"
#include "coordinator/state/store_etcd.h"
#include "tests/testing/fake_etcd_kv.h"
#include "tests/unit/coordinator/state/store_contract.h"

namespace bdcoord::coordinator {
namespace {

using test_util::FakeEtcdKv;
using test_util::SharedEtcdKv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kPrefix[] = "/bdcoord-test/";

absl::StatusOr<std::unique_ptr<Store>> OpenOnFake(FakeEtcdKv& etcd,
                                                  const std::string& prefix = kPrefix) {
  return OpenEtcdStore(std::make_unique<SharedEtcdKv>(&etcd), prefix);
}

class FakeEtcdBackend : public StoreBackend {
 public:
  absl::StatusOr<std::unique_ptr<Store>> Open() override { return OpenOnFake(etcd_); }
  std::vector<std::string> Leftovers(const std::string& cluster) override {
    return EtcdLeftovers(etcd_.Dump(), kPrefix, cluster);
  }

 private:
  FakeEtcdKv etcd_;
};

INSTANTIATE_TEST_SUITE_P(
    FakeEtcd, StoreContractTest,
    ::testing::Values(StoreBackendParam{
        "FakeEtcd",
        [] { return std::unique_ptr<StoreBackend>(std::make_unique<FakeEtcdBackend>()); }}),
    BackendName);

std::unique_ptr<Store> MustOpen(FakeEtcdKv& etcd) {
  QuietStoreLogger();
  absl::StatusOr<std::unique_ptr<Store>> store = OpenOnFake(etcd);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

TEST(EtcdStoreTest, WritesTheLayoutDocumentedInStoreEtcd) {
  FakeEtcdKv etcd;
  std::unique_ptr<Store> store = MustOpen(etcd);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AdmitHost("h1", bdcoord::v1::HostFacts(), absl::FromUnixSeconds(1)).ok());
  ASSERT_TRUE(store->ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}, {"init", 1, true}})).ok());
  ASSERT_TRUE(
      store->MarkInstance("demo", "h2", MakeStatus("init1", bdcoord::v1::INSTANCE_STATE_COMPLETED))
          .ok());
  std::vector<std::string> keys;
  for (const auto& [key, value] : etcd.Dump()) keys.push_back(key);
  EXPECT_THAT(keys,
              ElementsAre("/bdcoord-test/clusters/demo", "/bdcoord-test/completions/demo/init1",
                          "/bdcoord-test/hosts/h1", "/bdcoord-test/ips/10.1.0.1",
                          "/bdcoord-test/ips/10.1.0.2", "/bdcoord-test/rollouts/demo",
                          "/bdcoord-test/schema", "/bdcoord-test/statuses/demo/init1"));
  EXPECT_EQ(etcd.Dump()["/bdcoord-test/schema"], "1");
  EXPECT_EQ(etcd.Dump()["/bdcoord-test/ips/10.1.0.2"], R"({"cluster":"demo","instance":"init1"})");
}

// Another coordinator writes between this one's reads and its transaction: the compare fails,
// and the operation is made again from fresh reads.
TEST(EtcdStoreTest, AWriterInBetweenMakesTheOperationReadAgain) {
  FakeEtcdKv etcd;
  std::unique_ptr<Store> store = MustOpen(etcd);
  std::unique_ptr<Store> other = MustOpen(etcd);
  ASSERT_NE(store, nullptr);
  ASSERT_NE(other, nullptr);
  // Unrelated IPs change first: the apply goes through on its second try.
  etcd.BeforeNextTxn([&] {
    ASSERT_TRUE(other->ApplyCluster(MakeCluster("b", 2, {{"x", 1}})).ok());
  });
  const int before = etcd.txns();
  ASSERT_TRUE(store->ApplyCluster(MakeCluster("a", 1, {{"zk", 2}})).ok());
  EXPECT_EQ(etcd.txns() - before, 3);  // b's, a's refused, a's again
  EXPECT_THAT(*store->ListClusters(), ElementsAre("a", "b"));

  // Now the writer in between takes an IP this apply wants: the second try sees it.
  etcd.BeforeNextTxn([&] {
    AppliedCluster c = MakeCluster("c", 3, {{"y", 1}});
    c.placement.mutable_instances(0)->set_ip("10.1.0.3");
    ASSERT_TRUE(other->ApplyCluster(c).ok());
  });
  const absl::Status status = store->ApplyCluster(MakeCluster("a", 1, {{"zk", 3}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(),
            "IP 10.1.0.3 of instance 'zk3' of cluster 'a' is already allocated to instance 'y1' "
            "of cluster 'c'");
  EXPECT_THAT(Names(*store->GetCluster("a")), ElementsAre("zk1", "zk2"));
}

TEST(EtcdStoreTest, AWriterThatAlwaysComesFirstMakesItGiveUp) {
  FakeEtcdKv etcd;
  std::unique_ptr<Store> store = MustOpen(etcd);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AdmitHost("h1", bdcoord::v1::HostFacts(), absl::FromUnixSeconds(1)).ok());
  std::function<void()> interfere = [&] {
    ASSERT_TRUE(etcd.Put("/bdcoord-test/hosts/h1", R"({"drained":false})").ok());
    etcd.BeforeNextTxn(interfere);
  };
  etcd.BeforeNextTxn(interfere);
  const absl::Status status = store->SetHostDrained("h1", true);
  etcd.BeforeNextTxn(nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(),
            "store fake etcd prefix '/bdcoord-test/': SetHostDrained 'h1': what it read kept "
            "changing under it (20 attempts)");
}

TEST(EtcdStoreTest, EtcdFailingIsTheOperationsErrorNamingTheStore) {
  FakeEtcdKv etcd;
  std::unique_ptr<Store> store = MustOpen(etcd);
  ASSERT_NE(store, nullptr);
  etcd.FailNext(absl::UnavailableError("etcd at http://127.0.0.1:1: Connection refused"));
  absl::Status status = store->ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(),
            "store fake etcd prefix '/bdcoord-test/': ApplyCluster 'demo': etcd at "
            "http://127.0.0.1:1: Connection refused");
  etcd.FailNext(absl::UnavailableError("down"));
  EXPECT_EQ(store->ListHosts().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(*store->ListClusters(), IsEmpty());
}

// The transaction was done but its answer lost: the caller hears an error, and the same apply
// made again finds its own IPs and succeeds, nothing twice.
TEST(EtcdStoreTest, AnApplyWhoseAnswerWasLostCanBeMadeAgain) {
  FakeEtcdKv etcd;
  std::unique_ptr<Store> store = MustOpen(etcd);
  ASSERT_NE(store, nullptr);
  etcd.LoseNextTxnAnswer();
  EXPECT_EQ(store->ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(store->ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).ok());
  EXPECT_THAT(Names(*store->GetCluster("demo")), ElementsAre("zk1", "zk2", "zk3"));
  EXPECT_EQ(store->AllocatedIps()->size(), 3u);
}

// MarkInstances checks reports against the placement it remembers; another coordinator's apply
// changes it, and the report is checked against the new one.
TEST(EtcdStoreTest, ReportsFollowAnotherCoordinatorsApply) {
  FakeEtcdKv etcd;
  std::unique_ptr<Store> store = MustOpen(etcd);
  std::unique_ptr<Store> other = MustOpen(etcd);
  ASSERT_NE(store, nullptr);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(store->ApplyCluster(MakeCluster("demo", 1, {{"zk", 2}})).ok());
  ASSERT_TRUE(other->ApplyCluster(MakeCluster("demo", 1, {{"zk", 3}})).ok());
  EXPECT_TRUE(
      store->MarkInstance("demo", "h3", MakeStatus("zk3", bdcoord::v1::INSTANCE_STATE_RUNNING))
          .ok());
  ASSERT_TRUE(other->ApplyCluster(MakeCluster("demo", 1, {{"zk", 1}})).ok());
  const absl::Status removed =
      store->MarkInstance("demo", "h2", MakeStatus("zk2", bdcoord::v1::INSTANCE_STATE_RUNNING));
  EXPECT_EQ(removed.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(removed.message(), HasSubstr("instance 'zk2' is not placed in cluster 'demo'"));
  ASSERT_TRUE(other->DeleteCluster("demo").ok());
  EXPECT_EQ(
      store->MarkInstance("demo", "h1", MakeStatus("zk1", bdcoord::v1::INSTANCE_STATE_RUNNING))
          .code(),
      absl::StatusCode::kNotFound);
  EXPECT_THAT(EtcdLeftovers(etcd.Dump(), kPrefix, "demo"), IsEmpty());
}

TEST(EtcdStoreTest, RefusesAPrefixThatIsNotABdcoordStoreOrIsNewer) {
  FakeEtcdKv etcd;
  ASSERT_TRUE(etcd.Put("/other/schema", "v2beta").ok());
  absl::StatusOr<std::unique_ptr<Store>> store = OpenOnFake(etcd, "/other");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            "store fake etcd prefix '/other/' is not a bdcoord store: its schema key holds "
            "'v2beta'; it is left as it is");
  ASSERT_TRUE(etcd.Put("/newer/schema", "2").ok());
  store = OpenOnFake(etcd, "/newer/");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            "store fake etcd prefix '/newer/': its schema version 2 is newer than this build "
            "supports (1)");
  EXPECT_EQ(etcd.Dump()["/other/schema"], "v2beta");
}

TEST(EtcdUrlTest, ParsesEndpointsAndPrefix) {
  absl::StatusOr<EtcdHttpOptions> options = ParseEtcdUrl("etcd://h1:2379,10.0.0.2:22379");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_THAT(options->endpoints, ElementsAre("h1:2379", "10.0.0.2:22379"));
  EXPECT_EQ(options->prefix, "/bdcoord/");
  options = ParseEtcdUrl("etcd://127.0.0.1:2379/prod/bdcoord");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_THAT(options->endpoints, ElementsAre("127.0.0.1:2379"));
  EXPECT_EQ(options->prefix, "/prod/bdcoord/");
}

TEST(EtcdUrlTest, ABadUrlSaysWhatIsWrongAndWhatIsExpected) {
  const std::string expected =
      "; expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX] such as etcd://127.0.0.1:2379";
  const std::map<std::string, std::string> cases = {
      {"http://h1:2379", "store URL 'http://h1:2379': it does not start with etcd://"},
      {"etcd://", "store URL 'etcd://': it names no etcd endpoint"},
      {"etcd://h1",
       "store URL 'etcd://h1': endpoint 'h1' is not HOST:PORT (etcd's client port is "
       "usually 2379)"},
      {"etcd://h1:2379,,h2:2379", "store URL 'etcd://h1:2379,,h2:2379': an endpoint is empty"},
      {"etcd://h1:99999", "store URL 'etcd://h1:99999': endpoint 'h1:99999' has no valid port"},
  };
  for (const auto& [url, message] : cases) {
    absl::StatusOr<EtcdHttpOptions> options = ParseEtcdUrl(url);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_EQ(options.status().message(), message + expected) << url;
  }
}

// Nothing listens: the open fails at once, naming every endpoint tried.
TEST(EtcdUrlTest, AnUnreachableEtcdFailsTheOpenNamingTheEndpoints) {
  // A loopback port that was free a moment ago.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t size = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size), 0);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  EtcdHttpOptions options;
  options.endpoints = {absl::StrCat("127.0.0.1:", port)};
  absl::StatusOr<std::unique_ptr<EtcdKv>> kv = NewEtcdHttpKv(options);
  ASSERT_TRUE(kv.ok()) << kv.status();
  absl::StatusOr<std::unique_ptr<Store>> store = OpenEtcdStore(*std::move(kv), "/bdcoord/");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(),
              HasSubstr(absl::StrCat("store etcd at http://127.0.0.1:", port,
                                     " prefix '/bdcoord/': open: /v3/kv/range: no etcd endpoint "
                                     "answers: http://127.0.0.1:",
                                     port, ": ")));
}

}  // namespace
}  // namespace bdcoord::coordinator
