#ifndef BDCOORD_COORDINATOR_SPEC_INSTANCE_NAMES_H_
#define BDCOORD_COORDINATOR_SPEC_INSTANCE_NAMES_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "bdcoord/v1/spec.pb.h"

namespace bdcoord::coordinator {

// `<hostname or service><index>`, index from 1: zk1, zk2, ...
inline std::string InstanceName(const bdcoord::v1::Service& service, uint32_t index) {
  return absl::StrCat(service.hostname().empty() ? service.name() : service.hostname(), index);
}

inline std::string InstanceFqdn(const std::string& name, const std::string& domain) {
  return domain.empty() ? name : absl::StrCat(name, ".", domain);
}

// Containers never run as root unless the spec says so: an unset `user` means nobody.
inline constexpr char kDefaultUser[] = "65534:65534";

inline std::string EffectiveUser(const bdcoord::v1::Service& service) {
  return service.user().empty() ? kDefaultUser : service.user();
}

// The service of that name in the spec, or null.
inline const bdcoord::v1::Service* FindService(const bdcoord::v1::ClusterSpec& spec,
                                               const std::string& name) {
  for (const auto& service : spec.services()) {
    if (service.name() == name) return &service;
  }
  return nullptr;
}

}  // namespace bdcoord::coordinator

#endif  // BDCOORD_COORDINATOR_SPEC_INSTANCE_NAMES_H_
