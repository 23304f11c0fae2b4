#include "net/ipv4.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/net_literals.h"

namespace bdcoord::net {
namespace {

using ::testing::TestWithParam;
using ::testing::Values;

using ::bdcoord::testing::Ip;
using ::bdcoord::testing::Net;

TEST(Ipv4Test, ParsesDottedQuadIntoHostOrder) {
  EXPECT_EQ(Ip("10.0.50.7").value(), 0x0a003207u);
  EXPECT_EQ(Ip("0.0.0.0").value(), 0u);
  EXPECT_EQ(Ip("255.255.255.255").value(), 0xffffffffu);
  EXPECT_EQ(Ip("1.2.3.4").value(), 0x01020304u);
}

TEST(Ipv4Test, ToStringRoundTrips) {
  for (const char* text : {"0.0.0.0", "10.0.50.7", "192.168.1.100", "255.255.255.255"}) {
    EXPECT_EQ(Ip(text).ToString(), text);
  }
  EXPECT_EQ(Ipv4(0x7f000001u).ToString(), "127.0.0.1");
}

TEST(Ipv4Test, OrdersNumerically) {
  EXPECT_LT(Ip("10.0.0.9"), Ip("10.0.0.10"));
  EXPECT_LT(Ip("9.255.255.255"), Ip("10.0.0.0"));
  EXPECT_EQ(Ip("10.0.0.1"), Ipv4(0x0a000001u));
}

class Ipv4RejectTest : public TestWithParam<std::string> {};

TEST_P(Ipv4RejectTest, RejectsWithExactMessage) {
  absl::StatusOr<Ipv4> ip = Ipv4::Parse(GetParam());
  ASSERT_FALSE(ip.ok());
  EXPECT_EQ(ip.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ip.status().message(), "'" + GetParam() + "' is not an IPv4 address");
}

INSTANTIATE_TEST_SUITE_P(BadInputs, Ipv4RejectTest,
                         Values("", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1.2.3.00",
                                "256.0.0.1", "1.2.3.256", "1.2.3.1000", " 1.2.3.4", "1.2.3.4 ",
                                "1.2.3.4\n", "1.2.3.4/24", "1.2.3.", ".1.2.3", "1..2.3", "a.b.c.d",
                                "1.2.3.-4", "1.2.3.+4", "0x1.2.3.4", "1.2.3.4.", "16909060",
                                "localhost", "::1"));

TEST(CidrTest, ParsesNetworkAndPrefix) {
  Cidr cidr = Net("10.0.50.0/24");
  EXPECT_EQ(cidr.network(), Ip("10.0.50.0"));
  EXPECT_EQ(cidr.prefix_length(), 24);
  EXPECT_EQ(cidr.broadcast(), Ip("10.0.50.255"));
  EXPECT_EQ(cidr.size(), 256u);
  EXPECT_EQ(cidr.ToString(), "10.0.50.0/24");
}

TEST(CidrTest, EdgePrefixes) {
  Cidr all = Net("0.0.0.0/0");
  EXPECT_EQ(all.prefix_length(), 0);
  EXPECT_EQ(all.network(), Ip("0.0.0.0"));
  EXPECT_EQ(all.broadcast(), Ip("255.255.255.255"));
  EXPECT_EQ(all.size(), uint64_t{1} << 32);
  EXPECT_TRUE(all.Contains(Ip("0.0.0.0")));
  EXPECT_TRUE(all.Contains(Ip("255.255.255.255")));
  EXPECT_EQ(all.ToString(), "0.0.0.0/0");

  Cidr host = Net("10.0.0.7/32");
  EXPECT_EQ(host.network(), Ip("10.0.0.7"));
  EXPECT_EQ(host.broadcast(), Ip("10.0.0.7"));
  EXPECT_EQ(host.size(), 1u);
  EXPECT_TRUE(host.Contains(Ip("10.0.0.7")));
  EXPECT_FALSE(host.Contains(Ip("10.0.0.6")));
  EXPECT_FALSE(host.Contains(Ip("10.0.0.8")));

  Cidr pair = Net("10.0.0.6/31");
  EXPECT_EQ(pair.broadcast(), Ip("10.0.0.7"));
  EXPECT_EQ(pair.size(), 2u);

  Cidr four = Net("10.0.0.4/30");
  EXPECT_EQ(four.broadcast(), Ip("10.0.0.7"));
  EXPECT_EQ(four.size(), 4u);

  EXPECT_EQ(Net("255.255.255.255/32").broadcast(), Ip("255.255.255.255"));
  EXPECT_EQ(Net("128.0.0.0/1").broadcast(), Ip("255.255.255.255"));
}

TEST(CidrTest, ContainsAddress) {
  Cidr cidr = Net("10.0.50.0/24");
  EXPECT_TRUE(cidr.Contains(Ip("10.0.50.0")));
  EXPECT_TRUE(cidr.Contains(Ip("10.0.50.255")));
  EXPECT_FALSE(cidr.Contains(Ip("10.0.49.255")));
  EXPECT_FALSE(cidr.Contains(Ip("10.0.51.0")));
}

TEST(CidrTest, ContainsNetwork) {
  Cidr cidr = Net("10.0.0.0/16");
  EXPECT_TRUE(cidr.Contains(Net("10.0.0.0/16")));
  EXPECT_TRUE(cidr.Contains(Net("10.0.50.0/24")));
  EXPECT_TRUE(cidr.Contains(Net("10.0.255.255/32")));
  EXPECT_FALSE(cidr.Contains(Net("10.0.0.0/15")));  // bigger, though it starts at the same place
  EXPECT_FALSE(cidr.Contains(Net("10.1.0.0/24")));
  EXPECT_FALSE(cidr.Contains(Net("0.0.0.0/0")));
  EXPECT_TRUE(Net("0.0.0.0/0").Contains(cidr));
}

TEST(CidrTest, OverlapsWhenEitherContainsTheOther) {
  Cidr cidr = Net("10.0.50.0/24");
  EXPECT_TRUE(cidr.Overlaps(cidr));
  EXPECT_TRUE(cidr.Overlaps(Net("10.0.50.248/29")));
  EXPECT_TRUE(Net("10.0.50.248/29").Overlaps(cidr));
  EXPECT_TRUE(cidr.Overlaps(Net("10.0.0.0/16")));
  EXPECT_FALSE(cidr.Overlaps(Net("10.0.51.0/24")));
  EXPECT_FALSE(Net("10.0.50.0/25").Overlaps(Net("10.0.50.128/25")));
}

TEST(CidrTest, RejectsHostBitsNamingTheNetwork) {
  absl::StatusOr<Cidr> cidr = Cidr::Parse("10.0.50.1/24");
  ASSERT_FALSE(cidr.ok());
  EXPECT_EQ(cidr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cidr.status().message(),
            "'10.0.50.1/24' has host bits set; did you mean '10.0.50.0/24'?");

  EXPECT_EQ(Cidr::Parse("10.0.0.7/30").status().message(),
            "'10.0.0.7/30' has host bits set; did you mean '10.0.0.4/30'?");
  EXPECT_EQ(Cidr::Parse("1.2.3.4/0").status().message(),
            "'1.2.3.4/0' has host bits set; did you mean '0.0.0.0/0'?");
  EXPECT_EQ(Cidr::Parse("10.0.0.7/31").status().message(),
            "'10.0.0.7/31' has host bits set; did you mean '10.0.0.6/31'?");
}

class CidrRejectTest : public TestWithParam<std::string> {};

TEST_P(CidrRejectTest, RejectsWithExactMessage) {
  absl::StatusOr<Cidr> cidr = Cidr::Parse(GetParam());
  ASSERT_FALSE(cidr.ok());
  EXPECT_EQ(cidr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cidr.status().message(),
            "'" + GetParam() + "' is not a CIDR network (expected A.B.C.D/N)");
}

INSTANTIATE_TEST_SUITE_P(BadInputs, CidrRejectTest,
                         Values("", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
                                "10.0.0.0/024", "10.0.0.0/ 24", "10.0.0.0/24 ", "10.0.0.0/2x",
                                "10.0.0.0/24/8", "10.0.0/24", "010.0.0.0/8", "300.0.0.0/8", "/24",
                                " 10.0.0.0/24", "10.0.0.0/100"));

}  // namespace
}  // namespace bdcoord::net
