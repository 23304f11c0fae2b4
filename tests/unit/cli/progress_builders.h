#ifndef BDCOORD_TESTS_UNIT_CLI_PROGRESS_BUILDERS_H_
#define BDCOORD_TESTS_UNIT_CLI_PROGRESS_BUILDERS_H_

#include <cstdint>
#include <string>

#include "bdcoord/v1/cluster.pb.h"

namespace bdcoord::cli {

// A service's progress with every instance placed, `started` of them created and started.
inline bdcoord::v1::ServiceProgress Progress(const std::string& name, uint32_t desired,
                                             uint32_t started, uint32_t ready,
                                             const std::string& waiting = "") {
  bdcoord::v1::ServiceProgress progress;
  progress.set_service(name);
  progress.set_desired(desired);
  progress.set_placed(desired);
  progress.set_created(started);
  progress.set_started(started);
  progress.set_ready(ready);
  progress.set_waiting_for(waiting);
  return progress;
}

// An instance of `cluster` placed on `host` at `ip`, in `state`.
inline bdcoord::v1::InstanceView* AddInstance(bdcoord::v1::ClusterStatus* cluster,
                                              const std::string& name, const std::string& service,
                                              const std::string& host, const std::string& ip,
                                              bdcoord::v1::InstanceState state) {
  auto* view = cluster->add_instances();
  view->mutable_placed()->set_name(name);
  view->mutable_placed()->set_service(service);
  view->mutable_placed()->set_host(host);
  view->mutable_placed()->set_ip(ip);
  view->mutable_status()->set_state(state);
  return view;
}

}  // namespace bdcoord::cli

#endif  // BDCOORD_TESTS_UNIT_CLI_PROGRESS_BUILDERS_H_
