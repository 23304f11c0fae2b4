#include "cli/rollout_command.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "bdcoord/v1/cluster.grpc.pb.h"
#include "cli/cluster_commands.h"
#include "cli/exit_codes.h"
#include "cli/text_table.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"

namespace bdcoord::cli {
namespace {

using bdcoord::v1::Rollout;
using bdcoord::v1::RolloutStep;

std::string StateWord(Rollout::State state) {
  switch (state) {
    case Rollout::STATE_ROLLING:
      return "rolling";
    case Rollout::STATE_PAUSED:
      return "paused";
    case Rollout::STATE_HALTED:
      return "halted";
    case Rollout::STATE_DONE:
      return "done";
    default:
      return "none";
  }
}

std::string PhaseWord(RolloutStep::Phase phase) {
  switch (phase) {
    case RolloutStep::PHASE_WAITING:
      return "waiting";
    case RolloutStep::PHASE_UPDATING:
      return "updating";
    case RolloutStep::PHASE_DONE:
      return "updated";
    case RolloutStep::PHASE_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

std::string TimeText(const google::protobuf::Timestamp& stamp) {
  if (stamp.seconds() == 0 && stamp.nanos() == 0) return "-";
  const absl::Time time =
      absl::FromUnixMicros(google::protobuf::util::TimeUtil::TimestampToMicroseconds(stamp));
  return absl::FormatTime("%H:%M:%S", time, absl::UTCTimeZone());
}

}  // namespace

std::string RolloutLine(const Rollout& rollout) {
  if (rollout.state() == Rollout::STATE_UNSPECIFIED) return "";
  int updated = 0;
  std::vector<std::string> updating;
  for (const RolloutStep& step : rollout.steps()) {
    updated += step.phase() == RolloutStep::PHASE_DONE;
    if (step.phase() == RolloutStep::PHASE_UPDATING) updating.push_back(step.instance());
  }
  std::string out = absl::StrCat(rollout.undo() ? "rollout (undo): " : "rollout: ", updated, "/",
                                 rollout.steps_size(), " updated");
  if (rollout.state() != Rollout::STATE_ROLLING) {
    absl::StrAppend(&out, ", ", StateWord(rollout.state()));
  }
  if (!updating.empty()) absl::StrAppend(&out, ", replacing ", absl::StrJoin(updating, ", "));
  if (rollout.state() == Rollout::STATE_HALTED && !rollout.message().empty()) {
    absl::StrAppend(&out, ": ", rollout.message());
  }
  return out;
}

std::string RolloutTable(const std::string& cluster, const Rollout& rollout) {
  if (rollout.state() == Rollout::STATE_UNSPECIFIED) {
    return absl::StrCat("cluster ", cluster,
                        ": no rollout (a re-apply that changes instances of "
                        "a service with a readiness probe or an `update` block makes one)\n");
  }
  std::string out = absl::StrCat("cluster ", cluster, ": ", RolloutLine(rollout), "\n");
  if (rollout.undo() && !rollout.message().empty() && rollout.state() != Rollout::STATE_HALTED) {
    absl::StrAppend(&out, "  ", rollout.message(), "\n");
  }
  std::vector<std::vector<std::string>> rows = {
      {"STEP", "INSTANCE", "SERVICE", "PHASE", "RELEASED", "READY SINCE", "MESSAGE"}};
  int index = 0;
  for (const RolloutStep& step : rollout.steps()) {
    rows.push_back({absl::StrCat(++index), step.instance(), step.service(), PhaseWord(step.phase()),
                    TimeText(step.released_at()), TimeText(step.ready_since()),
                    step.message().empty() ? "-" : step.message()});
  }
  return out + RenderColumns(rows);
}

std::string RolloutJson(const std::string& cluster, const Rollout& rollout) {
  nlohmann::json steps = nlohmann::json::array();
  for (const RolloutStep& step : rollout.steps()) {
    steps.push_back({{"instance", step.instance()},
                     {"service", step.service()},
                     {"phase", PhaseWord(step.phase())},
                     {"released_at_us", google::protobuf::util::TimeUtil::TimestampToMicroseconds(
                                            step.released_at())},
                     {"message", step.message()}});
  }
  return nlohmann::json({{"cluster", cluster},
                         {"state", StateWord(rollout.state())},
                         {"undo", rollout.undo()},
                         {"message", rollout.message()},
                         {"steps", steps}})
             .dump(2) +
         "\n";
}

int RunRollout(const RolloutOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  if (options.action == "status") {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    bdcoord::v1::GetStatusRequest request;
    request.set_cluster(options.cluster);
    bdcoord::v1::GetStatusResponse response;
    const grpc::Status status = coordinator->stub->GetStatus(&context, request, &response);
    if (!status.ok()) return ReportCallError(*coordinator, status, err);
    for (const auto& cluster : response.clusters()) {
      out << (options.output == "json" ? RolloutJson(cluster.cluster(), cluster.rollout())
                                       : RolloutTable(cluster.cluster(), cluster.rollout()));
    }
    return kExitOk;
  }
  bdcoord::v1::ChangeRolloutRequest request;
  request.set_cluster(options.cluster);
  request.set_action(options.action == "pause"    ? bdcoord::v1::ChangeRolloutRequest::ACTION_PAUSE
                     : options.action == "resume" ? bdcoord::v1::ChangeRolloutRequest::ACTION_RESUME
                                                  : bdcoord::v1::ChangeRolloutRequest::ACTION_UNDO);
  grpc::ClientContext context;
  auto reader = coordinator->stub->ChangeRollout(&context, request);
  if (options.action == "undo")
    return FollowApplyProgress(*coordinator, std::move(reader), out, err);
  bdcoord::v1::ApplyProgress progress;
  bool any = false;
  while (reader->Read(&progress)) any = true;
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportCallError(*coordinator, status, err);
  if (any)
    out << "cluster " << progress.cluster() << ": " << RolloutLine(progress.rollout()) << "\n";
  return kExitOk;
}

}  // namespace bdcoord::cli
