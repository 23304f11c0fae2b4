#ifndef BDCOORD_TESTS_TESTING_PLACEMENT_BUILDERS_H_
#define BDCOORD_TESTS_TESTING_PLACEMENT_BUILDERS_H_

// Builders for scheduler inputs, shared by the scheduler's unit tests and its benchmark.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "bdcoord/v1/spec.pb.h"
#include "coordinator/placement/scheduler.h"
#include "coordinator/spec/instance_names.h"

namespace bdcoord::testing {

using Labels = std::map<std::string, std::string>;
using Previous = absl::flat_hash_map<std::string, std::string>;

inline bdcoord::v1::Host MakeHost(const std::string& name, const Labels& labels = {},
                                  int64_t millicpus = 0, int64_t memory_bytes = 0) {
  bdcoord::v1::Host host;
  host.set_name(name);
  host.set_address(absl::StrCat("192.0.2.", name.size()));
  for (const auto& [key, value] : labels) (*host.mutable_labels())[key] = value;
  host.mutable_capacity()->set_millicpus(millicpus);
  host.mutable_capacity()->set_memory_bytes(memory_bytes);
  return host;
}

inline bdcoord::v1::Constraint MakeConstraint(const std::string& label,
                                              bdcoord::v1::Constraint::Op op,
                                              const std::vector<std::string>& values,
                                              const std::string& text) {
  bdcoord::v1::Constraint constraint;
  constraint.set_label(label);
  constraint.set_op(op);
  for (const auto& value : values) constraint.add_values(value);
  constraint.set_text(text);
  return constraint;
}

// A cluster under construction, and the scheduler run on it.
class Cluster {
 public:
  bdcoord::v1::Host& AddHost(const std::string& name, const Labels& labels = {},
                             int64_t millicpus = 0, int64_t memory_bytes = 0) {
    hosts_.push_back(MakeHost(name, labels, millicpus, memory_bytes));
    return hosts_.back();
  }

  bdcoord::v1::Service& AddService(const std::string& name, uint32_t count) {
    bdcoord::v1::Service* service = spec_.add_services();
    service->set_name(name);
    service->set_image("busybox");
    service->set_count(count);
    return *service;
  }

  coordinator::ScheduleResult Run(const Previous* previous = nullptr) const {
    coordinator::ScheduleInput input;
    input.spec = &spec_;
    input.hosts = &hosts_;
    input.previous = previous;
    return coordinator::Schedule(input);
  }

  // Host names of the instances of the service at `s`, "-" for an unplaced one.
  std::vector<std::string> HostsOf(const coordinator::ScheduleResult& result, int s) const {
    std::vector<std::string> names;
    for (int h : result.hosts_by_service.at(s)) names.push_back(h < 0 ? "-" : hosts_.at(h).name());
    return names;
  }

  // instance name -> host name, as the store would keep it and hand back as `previous`.
  Previous PlacementOf(const coordinator::ScheduleResult& result) const {
    Previous placement;
    for (int s = 0; s < spec_.services_size(); ++s) {
      const auto& hosts = result.hosts_by_service.at(s);
      for (size_t i = 0; i < hosts.size(); ++i) {
        if (hosts[i] < 0) continue;
        placement[coordinator::InstanceName(spec_.services(s), static_cast<uint32_t>(i + 1))] =
            hosts_.at(hosts[i]).name();
      }
    }
    return placement;
  }

  bdcoord::v1::ClusterSpec& spec() { return spec_; }
  std::vector<bdcoord::v1::Host>& hosts() { return hosts_; }
  const bdcoord::v1::ClusterSpec& spec() const { return spec_; }
  const std::vector<bdcoord::v1::Host>& hosts() const { return hosts_; }

 private:
  bdcoord::v1::ClusterSpec spec_;
  std::vector<bdcoord::v1::Host> hosts_;
};

}  // namespace bdcoord::testing

#endif  // BDCOORD_TESTS_TESTING_PLACEMENT_BUILDERS_H_
