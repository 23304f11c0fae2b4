#ifndef BDCOORD_NET_HOSTS_MAP_H_
#define BDCOORD_NET_HOSTS_MAP_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bdcoord/v1/agent.pb.h"
#include "net/hosts_file.h"

namespace bdcoord::net {

// What changed in a hosts map from one version to the next: the entries added or changed (by
// FQDN) and the FQDNs removed.
struct HostsDelta {
  uint64_t from_version = 0;
  uint64_t to_version = 0;
  std::vector<HostsEntry> upserted;
  std::vector<std::string> removed;
};

// A cluster's hosts map (one entry per FQDN: a later entry of the same FQDN replaces an earlier
// one) at a version, so that a peer holding one version can be sent only what changed since.
// Pure: the versions are the caller's.
class HostsMap {
 public:
  HostsMap() = default;
  HostsMap(uint64_t version, std::vector<HostsEntry> entries);

  uint64_t version() const { return version_; }
  size_t size() const { return by_fqdn_.size(); }
  std::vector<HostsEntry> Entries() const;
  bool SameEntries(const HostsMap& other) const;

  // The /etc/hosts text: RenderHostsFile of the entries, byte for byte.
  std::string Render() const;

  // Moves this map from delta.from_version to delta.to_version. FailedPrecondition, the map
  // unchanged, when it is not at from_version (the holder needs the whole map instead), or when
  // the delta removes an FQDN the map does not have (it was not made from this map).
  absl::Status Apply(const HostsDelta& delta);

 private:
  uint64_t version_ = 0;
  std::map<std::string, HostsEntry> by_fqdn_;
};

// What turns `from` into `to` (from's version to to's).
HostsDelta Diff(const HostsMap& from, const HostsMap& to);

// The wire forms (agent.proto). An entry whose IP does not parse is InvalidArgument.
bdcoord::v1::HostsMap ToProto(const HostsMap& map);
absl::StatusOr<HostsMap> FromProto(const bdcoord::v1::HostsMap& map);
bdcoord::v1::HostsDelta ToProto(const HostsDelta& delta);
absl::StatusOr<HostsDelta> FromProto(const bdcoord::v1::HostsDelta& delta);

}  // namespace bdcoord::net

#endif  // BDCOORD_NET_HOSTS_MAP_H_
