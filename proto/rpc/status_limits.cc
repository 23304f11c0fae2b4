#include "proto/rpc/status_limits.h"

#include <functional>

#include "absl/strings/str_cat.h"

namespace bdcoord::rpc {

std::string CutUtf8(absl::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  constexpr absl::string_view kMore = "...";
  if (max < kMore.size()) return "";
  size_t n = max - kMore.size();
  // Back off continuation bytes (10xxxxxx) so that no character is cut in half.
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return absl::StrCat(text.substr(0, n), kMore);
}

void BoundInstanceStatus(bdcoord::v1::InstanceStatus* status) {
  if (status->message().size() > kMaxStatusTextBytes) {
    status->set_message(CutUtf8(status->message(), kMaxStatusTextBytes));
  }
  for (std::string& line : *status->mutable_last_log_lines()) {
    if (line.size() > kMaxStatusTextBytes) line = CutUtf8(line, kMaxStatusTextBytes);
  }
}

size_t TrimStatuses(const std::vector<bdcoord::v1::InstanceStatus*>& statuses, size_t size,
                    size_t max) {
  using Step = std::function<void(bdcoord::v1::InstanceStatus*)>;
  const Step steps[] = {
      [](bdcoord::v1::InstanceStatus* s) { s->clear_last_log_lines(); },
      [](bdcoord::v1::InstanceStatus* s) {
        if (s->message().size() > kTrimmedMessageBytes) {
          s->set_message(CutUtf8(s->message(), kTrimmedMessageBytes));
        }
      },
      [](bdcoord::v1::InstanceStatus* s) { s->clear_message(); },
  };
  for (const Step& step : steps) {
    for (auto it = statuses.rbegin(); it != statuses.rend() && size >= max; ++it) {
      const size_t before = (*it)->ByteSizeLong();
      step(*it);
      // Length prefixes only shrink with their contents: `size` stays an upper bound.
      size -= before - (*it)->ByteSizeLong();
    }
  }
  return size;
}

void BoundStatusReport(bdcoord::v1::StatusReport* report) {
  std::vector<bdcoord::v1::InstanceStatus*> statuses;
  for (bdcoord::v1::InstanceStatus& status : *report->mutable_instances()) {
    BoundInstanceStatus(&status);
    statuses.push_back(&status);
  }
  TrimStatuses(statuses, report->ByteSizeLong(), kMaxStatusReportBytes);
}

void TrimStatusReply(bdcoord::v1::GetStatusResponse* reply) {
  const size_t size = reply->ByteSizeLong();
  if (size < kMaxStatusReplyBytes) return;
  std::vector<bdcoord::v1::InstanceStatus*> statuses;
  for (auto& cluster : *reply->mutable_clusters()) {
    for (auto& view : *cluster.mutable_instances()) statuses.push_back(view.mutable_status());
  }
  TrimStatuses(statuses, size, kMaxStatusReplyBytes);
}

void TrimProgress(bdcoord::v1::ApplyProgress* progress) {
  const size_t size = progress->ByteSizeLong();
  if (size < kMaxStatusReplyBytes) return;
  std::vector<bdcoord::v1::InstanceStatus*> statuses;
  for (auto& failure : *progress->mutable_failures()) statuses.push_back(&failure);
  TrimStatuses(statuses, size, kMaxStatusReplyBytes);
}

}  // namespace bdcoord::rpc
