// `bdcoord place` end to end in-process: the bad-spec corpus with exact messages, unplaceable
// specs with their explanations, golden outputs for the shipped examples, and the CLI's own errors.
#include "cli/place_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "cli/exit_codes.h"
#include "tests/unit/cli/test_files.h"

namespace bdcoord::cli {
namespace {

using ::testing::HasSubstr;
using testing::ListFiles;
using testing::ReadText;

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

Outcome Place(PlaceOptions options) {
  std::ostringstream out, err;
  const int code = RunPlace(options, out, err);
  return {code, out.str(), err.str()};
}

Outcome Place(const std::string& spec, const std::string& output = "table") {
  PlaceOptions options;
  options.spec_file = spec;
  options.output = output;
  return Place(options);
}

// Compares with the committed file, or rewrites it under BDCOORD_UPDATE_GOLDEN=1.
void ExpectMatchesFile(const std::string& actual, const std::filesystem::path& expected_file) {
  if (testing::UpdateGolden()) {
    testing::WriteText(expected_file, actual);
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(expected_file)) << expected_file << " is missing";
  EXPECT_EQ(actual, ReadText(expected_file)) << "differs from " << expected_file;
}

class PlaceCommandTest : public ::testing::Test {
 protected:
  // Messages carry the path as given, so run from the source tree with relative paths.
  void SetUp() override { ASSERT_EQ(chdir(BDCOORD_SOURCE_DIR), 0); }
};

TEST_F(PlaceCommandTest, EveryBadSpecIsRejectedWithItsExactMessages) {
  const auto specs = ListFiles("tests/testdata/bad", ".yaml");
  ASSERT_GE(specs.size(), 25u);
  for (const std::string& spec : specs) {
    SCOPED_TRACE(spec);
    const Outcome outcome = Place(spec);
    EXPECT_EQ(outcome.exit_code, kExitInvalidInput);
    EXPECT_EQ(outcome.out, "") << "nothing may be placed";
    EXPECT_THAT(outcome.err, HasSubstr("nothing was placed"));
    ExpectMatchesFile(outcome.err, std::filesystem::path(spec).replace_extension(".err"));
  }
}

TEST_F(PlaceCommandTest, UnplaceableSpecsExplainEachInstance) {
  const auto specs = ListFiles("tests/testdata/unplaceable", ".yaml");
  ASSERT_GE(specs.size(), 4u);
  for (const std::string& spec : specs) {
    SCOPED_TRACE(spec);
    const Outcome outcome = Place(spec);
    EXPECT_EQ(outcome.exit_code, kExitPlacementFailed);
    EXPECT_EQ(outcome.out, "");
    EXPECT_THAT(outcome.err, HasSubstr("placement impossible"));
    EXPECT_THAT(outcome.err, HasSubstr("hint: "));
    ExpectMatchesFile(outcome.err, std::filesystem::path(spec).replace_extension(".err"));
  }
}

TEST_F(PlaceCommandTest, ExamplesMatchTheirGoldenOutputs) {
  const auto examples = ListFiles("deploy/examples", ".yaml");
  ASSERT_GE(examples.size(), 3u);
  for (const std::string& example : examples) {
    SCOPED_TRACE(example);
    const std::string stem = std::filesystem::path(example).stem().string();
    const std::filesystem::path golden = std::filesystem::path("tests/testdata/golden") / stem;
    for (const std::string format : {"table", "json", "hosts"}) {
      const Outcome outcome = Place(example, format);
      ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
      EXPECT_EQ(outcome.err, "");
      ExpectMatchesFile(outcome.out, golden.string() + "." + format);
    }
  }
}

TEST_F(PlaceCommandTest, ShowConfigRendersTheBigDataConfigs) {
  for (const std::string instance : {"zk2", "kafka3", "namenode-format1", "namenode1", "datanode1",
                                     "jobmanager1", "taskmanager8", "drill4"}) {
    SCOPED_TRACE(instance);
    PlaceOptions options;
    options.spec_file = "deploy/examples/bigdata.yaml";
    options.show_config = instance;
    const Outcome outcome = Place(options);
    ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
    ExpectMatchesFile(outcome.out, "tests/testdata/golden/bigdata." + instance + ".config");
  }
}

TEST_F(PlaceCommandTest, ShowConfigOfUnknownInstanceSuggestsOne) {
  PlaceOptions options;
  options.spec_file = "deploy/examples/zookeeper.yaml";
  options.show_config = "zk4";
  const Outcome outcome = Place(options);
  EXPECT_EQ(outcome.exit_code, kExitInvalidInput);
  EXPECT_EQ(outcome.err,
            "bdcoord: no instance named 'zk4' in deploy/examples/zookeeper.yaml\n"
            "  hint: did you mean 'zk1'?\n");
}

TEST_F(PlaceCommandTest, MissingSpecFileIsARuntimeError) {
  const Outcome outcome = Place("does/not/exist.yaml");
  EXPECT_EQ(outcome.exit_code, kExitRuntimeError);
  EXPECT_EQ(outcome.err, "bdcoord: cannot read does/not/exist.yaml: No such file or directory\n");
}

TEST_F(PlaceCommandTest, PreviousMustBeAPlacement) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "bdcoord-place-test";
  std::filesystem::create_directories(dir);
  const struct {
    std::string content;
    std::string message;
  } cases[] = {
      {"{not json", "not valid JSON"},
      {"[1, 2]",
       "not a placement: expected an object with an \"instances\" list (the output of "
       "`bdcoord place -o json`)"},
      {R"({"instances": [{"host": "h1"}]})", "instance 1 has no \"name\" string"},
  };
  for (const auto& c : cases) {
    const std::string file = (dir / "previous.json").string();
    testing::WriteText(file, c.content);
    PlaceOptions options;
    options.spec_file = "deploy/examples/zookeeper.yaml";
    options.previous_file = file;
    const Outcome outcome = Place(options);
    EXPECT_EQ(outcome.exit_code, kExitInvalidInput);
    EXPECT_EQ(outcome.err, file + ": " + c.message + "\n");
  }
  std::filesystem::remove_all(dir);
}

TEST_F(PlaceCommandTest, JsonOutputReadBackAsPreviousGivesTheSamePlacement) {
  const Outcome first = Place("deploy/examples/bigdata.yaml", "json");
  ASSERT_EQ(first.exit_code, kExitOk);
  const std::string file = (std::filesystem::temp_directory_path() / "bdcoord-prev.json").string();
  testing::WriteText(file, first.out);
  PlaceOptions options;
  options.spec_file = "deploy/examples/bigdata.yaml";
  options.output = "json";
  options.previous_file = file;
  const Outcome second = Place(options);
  ASSERT_EQ(second.exit_code, kExitOk) << second.err;
  EXPECT_EQ(second.out, first.out);
  std::filesystem::remove(file);
}

// Host shims: each host's address in the table and the JSON, and kept when the JSON is read
// back as the previous placement (a new host takes the lowest free one, the others keep theirs).
TEST_F(PlaceCommandTest, HostShimAddressesAreShownAndKept) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string spec = (dir / "bdcoord-shim.yaml").string();
  const std::string two_hosts = R"(cluster: demo
hosts: [{name: h2}, {name: h3}]
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, gateway: 10.1.0.1,
        ip_range: 10.1.0.0/25, host_shim: yes, shim_range: 10.1.0.248/29}
services:
  a: {image: x, count: 2, placement: {distinct_hosts: true}}
)";
  testing::WriteText(spec, two_hosts);
  const Outcome table = Place(spec);
  ASSERT_EQ(table.exit_code, kExitOk) << table.err;
  EXPECT_THAT(table.out, HasSubstr("NETWORK  HOST  HOST SHIM\nlan      h2    10.1.0.248\n"
                                   "lan      h3    10.1.0.249\n"));
  const Outcome json = Place(spec, "json");
  ASSERT_EQ(json.exit_code, kExitOk) << json.err;
  EXPECT_THAT(json.out, HasSubstr(R"("shims": [
    {
      "network": "lan",
      "host": "h2",
      "address": "10.1.0.248"
    },)"));

  // h1 comes first by name, but h2 and h3 keep their addresses.
  const std::string previous = (dir / "bdcoord-shim-prev.json").string();
  testing::WriteText(previous, json.out);
  std::string three_hosts = two_hosts;
  three_hosts.replace(three_hosts.find("[{name: h2}"), 1, "[{name: h1}, ");
  three_hosts.replace(three_hosts.find("count: 2"), 8, "count: 3");
  testing::WriteText(spec, three_hosts);
  PlaceOptions options;
  options.spec_file = spec;
  options.previous_file = previous;
  const Outcome again = Place(options);
  ASSERT_EQ(again.exit_code, kExitOk) << again.err;
  EXPECT_THAT(again.out, HasSubstr("lan      h1    10.1.0.250\nlan      h2    10.1.0.248\n"
                                   "lan      h3    10.1.0.249\n"));
  std::filesystem::remove(spec);
  std::filesystem::remove(previous);
}

TEST_F(PlaceCommandTest, PlainPlacementsHaveNoShims) {
  const Outcome json = Place("deploy/examples/bigdata.yaml", "json");
  ASSERT_EQ(json.exit_code, kExitOk);
  EXPECT_THAT(json.out, ::testing::Not(HasSubstr("shims")));
}

}  // namespace
}  // namespace bdcoord::cli
