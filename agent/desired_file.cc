#include "agent/desired_file.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "proto/rpc/logging.h"

namespace bdcoord::agent {

absl::StatusOr<bdcoord::v1::DesiredState> ReadDesiredState(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  bdcoord::v1::DesiredState desired;
  const auto status = google::protobuf::util::JsonStringToMessage(text.str(), &desired);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a desired state: ", std::string(status.message())));
  }
  return desired;
}

absl::Status DesiredFile::Refresh() {
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path_, ec);
  absl::StatusOr<bdcoord::v1::DesiredState> desired = ReadDesiredState(path_);
  if (!desired.ok()) return desired.status();
  if (mtime != seen_mtime_) rpc::NamedLogger("bdagent")->info("desired state from '{}'", path_);
  seen_mtime_ = mtime;
  agent_->SetSoleDesired(*desired);
  return absl::OkStatus();
}

std::string PrettyJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

std::string StatusesJson(const PassSummary& pass) {
  std::string out = "[";
  const char* separator = "\n";
  for (const ClusterPass& cluster : pass.clusters) {
    for (const auto& status : cluster.result.statuses) {
      absl::StrAppend(&out, separator, PrettyJson(status));
      separator = ",\n";
    }
  }
  return absl::StrCat(out, "]\n");
}

int OnceExitCode(const PassSummary& pass) {
  for (const ClusterPass& cluster : pass.clusters) {
    if (!cluster.result.errors.empty()) return 1;
    for (const auto& status : cluster.result.statuses) {
      if (status.state() == bdcoord::v1::INSTANCE_STATE_FAILED) return 1;
    }
  }
  return 0;
}

int RunOnceAndPrint(Agent* agent, const RefreshDesired& refresh, std::ostream& out) {
  absl::StatusOr<PassSummary> pass = agent->RunOnce(refresh);
  if (!pass.ok()) {
    rpc::NamedLogger("bdagent")->error("{}", std::string(pass.status().message()));
    return 2;
  }
  out << StatusesJson(*pass);
  return OnceExitCode(*pass);
}

}  // namespace bdcoord::agent
