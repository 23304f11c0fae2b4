#include "net/ipam.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace bdcoord::net {
namespace {

// Network and broadcast only exist below /31 (RFC 3021: both /31 addresses are hosts).
bool HasNetworkAndBroadcast(const Cidr& subnet) { return subnet.prefix_length() < 31; }

// The addresses that are never handed out, sorted and unique so lookups are binary searches.
std::vector<uint32_t> FixedExclusions(const AddressPool& pool) {
  std::vector<uint32_t> fixed;
  fixed.reserve(pool.reserved.size() + 3);
  if (HasNetworkAndBroadcast(pool.subnet)) {
    fixed.push_back(pool.subnet.network().value());
    fixed.push_back(pool.subnet.broadcast().value());
  }
  if (pool.gateway.has_value()) fixed.push_back(pool.gateway->value());
  for (Ipv4 ip : pool.reserved) fixed.push_back(ip.value());
  std::sort(fixed.begin(), fixed.end());
  fixed.erase(std::unique(fixed.begin(), fixed.end()), fixed.end());
  return fixed;
}

bool SortedContains(const std::vector<uint32_t>& sorted, uint32_t value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

// How many values of a sorted, unique vector fall inside `range`.
uint64_t CountInRange(const std::vector<uint32_t>& sorted, const Cidr& range) {
  auto first = std::lower_bound(sorted.begin(), sorted.end(), range.network().value());
  auto last = std::upper_bound(first, sorted.end(), range.broadcast().value());
  return static_cast<uint64_t>(std::distance(first, last));
}

// Explains why a pinned address can never be used, or returns OK.
absl::Status CheckPinned(const AddressPool& pool, Ipv4 ip) {
  const std::string prefix = absl::StrCat("pinned address ", ip.ToString(), " is ");
  if (HasNetworkAndBroadcast(pool.subnet)) {
    if (ip == pool.subnet.network()) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "the network address of ", pool.subnet.ToString()));
    }
    if (ip == pool.subnet.broadcast()) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "the broadcast address of ", pool.subnet.ToString()));
    }
  }
  if (pool.gateway.has_value() && ip == *pool.gateway) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "the gateway of ", pool.subnet.ToString()));
  }
  if (std::find(pool.reserved.begin(), pool.reserved.end(), ip) != pool.reserved.end()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "reserved"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Ipv4>> AllocateAddresses(const AddressPool& pool,
                                                    const std::vector<AddressRequest>& requests) {
  const std::vector<uint32_t> fixed = FixedExclusions(pool);
  std::vector<Ipv4> result(requests.size());
  std::vector<bool> assigned(requests.size(), false);

  // 1. Pinned addresses, honoured as-is unless they can never be valid.
  std::vector<uint32_t> pinned;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i].pinned.has_value()) continue;
    const Ipv4 ip = *requests[i].pinned;
    if (SortedContains(fixed, ip.value())) {
      if (absl::Status status = CheckPinned(pool, ip); !status.ok()) return status;
    }
    pinned.push_back(ip.value());
    result[i] = ip;
    assigned[i] = true;
  }
  std::sort(pinned.begin(), pinned.end());
  if (auto dup = std::adjacent_find(pinned.begin(), pinned.end()); dup != pinned.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("address ", Ipv4(*dup).ToString(), " is pinned by more than one request"));
  }

  // 2. Previous addresses that are still usable. Sorting (address, request index) pairs gives
  // the earliest request each contested address without a hash set.
  std::vector<std::pair<uint32_t, size_t>> candidates;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (assigned[i] || !requests[i].previous.has_value()) continue;
    const Ipv4 ip = *requests[i].previous;
    if (!pool.subnet.Contains(ip) || SortedContains(fixed, ip.value()) ||
        SortedContains(pinned, ip.value())) {
      continue;
    }
    candidates.emplace_back(ip.value(), i);
  }
  std::sort(candidates.begin(), candidates.end());
  std::vector<uint32_t> taken = fixed;
  taken.insert(taken.end(), pinned.begin(), pinned.end());
  for (size_t k = 0; k < candidates.size(); ++k) {
    if (k > 0 && candidates[k].first == candidates[k - 1].first) continue;
    result[candidates[k].second] = Ipv4(candidates[k].first);
    assigned[candidates[k].second] = true;
    taken.push_back(candidates[k].first);
  }
  std::sort(taken.begin(), taken.end());
  taken.erase(std::unique(taken.begin(), taken.end()), taken.end());

  // 3. Everyone else gets the lowest free address of the range. Checking the count first means
  // a failure reports the whole shortfall, not just the request that hit the end.
  const uint64_t needed =
      static_cast<uint64_t>(std::count(assigned.begin(), assigned.end(), false));
  const uint64_t free = pool.range.size() - CountInRange(taken, pool.range);
  if (needed > free) {
    return absl::ResourceExhaustedError(absl::StrCat("needs ", needed, " more addresses but only ",
                                                     free, " are free in ", pool.range.ToString()));
  }
  // 64-bit cursor so a range ending at 255.255.255.255 cannot wrap around.
  uint64_t cursor = pool.range.network().value();
  auto next_taken = std::lower_bound(taken.begin(), taken.end(), pool.range.network().value());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (assigned[i]) continue;
    while (next_taken != taken.end() && *next_taken == cursor) {
      ++cursor;
      ++next_taken;
    }
    result[i] = Ipv4(static_cast<uint32_t>(cursor));
    ++cursor;
  }
  return result;
}

uint64_t UsableAddressCount(const AddressPool& pool) {
  return pool.range.size() - CountInRange(FixedExclusions(pool), pool.range);
}

}  // namespace bdcoord::net
