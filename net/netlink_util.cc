#include "net/netlink_util.h"

#include <linux/netlink.h>
#include <netlink/errno.h>

#include "absl/strings/str_cat.h"

namespace bdcoord::net::netlink {

absl::Status NlStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", nl_geterror(err));
  switch (err < 0 ? -err : err) {
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:
      return absl::NotFoundError(message);
    case NLE_EXIST:
      return absl::AlreadyExistsError(message);
    case NLE_PERM:
    case NLE_NOACCESS:
      return absl::PermissionDeniedError(message);
    case NLE_INVAL:
    case NLE_RANGE:
      return absl::InvalidArgumentError(message);
    case NLE_BUSY:
      return absl::FailedPreconditionError(message);
    case NLE_OPNOTSUPP:
    case NLE_AF_NOSUPPORT:
      return absl::UnimplementedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<SockPtr> Connect() {
  SockPtr sock(nl_socket_alloc());
  if (!sock) return absl::ResourceExhaustedError("netlink: cannot allocate a socket");
  if (const int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return NlStatus(err, "netlink: connecting a route socket");
  }
  return sock;
}

absl::StatusOr<LinkPtr> FindLink(nl_sock* sock, const std::string& name) {
  rtnl_link* link = nullptr;
  const int err = rtnl_link_get_kernel(sock, 0, name.c_str(), &link);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return LinkPtr();
  if (err < 0) return NlStatus(err, absl::StrCat("netlink: looking up link \"", name, "\""));
  return LinkPtr(link);
}

}  // namespace bdcoord::net::netlink
