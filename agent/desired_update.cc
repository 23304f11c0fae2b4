#include "agent/desired_update.h"

#include <utility>

namespace bdcoord::agent {
namespace {

// The kept map and its text into `update` (the version into hosts_map, for the reports).
void SetHosts(net::HostsMap hosts, std::string text, DesiredUpdate* update) {
  update->kept.desired.clear_hosts_delta();
  update->kept.desired.mutable_hosts_map()->set_version(hosts.version());
  update->kept.desired.set_hosts_file(std::move(text));
  update->kept.hosts = std::move(hosts);
}

}  // namespace

DesiredUpdate UpdateDesired(const KeptDesired* kept, const bdcoord::v1::DesiredState& incoming) {
  DesiredUpdate update;
  if (incoming.hosts_only()) {
    if (kept == nullptr) {
      update.unusable = true;
      update.hosts = absl::FailedPreconditionError(
          "only the hosts changed, but nothing is kept for the cluster");
      return update;
    }
    update.kept.desired = kept->desired;
    update.kept.desired.set_generation(incoming.generation());
  } else {
    update.kept.desired = incoming;
    update.kept.desired.clear_hosts_map();
    update.kept.desired.clear_hosts_delta();
  }
  update.kept.desired.set_hosts_only(false);

  switch (incoming.hosts_case()) {
    case bdcoord::v1::DesiredState::kHostsMap: {
      absl::StatusOr<net::HostsMap> map = net::FromProto(incoming.hosts_map());
      if (map.ok()) {
        std::string text = map->Render();
        SetHosts(*std::move(map), std::move(text), &update);
        return update;
      }
      update.hosts = map.status();
      break;
    }
    case bdcoord::v1::DesiredState::kHostsDelta: {
      net::HostsMap map = kept != nullptr ? kept->hosts : net::HostsMap();
      absl::StatusOr<net::HostsDelta> delta = net::FromProto(incoming.hosts_delta());
      update.hosts = delta.ok() ? map.Apply(*delta) : delta.status();
      if (update.hosts.ok()) {
        std::string text = map.Render();
        SetHosts(std::move(map), std::move(text), &update);
        return update;
      }
      break;
    }
    case bdcoord::v1::DesiredState::HOSTS_NOT_SET:
      // The text itself (a desired-state file): no map, version 0.
      if (!incoming.hosts_only() && !incoming.hosts_file().empty()) {
        SetHosts(net::HostsMap(), incoming.hosts_file(), &update);
        return update;
      }
      break;
  }
  // Nothing new taken: the kept map stays (none: no hosts file).
  if (kept != nullptr) {
    SetHosts(kept->hosts, kept->desired.hosts_file(), &update);
  } else {
    SetHosts(net::HostsMap(), "", &update);
  }
  return update;
}

}  // namespace bdcoord::agent
