// A certificate is one host: the pure check of an agent's hello against its certificate's
// names (the real TLS handshake is in tests/integration/coordinator_auth_test.cc).
#include "coordinator/grpc/peer_identity.h"

#include <gtest/gtest.h>

namespace bdcoord::coordinator {
namespace {

TEST(CheckCertificateHost, NoCertificateLeavesItToTheToken) {
  EXPECT_TRUE(CheckCertificateHost(std::nullopt, "bd1").ok());
}

TEST(CheckCertificateHost, TheHostMustBeOneOfTheCertificatesNames) {
  const std::vector<std::string> names = {"bd1", "bd1.example.com"};
  EXPECT_TRUE(CheckCertificateHost(names, "bd1").ok());
  EXPECT_TRUE(CheckCertificateHost(names, "bd1.example.com").ok());
  const absl::Status refused = CheckCertificateHost(names, "bd2");
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.message(),
            "this agent's certificate is for 'bd1', 'bd1.example.com', not for host 'bd2': a "
            "certificate is one host (its CN or a DNS subject alternative name)");
  // Names are compared exactly: no prefix, no case folding, no wildcard.
  EXPECT_FALSE(CheckCertificateHost(names, "bd").ok());
  EXPECT_FALSE(CheckCertificateHost(names, "BD1").ok());
  EXPECT_FALSE(
      CheckCertificateHost(std::vector<std::string>{"*.example.com"}, "x.example.com").ok());
}

TEST(CheckCertificateHost, ACertificateWithoutNamesIsNoHost) {
  EXPECT_EQ(CheckCertificateHost(std::vector<std::string>{}, "bd1").message(),
            "this agent's certificate is for no host name, not for host 'bd1': a certificate is "
            "one host (its CN or a DNS subject alternative name)");
}

}  // namespace
}  // namespace bdcoord::coordinator
