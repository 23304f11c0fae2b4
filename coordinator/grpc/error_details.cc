#include "coordinator/grpc/error_details.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "coordinator/ops/cluster_ops.h"
#include "proto/rpc/status_limits.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::PlacementFailures;
using bdcoord::v1::SpecErrors;

std::string TypeUrl(const google::protobuf::Message& message) {
  return absl::StrCat(kDetailTypeUrlPrefix, message.GetDescriptor()->full_name());
}

// Keeps the first entries of `list` that fit in `budget` serialized bytes; the rest are counted.
template <typename Repeated>
int KeepWithin(Repeated* list, size_t budget) {
  size_t used = 0;
  int kept = 0;
  for (; kept < list->size(); ++kept) {
    // Each entry costs its size, its length prefix and its tag (at most 6 bytes together here).
    used += list->Get(kept).ByteSizeLong() + 6;
    if (used > budget) break;
  }
  const int omitted = list->size() - kept;
  if (omitted > 0) list->DeleteSubrange(kept, omitted);
  return omitted;
}

// The payload's list cut to fit `budget` bytes, with `omitted` set.
std::string CappedDetail(absl::string_view type_url, std::string value, size_t budget) {
  if (value.size() <= budget) return value;
  constexpr size_t kSlack = 16;  // the `omitted` field itself
  if (type_url == TypeUrl(SpecErrors())) {
    SpecErrors errors;
    if (errors.ParseFromString(value)) {
      const int omitted = KeepWithin(errors.mutable_errors(), budget - kSlack);
      errors.set_omitted(errors.omitted() + omitted);
      return errors.SerializeAsString();
    }
  } else if (type_url == TypeUrl(PlacementFailures())) {
    PlacementFailures failures;
    if (failures.ParseFromString(value)) {
      const int omitted = KeepWithin(failures.mutable_failures(), budget - kSlack);
      failures.set_omitted(failures.omitted() + omitted);
      return failures.SerializeAsString();
    }
  }
  return "";  // an unknown detail this large is dropped rather than failing the call
}

// The status message as it is when short, else one line saying what the report holds.
std::string ShortMessage(const absl::Status& status) {
  const absl::string_view message = status.message();
  if (message.size() <= kMaxStatusMessageBytes) return std::string(message);
  if (absl::optional<absl::Cord> payload = status.GetPayload(TypeUrl(SpecErrors()))) {
    SpecErrors errors;
    if (errors.ParseFromString(std::string(*payload)) && errors.errors_size() > 0) {
      const std::string file = rpc::CutUtf8(errors.errors(0).file(), 512);
      return absl::StrCat(file, ": ", errors.errors_size(),
                          errors.errors_size() == 1 ? " error" : " errors");
    }
  }
  // A placement report starts with its summary line ("placement impossible: 40 of 42 ...").
  const absl::string_view first = message.substr(0, message.find('\n'));
  if (first.size() <= kMaxStatusMessageBytes) return std::string(first);
  return rpc::CutUtf8(first, kMaxStatusMessageBytes);
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message = ShortMessage(status);
  bdcoord::v1::ErrorStatus error;
  // The ErrorStatus repeats the message: the details get what is left of kMaxStatusDetailsBytes
  // (base64 on the wire, beside the percent-encoded message, all under gRPC's 8 KiB).
  const size_t budget = kMaxStatusDetailsBytes - message.size() - 64;
  status.ForEachPayload([&error, budget](absl::string_view type_url, const absl::Cord& value) {
    std::string capped = CappedDetail(type_url, std::string(value), budget);
    if (capped.empty() && !value.empty()) return;
    google::protobuf::Any* detail = error.add_details();
    detail->set_type_url(std::string(type_url));
    detail->set_value(std::move(capped));
  });
  if (error.details_size() == 0) return grpc::Status(code, message);
  error.set_code(code);
  error.set_message(message);
  return grpc::Status(code, message, error.SerializeAsString());
}

std::optional<bdcoord::v1::Rejection> RejectionOf(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument &&
      status.code() != absl::StatusCode::kFailedPrecondition) {
    return std::nullopt;
  }
  bdcoord::v1::Rejection rejection;
  if (absl::optional<absl::Cord> errors = status.GetPayload(TypeUrl(SpecErrors()))) {
    if (!rejection.mutable_spec_errors()->ParseFromString(std::string(*errors))) {
      return std::nullopt;
    }
  } else if (absl::optional<absl::Cord> failures =
                 status.GetPayload(TypeUrl(PlacementFailures()))) {
    if (!rejection.mutable_placement_failures()->ParseFromString(std::string(*failures))) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  rejection.set_code(static_cast<int>(status.code()));
  rejection.set_report(std::string(status.message()));
  return rejection;
}

}  // namespace bdcoord::coordinator
