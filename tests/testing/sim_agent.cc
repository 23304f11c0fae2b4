#include "tests/testing/sim_agent.h"

#include <utility>

#include "absl/time/clock.h"

namespace bdcoord::test_util {

bdcoord::v1::StatusReport ReportEverythingUp(const bdcoord::v1::DesiredState& desired) {
  bdcoord::v1::StatusReport report;
  report.set_cluster(desired.cluster());
  report.set_generation(desired.generation());
  for (const bdcoord::v1::DesiredInstance& instance : desired.instances()) {
    bdcoord::v1::InstanceStatus* status = report.add_instances();
    status->set_name(instance.name());
    status->set_service(instance.service());
    status->set_container_id("sim-" + instance.name());
    status->set_spec_hash(instance.spec_hash());
    if (instance.run_once() || instance.completed()) {
      status->set_state(bdcoord::v1::INSTANCE_STATE_COMPLETED);
    } else if (instance.hold()) {
      status->set_state(bdcoord::v1::INSTANCE_STATE_CREATED);
    } else {
      status->set_state(bdcoord::v1::INSTANCE_STATE_RUNNING);
      status->set_ready(true);
    }
  }
  return report;
}

bdcoord::v1::AgentMessage SimHello(const std::string& host,
                                   const std::map<std::string, std::string>& labels) {
  bdcoord::v1::AgentMessage hello;
  hello.mutable_hello()->set_host(host);
  bdcoord::v1::HostFacts* facts = hello.mutable_hello()->mutable_facts();
  facts->set_hostname(host);
  facts->set_cpus(16);
  facts->set_memory_bytes(int64_t{64} << 30);
  facts->set_docker_version("20.10.24+dfsg1");
  facts->set_docker_api_version("1.41");
  facts->add_interfaces("eth0");
  for (const auto& [key, value] : labels) (*facts->mutable_labels())[key] = value;
  return hello;
}

SimAgent::SimAgent(std::string host, std::map<std::string, std::string> labels)
    : host_(std::move(host)), labels_(std::move(labels)) {}

SimAgent::~SimAgent() {
  context_.TryCancel();
  absl::MutexLock lock(&mu_);
  if (!started_) return;
  mu_.Await(absl::Condition(&done_));
}

void SimAgent::Start(bdcoord::v1::AgentService::Stub* stub) {
  stub->async()->Connect(&context_, this);
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  Enqueue(SimHello(host_, labels_));
  StartRead(&incoming_);
  StartCall();
}

void SimAgent::Heartbeat() {
  bdcoord::v1::AgentMessage heartbeat;
  heartbeat.mutable_heartbeat();
  Enqueue(std::move(heartbeat));
}

SimAgent::Counters SimAgent::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

bool SimAgent::done() const {
  absl::MutexLock lock(&mu_);
  return done_;
}

void SimAgent::Enqueue(bdcoord::v1::AgentMessage message) {
  {
    absl::MutexLock lock(&mu_);
    if (done_ || write_failed_) return;
    bool replaced = false;
    if (message.has_status()) {  // the latest report only, as bdagent's LatestReportSender
      for (bdcoord::v1::AgentMessage& queued : queue_) {
        if (queued.has_status() && queued.status().cluster() == message.status().cluster()) {
          queued = message;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) queue_.push_back(std::move(message));
    if (write_in_flight_) return;
    writing_ = std::move(queue_.front());
    queue_.pop_front();
    write_in_flight_ = true;
  }
  StartWrite(&writing_);
}

void SimAgent::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    if (!ok) {
      write_failed_ = true;
      queue_.clear();
      return;
    }
    if (queue_.empty()) return;
    writing_ = std::move(queue_.front());
    queue_.pop_front();
    write_in_flight_ = true;
  }
  StartWrite(&writing_);
}

void SimAgent::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended: OnDone follows
  const uint64_t size = incoming_.ByteSizeLong();
  bool report = false;
  bdcoord::v1::AgentMessage message;
  {
    absl::MutexLock lock(&mu_);
    ++counters_.messages;
    counters_.bytes += size;
    if (incoming_.has_desired()) {
      bdcoord::v1::DesiredState& incoming = *incoming_.mutable_desired();
      ++counters_.desired_states;
      counters_.hosts_bytes += incoming.hosts_file().size() + incoming.hosts_map().ByteSizeLong() +
                               incoming.hosts_delta().ByteSizeLong();
      // As bdagent keeps it (agent::UpdateDesired) without the map itself, which a thousand
      // agents need not hold: the state, and the version of the map it would have.
      Kept& kept = kept_[incoming.cluster()];
      if (incoming.has_hosts_map()) {
        kept.hosts_version = incoming.hosts_map().version();
      } else if (incoming.has_hosts_delta() &&
                 incoming.hosts_delta().from_version() == kept.hosts_version) {
        kept.hosts_version = incoming.hosts_delta().to_version();
      }
      if (incoming.hosts_only()) {
        kept.desired.set_generation(incoming.generation());
      } else {
        incoming.clear_hosts();
        incoming.clear_hosts_file();
        kept.desired = std::move(incoming);
      }
      const bdcoord::v1::DesiredState& desired = kept.desired;
      *message.mutable_status() = ReportEverythingUp(desired);
      message.mutable_status()->set_hosts_version(kept.hosts_version);
      uint64_t running = 0;
      for (const bdcoord::v1::InstanceStatus& status : message.status().instances()) {
        running += status.state() == bdcoord::v1::INSTANCE_STATE_RUNNING ||
                   status.state() == bdcoord::v1::INSTANCE_STATE_COMPLETED;
      }
      uint64_t& before = running_by_cluster_[desired.cluster()];
      if (running != before) {
        counters_.running = counters_.running - before + running;
        counters_.running_changed = absl::Now();
        before = running;
      }
      report = true;
    }
  }
  incoming_ =
      bdcoord::v1::CoordinatorMessage();  // a thousand agents need not keep a hosts file each
  if (report) Enqueue(std::move(message));
  StartRead(&incoming_);
}

void SimAgent::OnDone(const grpc::Status& /*status*/) {
  absl::MutexLock lock(&mu_);
  done_ = true;
}

}  // namespace bdcoord::test_util
