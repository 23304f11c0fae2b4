#include "net/ipv4.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace bdcoord::net {
namespace {

// Parses a decimal number with no sign, no whitespace and no leading zeros (so "010" cannot be
// mistaken for octal), up to `max`. Returns nullopt on anything else.
std::optional<uint32_t> ParseDecimal(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

std::optional<Ipv4> ParseDottedQuad(std::string_view text) {
  uint32_t value = 0;
  std::string_view rest = text;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = rest.find('.');
    const bool last = i == 3;
    // The first three parts end at a dot; the last one must not contain any.
    if (last != (dot == std::string_view::npos)) return std::nullopt;
    const std::string_view part = last ? rest : rest.substr(0, dot);
    const std::optional<uint32_t> octet = ParseDecimal(part, 255);
    if (!octet.has_value()) return std::nullopt;
    value = (value << 8) | *octet;
    if (!last) rest.remove_prefix(dot + 1);
  }
  return Ipv4(value);
}

// Network mask for a prefix length; shifting a 32-bit value by 32 is undefined, hence /0 apart.
uint32_t Mask(int prefix_length) {
  return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
}

// Debian's Abseil has its own string_view, which StrCat does not take from std::string_view.
// Cut (on a UTF-8 character boundary) so that a huge value cannot flood the error; the spec's
// diagnostics escape control characters.
std::string Quoted(std::string_view text) {
  constexpr size_t kMax = 64;
  if (text.size() <= kMax) return absl::StrCat("'", std::string(text), "'");
  size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return absl::StrCat("'", std::string(text.substr(0, n)), "...'");
}

absl::Status NotACidr(std::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat(Quoted(text), " is not a CIDR network (expected A.B.C.D/N)"));
}

}  // namespace

absl::StatusOr<Ipv4> Ipv4::Parse(std::string_view text) {
  std::optional<Ipv4> ip = ParseDottedQuad(text);
  if (!ip.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(Quoted(text), " is not an IPv4 address"));
  }
  return *ip;
}

std::string Ipv4::ToString() const {
  return absl::StrFormat("%d.%d.%d.%d", (value_ >> 24) & 0xff, (value_ >> 16) & 0xff,
                         (value_ >> 8) & 0xff, value_ & 0xff);
}

absl::StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return NotACidr(text);
  const std::optional<Ipv4> address = ParseDottedQuad(text.substr(0, slash));
  const std::optional<uint32_t> prefix = ParseDecimal(text.substr(slash + 1), 32);
  if (!address.has_value() || !prefix.has_value()) return NotACidr(text);

  Cidr cidr;
  cidr.prefix_length_ = static_cast<int>(*prefix);
  cidr.base_ = Ipv4(address->value() & Mask(cidr.prefix_length_));
  if (cidr.base_ != *address) {
    return absl::InvalidArgumentError(
        absl::StrCat(Quoted(text), " has host bits set; did you mean '", cidr.ToString(), "'?"));
  }
  return cidr;
}

Ipv4 Cidr::broadcast() const { return Ipv4(base_.value() | ~Mask(prefix_length_)); }

bool Cidr::Contains(Ipv4 ip) const { return (ip.value() & Mask(prefix_length_)) == base_.value(); }

bool Cidr::Contains(const Cidr& other) const {
  return other.prefix_length_ >= prefix_length_ && Contains(other.base_);
}

bool Cidr::Overlaps(const Cidr& other) const { return Contains(other) || other.Contains(*this); }

std::string Cidr::ToString() const { return absl::StrCat(base_.ToString(), "/", prefix_length_); }

}  // namespace bdcoord::net
