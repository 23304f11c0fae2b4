#ifndef BDCOORD_NET_IPV4_H_
#define BDCOORD_NET_IPV4_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace bdcoord::net {

// An IPv4 address as a host-order integer, so ranges are plain arithmetic.
class Ipv4 {
 public:
  constexpr Ipv4() = default;
  constexpr explicit Ipv4(uint32_t value) : value_(value) {}

  // Dotted quad only ("10.0.0.1"); no leading zeros, no shorthand.
  static absl::StatusOr<Ipv4> Parse(std::string_view text);

  constexpr uint32_t value() const { return value_; }
  std::string ToString() const;

  friend constexpr auto operator<=>(Ipv4, Ipv4) = default;

 private:
  uint32_t value_ = 0;
};

// A network in CIDR notation with host bits zero ("10.0.50.0/24").
class Cidr {
 public:
  constexpr Cidr() = default;
  // Rejects host bits set, naming the network the user probably meant.
  static absl::StatusOr<Cidr> Parse(std::string_view text);

  Ipv4 network() const { return base_; }
  Ipv4 broadcast() const;
  int prefix_length() const { return prefix_length_; }
  uint64_t size() const { return uint64_t{1} << (32 - prefix_length_); }
  bool Contains(Ipv4 ip) const;
  bool Contains(const Cidr& other) const;
  // Whether the two share an address: for CIDR blocks, when one contains the other.
  bool Overlaps(const Cidr& other) const;
  std::string ToString() const;

  friend constexpr bool operator==(const Cidr&, const Cidr&) = default;

 private:
  Ipv4 base_;
  int prefix_length_ = 32;
};

}  // namespace bdcoord::net

#endif  // BDCOORD_NET_IPV4_H_
