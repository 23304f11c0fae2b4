#include "cli/images_command.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "cli/exit_codes.h"
#include "cli/image_source.h"
#include "cli/text_table.h"
#include "nlohmann/json.hpp"
#include "proto/rpc/limits.h"

namespace bdcoord::cli {
namespace {

std::string Bytes(int64_t bytes) {
  constexpr double kMi = 1024.0 * 1024;
  if (bytes >= (int64_t{1} << 30)) return absl::StrFormat("%.2f GiB", bytes / (kMi * 1024));
  return absl::StrFormat("%.1f MiB", bytes / kMi);
}

std::string ShortId(const std::string& id) {
  std::string hex = id.substr(id.find(':') == std::string::npos ? 0 : id.find(':') + 1);
  return hex.substr(0, 12);
}

const char* StateName(bdcoord::v1::HostPush::State state) {
  switch (state) {
    case bdcoord::v1::HostPush::STATE_SENDING:
      return "sending";
    case bdcoord::v1::HostPush::STATE_SKIPPED:
      return "skipped";
    case bdcoord::v1::HostPush::STATE_LOADED:
      return "loaded";
    case bdcoord::v1::HostPush::STATE_FAILED:
      return "failed";
    default:
      return "?";
  }
}

// "...; hint: ..." as its own line, as every bdcoord error prints a hint.
void PrintError(const std::string& message, std::ostream& err) {
  err << "bdcoord: " << absl::StrReplaceAll(message, {{"; hint: ", "\n  hint: "}}) << "\n";
}

// The progress line of a push: redrawn on a terminal, a line per tenth otherwise.
class PushProgress {
 public:
  PushProgress(std::ostream& out, std::string name, int hosts, int64_t total)
      : out_(out),
        tty_(&out == &std::cout && ::isatty(1) == 1),
        name_(std::move(name)),
        hosts_(hosts),
        total_(total),
        start_(std::chrono::steady_clock::now()) {}

  void Update(int64_t sent, bool last = false) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int percent =
        total_ > 0 ? static_cast<int>(std::min<int64_t>(100, sent * 100 / total_)) : 0;
    const std::string line = absl::StrFormat(
        "%s: %s%s to %d host%s, %.1f MB/s", name_, Bytes(sent),
        total_ > 0 ? absl::StrFormat(" of about %s (%d%%)", Bytes(total_), percent) : "", hosts_,
        hosts_ == 1 ? "" : "s", seconds > 0 ? sent / seconds / 1e6 : 0.0);
    if (tty_) {
      const auto now = std::chrono::steady_clock::now();
      if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = now;
      out_ << "\r\033[K" << line << (last ? "\n" : "") << std::flush;
      return;
    }
    const int tenth = percent / 10;
    if (last || tenth != last_tenth_) {
      last_tenth_ = tenth;
      out_ << line << "\n" << std::flush;
    }
  }

 private:
  std::ostream& out_;
  bool tty_;
  std::string name_;
  int hosts_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  int last_tenth_ = -1;
};

// One image: 0, 1 or 2 as RunImagesPush says.
int PushOne(const Coordinator& coordinator, const ImagesOptions& options, const std::string& name,
            std::ostream& out, std::ostream& err) {
  absl::StatusOr<ImageSource> source = ResolveImageSource(name, options.docker_host);
  if (!source.ok()) {
    PrintError(std::string(source.status().message()), err);
    return absl::IsInvalidArgument(source.status()) ? kExitInvalidInput : kExitRuntimeError;
  }
  grpc::ClientContext context;
  auto stream = coordinator.stub->PushImage(&context);
  bdcoord::v1::PushImageRequest request;
  bdcoord::v1::PushImageHeader* header = request.mutable_header();
  header->set_name(name);
  for (const std::string& id : source->images.ids) header->add_ids(id);
  for (const std::string& tag : source->images.repo_tags) header->add_repo_tags(tag);
  header->set_size_bytes(source->size_bytes);
  for (const std::string& host : options.hosts) header->add_hosts(host);
  bdcoord::v1::PushImageProgress progress;
  if (!stream->Write(request) || !stream->Read(&progress)) {
    stream->WritesDone();
    return ReportRpcError(coordinator, stream->Finish(), err);
  }
  int sending = 0;
  for (const auto& host : progress.hosts()) {
    if (host.state() == bdcoord::v1::HostPush::STATE_SENDING) ++sending;
  }
  out << name << " (" << ShortId(source->images.ids.front()) << "): " << sending << " of "
      << progress.hosts_size() << " hosts lack it\n";
  absl::Status read = absl::OkStatus();
  if (!progress.done()) {
    // With no host to send to, the coordinator's next message is the result: the archive is not
    // read at all (the local Docker would start saving the whole image for nothing).
    if (sending > 0) {
      PushProgress bar(out, name, sending, source->size_bytes);
      int64_t sent = 0;
      read = ReadImageArchive(*source, rpc::kImageChunkBytes, [&](std::string piece) {
        const int64_t size = static_cast<int64_t>(piece.size());
        bdcoord::v1::PushImageRequest data;
        data.set_data(std::move(piece));
        if (!stream->Write(data)) return false;  // the coordinator ended the push: its status says
        sent += size;
        bar.Update(sent);
        return true;
      });
      bar.Update(sent, /*last=*/true);
      if (!read.ok()) context.TryCancel();
    }
    stream->WritesDone();
    while (stream->Read(&progress) && !progress.done()) {
    }
  }
  const grpc::Status status = stream->Finish();
  if (!read.ok()) {
    PrintError(std::string(read.message()), err);
    return kExitRuntimeError;
  }
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
        status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      return ReportRpcError(coordinator, status, err);
    }
    PrintError(status.error_message(), err);
    return kExitRuntimeError;
  }
  out << PushResultLines(progress);
  for (const auto& host : progress.hosts()) {
    if (host.state() == bdcoord::v1::HostPush::STATE_FAILED) return kExitRuntimeError;
  }
  return kExitOk;
}

}  // namespace

std::string PushResultLines(const bdcoord::v1::PushImageProgress& progress) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& host : progress.hosts()) {
    rows.push_back({"", host.host(), StateName(host.state()), host.message()});
  }
  return rows.empty() ? "" : RenderColumns(rows);
}

std::string ImagesTable(const bdcoord::v1::ListImagesResponse& response) {
  std::vector<std::vector<std::string>> rows = {{"HOST", "IMAGE", "ID", "SIZE"}};
  for (const auto& host : response.hosts()) {
    if (!host.error().empty()) {
      rows.push_back({host.host(), "(" + host.error() + ")", "-", "-"});
      continue;
    }
    for (const auto& image : host.images()) {
      const std::string size = Bytes(image.size_bytes());
      if (image.repo_tags().empty()) {
        rows.push_back({host.host(), "<none>", ShortId(image.id()), size});
      }
      for (const std::string& tag : image.repo_tags()) {
        rows.push_back({host.host(), tag, ShortId(image.id()), size});
      }
    }
  }
  return RenderColumns(rows);
}

std::string ImagesJson(const bdcoord::v1::ListImagesResponse& response) {
  nlohmann::json hosts = nlohmann::json::array();
  for (const auto& host : response.hosts()) {
    nlohmann::json images = nlohmann::json::array();
    for (const auto& image : host.images()) {
      images.push_back({{"id", image.id()},
                        {"repo_tags", std::vector<std::string>(image.repo_tags().begin(),
                                                               image.repo_tags().end())},
                        {"size_bytes", image.size_bytes()}});
    }
    nlohmann::json entry = {{"host", host.host()}, {"images", images}};
    if (!host.error().empty()) entry["error"] = host.error();
    hosts.push_back(entry);
  }
  return nlohmann::json({{"hosts", hosts}}).dump(2) + "\n";
}

int RunImagesPush(const ImagesOptions& given, std::ostream& out, std::ostream& err) {
  ImagesOptions options = given;
  if (options.docker_host.empty()) options.docker_host = LocalDockerHost();
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  int code = kExitOk;
  for (const std::string& image : options.images) {
    code = std::max(code, PushOne(*coordinator, options, image, out, err));
  }
  return code;
}

int RunImagesLs(const ImagesOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Coordinator> coordinator = ConnectCoordinator(options.coordinator);
  if (!coordinator.ok()) return ReportConnectError(coordinator.status(), err);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  bdcoord::v1::ListImagesRequest request;
  for (const std::string& host : options.hosts) request.add_hosts(host);
  bdcoord::v1::ListImagesResponse response;
  const grpc::Status status = coordinator->stub->ListImages(&context, request, &response);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::NOT_FOUND ||
        status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      PrintError(status.error_message(), err);
      return kExitRuntimeError;
    }
    return ReportRpcError(*coordinator, status, err);
  }
  out << (options.output == "json" ? ImagesJson(response) : ImagesTable(response));
  for (const auto& host : response.hosts()) {
    if (!host.error().empty()) return kExitRuntimeError;
  }
  return kExitOk;
}

}  // namespace bdcoord::cli
