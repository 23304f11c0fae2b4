#include "coordinator/ops/image_push.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/spec/diagnostics.h"

namespace bdcoord::coordinator {

bool HasImage(const bdcoord::v1::ImageList& images, const bdcoord::v1::PushImageHeader& header) {
  std::set<std::string> ids;
  std::map<std::string, std::string> tag_to_id;
  for (const auto& image : images.images()) {
    ids.insert(image.id());
    for (const std::string& tag : image.repo_tags()) tag_to_id[tag] = image.id();
  }
  const std::set<std::string> pushed(header.ids().begin(), header.ids().end());
  for (const std::string& id : pushed) {
    if (!ids.contains(id)) return false;
  }
  for (const std::string& tag : header.repo_tags()) {
    auto it = tag_to_id.find(tag);
    if (it == tag_to_id.end() || !pushed.contains(it->second)) return false;
  }
  return true;
}

std::string HumanBytes(int64_t bytes) {
  constexpr double kKi = 1024.0;
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  if (bytes < 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / kKi);
  if (bytes < int64_t{1} << 30) return absl::StrFormat("%.1f MiB", bytes / (kKi * kKi));
  return absl::StrFormat("%.1f GiB", bytes / (kKi * kKi * kKi));
}

absl::StatusOr<std::vector<std::string>> ImageHosts(
    const Inventory& inventory, const google::protobuf::RepeatedPtrField<std::string>& wanted) {
  const std::vector<InventoryHost> known = inventory.Hosts();
  std::vector<std::string> names;
  std::set<std::string> hosts;
  for (const InventoryHost& host : known) {
    names.push_back(host.name);
    if (host.connected && wanted.empty()) hosts.insert(host.name);
  }
  for (const std::string& name : wanted) {
    auto it = std::find_if(known.begin(), known.end(),
                           [&](const InventoryHost& host) { return host.name == name; });
    if (it == known.end()) {
      std::string message = absl::StrCat("no host named '", name, "'");
      if (std::string hint = SuggestionHint(name, names); !hint.empty()) {
        absl::StrAppend(&message, "; ", hint);
      }
      return absl::NotFoundError(message);
    }
    if (!it->connected) {
      return absl::FailedPreconditionError(absl::StrCat(
          "host '", name, "' is not connected; hint: start its bdagent, or leave it out"));
    }
    hosts.insert(name);
  }
  if (hosts.empty()) {
    return absl::FailedPreconditionError(
        "no host is connected; hint: `bdcoord hosts` lists them, start their bdagent");
  }
  return std::vector<std::string>(hosts.begin(), hosts.end());
}

ImagePush::ImagePush(const Inventory& inventory, AgentSessions& agents,
                     std::function<absl::Time()> now, ImagePushLimits limits)
    : inventory_(inventory), agents_(agents), now_(std::move(now)), limits_(limits) {}

ImagePush::~ImagePush() {
  if (!over_) Abort();
}

bool ImagePush::sending() const {
  return std::any_of(targets_.begin(), targets_.end(),
                     [](const Target& target) { return target.receiving; });
}

void ImagePush::Fail(Target& target, std::string message) {
  target.receiving = false;
  bdcoord::v1::HostPush* host = progress_.mutable_hosts(target.index);
  host->set_state(bdcoord::v1::HostPush::STATE_FAILED);
  host->set_message(std::move(message));
}

absl::StatusOr<bdcoord::v1::PushImageProgress> ImagePush::Start(
    const bdcoord::v1::PushImageHeader& header) {
  name_ = header.name();
  if (header.ids().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the push of '", header.name(), "' names no image ID"));
  }
  if (header.size_bytes() > limits_.max_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "image '", header.name(), "' is ", HumanBytes(header.size_bytes()),
        ", more than the coordinator's limit of ", HumanBytes(limits_.max_bytes),
        "; hint: start bdcoordd with a larger --max-image-size, or make the image smaller"));
  }
  absl::StatusOr<std::vector<std::string>> hosts = ImageHosts(inventory_, header.hosts());
  if (!hosts.ok()) return hosts.status();
  std::map<std::string, absl::StatusOr<bdcoord::v1::ImageList>> lists =
      agents_.ListImages(*hosts, now_() + limits_.list_timeout);
  for (const std::string& name : *hosts) {
    bdcoord::v1::HostPush* host = progress_.add_hosts();
    host->set_host(name);
    Target target{.index = progress_.hosts_size() - 1, .request_id = 0, .receiving = false};
    const absl::StatusOr<bdcoord::v1::ImageList>& images = lists.at(name);
    if (!images.ok() || !images->error().empty()) {
      targets_.push_back(target);
      Fail(targets_.back(),
           absl::StrCat("cannot list its images: ",
                        images.ok() ? images->error() : std::string(images.status().message())));
      continue;
    }
    if (HasImage(*images, header)) {
      host->set_state(bdcoord::v1::HostPush::STATE_SKIPPED);
      host->set_message("has it already");
      targets_.push_back(target);
      continue;
    }
    host->set_state(bdcoord::v1::HostPush::STATE_SENDING);
    target.receiving = true;
    target.request_id = agents_.ExpectResult(name);
    targets_.push_back(target);
  }
  if (!sending()) over_ = true;
  return progress_;
}

void ImagePush::SendToReceiving(bdcoord::v1::CoordinatorMessage& message) {
  message.mutable_image()->set_image(name_);
  for (Target& target : targets_) {
    if (!target.receiving) continue;
    message.mutable_image()->set_request_id(target.request_id);
    const std::string& host = progress_.hosts(target.index).host();
    if (absl::Status sent = agents_.Send(host, message); !sent.ok()) {
      agents_.AwaitResult(target.request_id, absl::InfinitePast()).IgnoreError();
      Fail(target, std::string(sent.message()));
    }
  }
}

absl::Status ImagePush::Forward(const std::string& data) {
  if (progress_.bytes_forwarded() + static_cast<int64_t>(data.size()) > limits_.max_bytes) {
    Abort();
    return absl::FailedPreconditionError(absl::StrCat(
        "image '", name_, "' is larger than the coordinator's limit of ",
        HumanBytes(limits_.max_bytes),
        "; hint: start bdcoordd with a larger --max-image-size, or make the image smaller"));
  }
  bdcoord::v1::CoordinatorMessage message;
  message.mutable_image()->set_data(data);
  SendToReceiving(message);
  progress_.set_bytes_forwarded(progress_.bytes_forwarded() + static_cast<int64_t>(data.size()));
  return absl::OkStatus();
}

bdcoord::v1::PushImageProgress ImagePush::Finish() {
  over_ = true;
  bdcoord::v1::CoordinatorMessage message;
  message.mutable_image()->set_end(true);
  SendToReceiving(message);
  const absl::Time deadline = now_() + limits_.load_timeout;
  for (Target& target : targets_) {
    if (!target.receiving) continue;
    absl::StatusOr<bdcoord::v1::CommandResult> result =
        agents_.AwaitResult(target.request_id, deadline);
    if (!result.ok()) {
      Fail(target, std::string(result.status().message()));
    } else if (!result->ok()) {
      Fail(target, absl::StrCat("its Docker did not load it: ", result->message()));
    } else {
      target.receiving = false;
      bdcoord::v1::HostPush* host = progress_.mutable_hosts(target.index);
      host->set_state(bdcoord::v1::HostPush::STATE_LOADED);
      host->set_message(result->message());
    }
  }
  progress_.set_done(true);
  return progress_;
}

void ImagePush::Abort() {
  over_ = true;
  bdcoord::v1::CoordinatorMessage message;
  message.mutable_image()->set_image(name_);
  message.mutable_image()->set_abort(true);
  for (Target& target : targets_) {
    if (!target.receiving) continue;
    message.mutable_image()->set_request_id(target.request_id);
    agents_.Send(progress_.hosts(target.index).host(), message).IgnoreError();
    agents_.AwaitResult(target.request_id, absl::InfinitePast()).IgnoreError();
    Fail(target, "the push was aborted");
  }
}

}  // namespace bdcoord::coordinator
