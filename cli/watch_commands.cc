#include "cli/watch_commands.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "cli/coordinator_client.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "coordinator/spec/diagnostics.h"
#include "nlohmann/json.hpp"
#include "proto/rpc/stream_headers.h"

namespace bdcoord::cli {
namespace {

std::string EventTime(const bdcoord::v1::Event& event) {
  const absl::Time time =
      absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(event.time()));
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

// What a streaming call ended with: 0 for the end of the stream or an interrupt.
int StreamEnd(const Coordinator& coordinator, const grpc::Status& status, std::ostream& err) {
  if (status.ok()) return kExitOk;
  if (status.error_code() == grpc::StatusCode::CANCELLED && Interrupted()) return kExitOk;
  return ReportCallError(coordinator, status, err);
}

}  // namespace

std::string LogLineText(const bdcoord::v1::LogLine& line) {
  return absl::StrCat(line.instance(), " | ", line.text(), "\n");
}

std::string EventLine(const bdcoord::v1::Event& event) {
  std::string subject;
  if (!event.instance().empty()) {
    subject = absl::StrCat(event.cluster(), "/", event.instance());
  } else if (!event.host().empty()) {
    subject = absl::StrCat("host ", event.host());
  } else {
    subject = event.cluster();
  }
  std::string line = absl::StrFormat("%s  %-9s  %s", EventTime(event), event.kind(), subject);
  if (!event.instance().empty() && !event.host().empty()) {
    absl::StrAppend(&line, " (on ", event.host(), ")");
  }
  if (!event.message().empty()) absl::StrAppend(&line, ": ", event.message());
  return line + "\n";
}

std::string EventJson(const bdcoord::v1::Event& event) {
  nlohmann::ordered_json object;
  object["time"] = EventTime(event);
  object["kind"] = event.kind();
  object["cluster"] = event.cluster();
  object["instance"] = event.instance();
  object["host"] = event.host();
  object["message"] = event.message();
  return object.dump() + "\n";
}

std::string WatchingEventsLine(const std::string& cluster, absl::Time since) {
  const std::string what =
      cluster.empty() ? "every cluster and host"
                      : absl::StrCat("cluster ", coordinator::Quote(cluster), " and of every host");
  return absl::StrCat("watching the events of ", what, " since ",
                      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", since, absl::UTCTimeZone()),
                      " (Ctrl-C to stop)\n");
}

int RunLogs(const LogsOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  grpc::ClientContext context;
  if (!options.follow) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  }
  OnInterrupt on_interrupt([&context] { context.TryCancel(); });
  bdcoord::v1::StreamLogsRequest request;
  request.set_cluster(options.cluster);
  request.set_target(options.target);
  request.set_follow(options.follow);
  request.set_tail(options.tail);
  auto reader = coordinator->stub->StreamLogs(&context, request);
  bdcoord::v1::LogLine line;
  while (reader->Read(&line)) {
    (line.stderr() ? err : out) << LogLineText(line) << std::flush;
  }
  return StreamEnd(*coordinator, reader->Finish(), err);
}

int RunEvents(const EventsOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  grpc::ClientContext context;
  OnInterrupt on_interrupt([&context] { context.TryCancel(); });
  bdcoord::v1::WatchEventsRequest request;
  request.set_cluster(options.cluster);
  auto reader = coordinator->stub->WatchEvents(&context, request);
  // The coordinator's headers say when it subscribed us: from then on no event is missed. A call
  // that failed (an unreachable coordinator, a refused stream) gets to here without them.
  reader->WaitForInitialMetadata();
  if (context.GetServerInitialMetadata().count(rpc::kSubscribedHeader) > 0) {
    err << WatchingEventsLine(options.cluster, absl::Now()) << std::flush;
  }
  bdcoord::v1::Event event;
  while (reader->Read(&event)) {
    out << (options.output == "json" ? EventJson(event) : EventLine(event)) << std::flush;
  }
  return StreamEnd(*coordinator, reader->Finish(), err);
}

}  // namespace bdcoord::cli
