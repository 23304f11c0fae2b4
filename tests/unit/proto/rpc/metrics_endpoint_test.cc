// --metrics-listen: loopback only, and the registry served at /metrics.
#include "proto/rpc/metrics_endpoint.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"

namespace bdcoord::rpc {
namespace {

using ::testing::HasSubstr;

TEST(MetricsBindAddress, TakesLoopbackAddresses) {
  EXPECT_EQ(*MetricsBindAddress("127.0.0.1:9464"), "127.0.0.1:9464");
  EXPECT_EQ(*MetricsBindAddress("127.8.9.10:9464"), "127.8.9.10:9464");
  EXPECT_EQ(*MetricsBindAddress("[::1]:9464"), "[::1]:9464");
  EXPECT_EQ(*MetricsBindAddress("localhost:9464"), "127.0.0.1:9464");
}

TEST(MetricsBindAddress, RefusesOtherAddressesAndSaysWhy) {
  for (const std::string listen : {"0.0.0.0:9464", "10.1.2.3:9464", "[::]:9464",
                                   "metrics.example.com:9464", "127.example.com:9464"}) {
    const absl::StatusOr<std::string> address = MetricsBindAddress(listen);
    ASSERT_EQ(address.status().code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_EQ(address.status().message(),
              "refusing to serve metrics on '" + listen +
                  "': not a loopback address, and the metrics endpoint is plain HTTP without "
                  "authentication\n  hint: listen on 127.0.0.1:PORT or [::1]:PORT and scrape it "
                  "locally, or through a proxy that adds TLS");
  }
}

TEST(MetricsBindAddress, RefusesWhatIsNotHostAndPort) {
  for (const std::string listen :
       {"9464", ":9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"}) {
    EXPECT_EQ(MetricsBindAddress(listen).status().message(),
              "--metrics-listen '" + listen + "' is not HOST:PORT (such as 127.0.0.1:9464)")
        << listen;
  }
  EXPECT_EQ(MetricsBindAddress("::1:9464").status().message(),
            "--metrics-listen '::1:9464': an IPv6 address goes in brackets, such as [::1]:9464");
}

// The reply to GET /metrics on 127.0.0.1:port, headers included.
std::string Scrape(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) > 0;) reply.append(buffer, n);
    }
  }
  ::close(fd);
  return reply;
}

TEST(StartMetricsEndpoint, ServesTheRegistryOverHttp) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter()
      .Name("test_things_total")
      .Help("Things.")
      .Register(*registry)
      .Add({})
      .Increment(3);
  absl::StatusOr<std::unique_ptr<prometheus::Exposer>> exposer =
      StartMetricsEndpoint("127.0.0.1:0", registry);
  ASSERT_TRUE(exposer.ok()) << exposer.status();
  const int port = (*exposer)->GetListeningPorts().at(0);
  EXPECT_THAT(Scrape(port), HasSubstr("# HELP test_things_total Things.\n"));
  EXPECT_THAT(Scrape(port), HasSubstr("test_things_total 3"));

  const std::string taken = "127.0.0.1:" + std::to_string(port);
  absl::StatusOr<std::unique_ptr<prometheus::Exposer>> second =
      StartMetricsEndpoint(taken, registry);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(),
              HasSubstr("--metrics-listen: cannot listen on '" + taken + "': "));
}

TEST(StartMetricsEndpoint, NothingWithoutTheFlagAndNothingOffLoopback) {
  auto registry = std::make_shared<prometheus::Registry>();
  EXPECT_EQ(*StartMetricsEndpoint("", registry), nullptr);
  EXPECT_EQ(StartMetricsEndpoint("0.0.0.0:0", registry).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bdcoord::rpc
