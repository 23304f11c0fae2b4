#ifndef BDCOORD_TESTS_TESTING_NET_LITERALS_H_
#define BDCOORD_TESTS_TESTING_NET_LITERALS_H_

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "net/ipv4.h"

namespace bdcoord::testing {

// An address or network written in a test: a parse failure fails the test (and gives the zero
// value), so the test's own data cannot be silently wrong.
inline net::Ipv4 Ip(const char* text) {
  absl::StatusOr<net::Ipv4> ip = net::Ipv4::Parse(text);
  EXPECT_TRUE(ip.ok()) << ip.status();
  return ip.value_or(net::Ipv4());
}

inline net::Cidr Net(const char* text) {
  absl::StatusOr<net::Cidr> cidr = net::Cidr::Parse(text);
  EXPECT_TRUE(cidr.ok()) << cidr.status();
  return cidr.value_or(net::Cidr());
}

}  // namespace bdcoord::testing

#endif  // BDCOORD_TESTS_TESTING_NET_LITERALS_H_
