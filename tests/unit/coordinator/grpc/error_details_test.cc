// A refused spec's status must fit gRPC's metadata (a short message, at most 4 KiB of details)
// while the whole report stays available as a Rejection.
#include "coordinator/grpc/error_details.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "coordinator/ops/cluster_ops.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::HasSubstr;

absl::Status SpecRefused(int errors) {
  bdcoord::v1::SpecErrors details;
  std::string report;
  for (int i = 1; i <= errors; ++i) {
    bdcoord::v1::SpecError* error = details.add_errors();
    error->set_file("many.yaml");
    error->set_line(i);
    error->set_column(5);
    error->set_message(absl::StrCat("unknown key 'imgae", i, "'"));
    error->set_hint("did you mean 'image'?");
    absl::StrAppend(&report, "many.yaml:", i, ":5: ", error->message(), "\n  hint: ", error->hint(),
                    "\n");
  }
  absl::Status status = absl::InvalidArgumentError(report);
  status.SetPayload(absl::StrCat(kDetailTypeUrlPrefix, "bdcoord.v1.SpecErrors"),
                    absl::Cord(details.SerializeAsString()));
  return status;
}

bdcoord::v1::ErrorStatus DetailsOf(const grpc::Status& status) {
  bdcoord::v1::ErrorStatus error;
  EXPECT_TRUE(error.ParseFromString(status.error_details()));
  return error;
}

TEST(ErrorDetailsTest, AShortReportTravelsWhole) {
  const absl::Status refused = SpecRefused(2);
  const grpc::Status status = ToGrpc(refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), refused.message());
  bdcoord::v1::SpecErrors errors;
  ASSERT_TRUE(DetailsOf(status).details(0).UnpackTo(&errors));
  EXPECT_EQ(errors.errors_size(), 2);
  EXPECT_EQ(errors.omitted(), 0);
}

TEST(ErrorDetailsTest, SixtyErrorsGetAShortMessageAndCappedDetails) {
  const absl::Status refused = SpecRefused(60);
  ASSERT_GT(refused.message().size(), kMaxStatusMessageBytes);
  const grpc::Status status = ToGrpc(refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "many.yaml: 60 errors");
  EXPECT_LE(status.error_details().size(), kMaxStatusDetailsBytes);
  const bdcoord::v1::ErrorStatus error = DetailsOf(status);
  EXPECT_EQ(error.message(), "many.yaml: 60 errors");
  ASSERT_EQ(error.details_size(), 1);
  EXPECT_LE(error.details(0).value().size(), kMaxStatusDetailsBytes);
  bdcoord::v1::SpecErrors errors;
  ASSERT_TRUE(error.details(0).UnpackTo(&errors));
  EXPECT_GT(errors.errors_size(), 10);
  EXPECT_EQ(errors.errors_size() + errors.omitted(), 60);
  EXPECT_EQ(errors.errors(0).line(), 1);  // the first ones are kept
}

TEST(ErrorDetailsTest, ARejectionHoldsTheWholeReport) {
  const absl::Status refused = SpecRefused(60);
  std::optional<bdcoord::v1::Rejection> rejection = RejectionOf(refused);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(rejection->report(), refused.message());
  EXPECT_EQ(rejection->spec_errors().errors_size(), 60);
  EXPECT_EQ(rejection->spec_errors().omitted(), 0);
}

TEST(ErrorDetailsTest, ManyPlacementFailuresKeepTheSummaryLine) {
  bdcoord::v1::PlacementFailures details;
  std::string report = "placement impossible: 100 of 102 instances cannot be placed\n";
  for (int i = 1; i <= 100; ++i) {
    bdcoord::v1::PlacementFailure* failure = details.add_failures();
    failure->set_instance(absl::StrCat("zk", i));
    failure->set_service("zk");
    failure->set_hosts_total(2);
    failure->set_hint("add hosts, or lower the count of service 'zk'");
    absl::StrAppend(&report, "  zk", i, " (service zk): 2 hosts; distinct_hosts filtered 2\n",
                    "    hint: ", failure->hint(), "\n");
  }
  absl::Status refused = absl::FailedPreconditionError(report);
  refused.SetPayload(absl::StrCat(kDetailTypeUrlPrefix, "bdcoord.v1.PlacementFailures"),
                     absl::Cord(details.SerializeAsString()));
  const grpc::Status status = ToGrpc(refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "placement impossible: 100 of 102 instances cannot be placed");
  bdcoord::v1::PlacementFailures failures;
  ASSERT_TRUE(DetailsOf(status).details(0).UnpackTo(&failures));
  EXPECT_LE(status.error_details().size(), kMaxStatusDetailsBytes);
  EXPECT_EQ(failures.failures_size() + failures.omitted(), 100);
  EXPECT_GT(failures.omitted(), 0);
  EXPECT_EQ(RejectionOf(refused)->placement_failures().failures_size(), 100);
}

TEST(ErrorDetailsTest, OtherErrorsAreNoRejection) {
  EXPECT_FALSE(RejectionOf(absl::NotFoundError("no cluster named 'x'")).has_value());
  EXPECT_FALSE(RejectionOf(absl::InvalidArgumentError("name an instance")).has_value());
  const grpc::Status status = ToGrpc(absl::NotFoundError("no cluster named 'x'"));
  EXPECT_EQ(status.error_message(), "no cluster named 'x'");
  EXPECT_TRUE(status.error_details().empty());
  // A long message without details is cut, on a character boundary.
  const grpc::Status long_one = ToGrpc(absl::UnavailableError(std::string(5000, 'x')));
  EXPECT_LE(long_one.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_THAT(long_one.error_message(), HasSubstr("..."));
}

}  // namespace
}  // namespace bdcoord::coordinator
