#ifndef BDCOORD_NET_ARP_PROBER_H_
#define BDCOORD_NET_ARP_PROBER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace bdcoord::net {

// Duplicate address detection: before an instance moved off a lost host starts here with the
// same IP, the agent asks the LAN whether that IP still answers (the old host may still run it).
// One real implementation (ArpProber: RFC 5227 ARP probes); a fake lives in tests/.
class AddressProber {
 public:
  virtual ~AddressProber() = default;

  // Which of `ips` (IPv4, dotted) answer on the LAN of the interface `parent` before
  // `deadline`, each with the MAC that answered ("aa:bb:cc:dd:ee:ff"); empty when none did.
  // Returns as soon as every address answered. NotFound for a missing parent, InvalidArgument
  // for an address that is not IPv4, the system's error for a socket that cannot be used.
  virtual absl::StatusOr<std::map<std::string, std::string>> Answering(
      const std::string& parent, const std::vector<std::string>& ips, absl::Time deadline) = 0;
};

// RFC 5227 probes on an AF_PACKET socket bound to `parent` (CAP_NET_RAW): an ARP request for
// each address with sender IP 0.0.0.0 (nobody's cache learns anything), sent three times spread
// over the first half of the wait; an address answers when an ARP packet from another MAC has it
// as its sender IP (a reply, or that host's own request).
std::unique_ptr<AddressProber> NewArpProber();

}  // namespace bdcoord::net

#endif  // BDCOORD_NET_ARP_PROBER_H_
