#include "net/arp_prober.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace bdcoord::net {
namespace {

constexpr int kProbes = 3;  // RFC 5227 PROBE_NUM

// An Ethernet frame carrying an IPv4-over-Ethernet ARP packet (RFC 826), as on the wire.
struct __attribute__((packed)) ArpFrame {
  uint8_t destination[ETH_ALEN];
  uint8_t source[ETH_ALEN];
  uint16_t ether_type;
  uint16_t hardware_type;
  uint16_t protocol_type;
  uint8_t hardware_length;
  uint8_t protocol_length;
  uint16_t operation;
  uint8_t sender_mac[ETH_ALEN];
  uint8_t sender_ip[4];
  uint8_t target_mac[ETH_ALEN];
  uint8_t target_ip[4];
};

std::string MacText(const uint8_t* mac) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                         mac[5]);
}

absl::Status SystemError(const std::string& what) {
  return absl::Status(errno == EPERM || errno == EACCES ? absl::StatusCode::kPermissionDenied
                                                        : absl::StatusCode::kInternal,
                      absl::StrCat(what, ": ", strerror(errno)));
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

class ArpProber final : public AddressProber {
 public:
  absl::StatusOr<std::map<std::string, std::string>> Answering(const std::string& parent,
                                                               const std::vector<std::string>& ips,
                                                               absl::Time deadline) override {
    std::map<uint32_t, std::string> wanted;  // network order -> text
    for (const std::string& ip : ips) {
      in_addr address{};
      if (inet_pton(AF_INET, ip.c_str(), &address) != 1) {
        return absl::InvalidArgumentError(absl::StrCat("'", ip, "' is not an IPv4 address"));
      }
      wanted[address.s_addr] = ip;
    }
    std::map<std::string, std::string> answered;
    if (wanted.empty()) return answered;
    const unsigned index = if_nametoindex(parent.c_str());
    if (index == 0) {
      return absl::NotFoundError(absl::StrCat("no interface '", parent, "' to probe on"));
    }
    Socket socket(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP)));
    if (socket.fd() < 0) return SystemError("cannot open an ARP socket (AF_PACKET)");
    sockaddr_ll link{};
    link.sll_family = AF_PACKET;
    link.sll_protocol = htons(ETH_P_ARP);
    link.sll_ifindex = static_cast<int>(index);
    if (bind(socket.fd(), reinterpret_cast<sockaddr*>(&link), sizeof(link)) != 0) {
      return SystemError(absl::StrCat("cannot bind an ARP socket to '", parent, "'"));
    }
    ifreq request{};
    strncpy(request.ifr_name, parent.c_str(), IFNAMSIZ - 1);
    if (ioctl(socket.fd(), SIOCGIFHWADDR, &request) != 0) {
      return SystemError(absl::StrCat("cannot read the MAC of '", parent, "'"));
    }
    std::array<uint8_t, ETH_ALEN> own{};
    memcpy(own.data(), request.ifr_hwaddr.sa_data, ETH_ALEN);

    // The probes go out at the start and spread over the first half of the wait; the rest is
    // for late answers.
    const absl::Time start = absl::Now();
    const absl::Duration spacing =
        std::max(absl::ZeroDuration(), (deadline - start) / (2 * kProbes));
    int sent = 0;
    while (answered.size() < wanted.size()) {
      const absl::Time now = absl::Now();
      if (sent < kProbes && now >= start + spacing * sent) {
        for (const auto& [ip, text] : wanted) {
          if (answered.contains(text)) continue;
          ArpFrame probe{};
          memset(probe.destination, 0xff, ETH_ALEN);
          memcpy(probe.source, own.data(), ETH_ALEN);
          probe.ether_type = htons(ETH_P_ARP);
          probe.hardware_type = htons(ARPHRD_ETHER);
          probe.protocol_type = htons(ETH_P_IP);
          probe.hardware_length = ETH_ALEN;
          probe.protocol_length = 4;
          probe.operation = htons(ARPOP_REQUEST);
          memcpy(probe.sender_mac, own.data(), ETH_ALEN);
          memcpy(probe.target_ip, &ip, 4);  // sender IP and target MAC stay zero
          if (send(socket.fd(), &probe, sizeof(probe), 0) != static_cast<ssize_t>(sizeof(probe))) {
            return SystemError(absl::StrCat("cannot send an ARP probe on '", parent, "'"));
          }
        }
        ++sent;
        continue;
      }
      if (now >= deadline) break;
      const absl::Time wake =
          sent < kProbes ? std::min(deadline, start + spacing * sent) : deadline;
      pollfd readable{.fd = socket.fd(), .events = POLLIN, .revents = 0};
      const int64_t wait_ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(wake - now));
      if (poll(&readable, 1, static_cast<int>(std::min<int64_t>(wait_ms, 60'000))) < 0) {
        if (errno == EINTR) continue;
        return SystemError("cannot wait for ARP answers");
      }
      if ((readable.revents & POLLIN) == 0) continue;
      ArpFrame frame{};
      sockaddr_ll from{};
      socklen_t from_length = sizeof(from);
      const ssize_t got = recvfrom(socket.fd(), &frame, sizeof(frame), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &from_length);
      if (got < static_cast<ssize_t>(sizeof(frame)) || from.sll_pkttype == PACKET_OUTGOING ||
          frame.ether_type != htons(ETH_P_ARP) || frame.protocol_type != htons(ETH_P_IP) ||
          memcmp(frame.sender_mac, own.data(), ETH_ALEN) == 0) {
        continue;
      }
      uint32_t sender = 0;
      memcpy(&sender, frame.sender_ip, 4);
      if (auto it = wanted.find(sender); it != wanted.end()) {
        answered.emplace(it->second, MacText(frame.sender_mac));
      }
    }
    return answered;
  }
};

}  // namespace

std::unique_ptr<AddressProber> NewArpProber() { return std::make_unique<ArpProber>(); }

}  // namespace bdcoord::net
