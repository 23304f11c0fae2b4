#include "coordinator/grpc/peer_identity.h"

#include <grpc/grpc_security_constants.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace bdcoord::coordinator {

std::optional<std::vector<std::string>> CertificateHostNames(const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) return std::nullopt;
  std::vector<std::string> names;
  for (const char* property : {GRPC_X509_CN_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME}) {
    for (const grpc::string_ref& value : context.FindPropertyValues(property)) {
      std::string name(value.begin(), value.end());
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return names;
}

absl::Status CheckCertificateHost(const std::optional<std::vector<std::string>>& names,
                                  const std::string& host) {
  if (!names.has_value()) return absl::OkStatus();
  if (std::find(names->begin(), names->end(), host) != names->end()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "this agent's certificate is for ",
      names->empty() ? "no host name" : absl::StrCat("'", absl::StrJoin(*names, "', '"), "'"),
      ", not for host '", host,
      "': a certificate is one host (its CN or a DNS subject alternative name)"));
}

}  // namespace bdcoord::coordinator
