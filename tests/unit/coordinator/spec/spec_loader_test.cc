#include "coordinator/spec/spec_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "coordinator/spec/validation.h"

namespace bdcoord::coordinator {
namespace {

using bdcoord::v1::Constraint;

TEST(ParseMilliCpus, AcceptsCoresAndMillicores) {
  int64_t m = 0;
  EXPECT_TRUE(ParseMilliCpus("2", &m));
  EXPECT_EQ(m, 2000);
  EXPECT_TRUE(ParseMilliCpus("0.5", &m));
  EXPECT_EQ(m, 500);
  EXPECT_TRUE(ParseMilliCpus("250m", &m));
  EXPECT_EQ(m, 250);
  for (const char* bad : {"", "two", "-1", "0", "1.5m", "2 cores", "1e3", "m"}) {
    EXPECT_FALSE(ParseMilliCpus(bad, &m)) << bad;
  }
}

TEST(ParseMemoryBytes, AcceptsDecimalAndBinaryUnits) {
  int64_t b = 0;
  const std::pair<const char*, int64_t> good[] = {
      {"1024", 1024},      {"512Mi", 512LL << 20}, {"4Gi", 4LL << 30},
      {"4GiB", 4LL << 30}, {"2G", 2000000000},     {"1.5Gi", 3LL << 29},
      {"10k", 10000},      {"1Ti", 1LL << 40},     {"100M", 100000000}};
  for (const auto& [text, bytes] : good) {
    ASSERT_TRUE(ParseMemoryBytes(text, &b)) << text;
    EXPECT_EQ(b, bytes) << text;
  }
  for (const char* bad : {"", "lots", "2 GB", "-1Gi", "0", "1Xi", "Gi", "0.1"}) {
    EXPECT_FALSE(ParseMemoryBytes(bad, &b)) << bad;
  }
}

TEST(ParseConstraint, ParsesEveryOperator) {
  Constraint c;
  ASSERT_TRUE(ParseConstraint("rack == r1", &c));
  EXPECT_EQ(c.label(), "rack");
  EXPECT_EQ(c.op(), Constraint::OP_EQUAL);
  EXPECT_THAT(c.values(), ::testing::ElementsAre("r1"));

  ASSERT_TRUE(ParseConstraint("rack!=r9", &c));
  EXPECT_EQ(c.op(), Constraint::OP_NOT_EQUAL);

  ASSERT_TRUE(ParseConstraint("rack in (r1, r2,r3)", &c));
  EXPECT_EQ(c.op(), Constraint::OP_IN);
  EXPECT_THAT(c.values(), ::testing::ElementsAre("r1", "r2", "r3"));

  ASSERT_TRUE(ParseConstraint("zone not in (a)", &c));
  EXPECT_EQ(c.op(), Constraint::OP_NOT_IN);

  ASSERT_TRUE(ParseConstraint("ssd exists", &c));
  EXPECT_EQ(c.op(), Constraint::OP_EXISTS);
  EXPECT_TRUE(c.values().empty());

  ASSERT_TRUE(ParseConstraint("  gpu not exists ", &c));
  EXPECT_EQ(c.op(), Constraint::OP_NOT_EXISTS);
  EXPECT_EQ(c.text(), "gpu not exists");

  for (const char* bad : {"rack = r1", "rack in r1", "== r1", "rack ==", "rack in ()", "rack exist",
                          "rack == r1 r2", "rack in (r1,)"}) {
    EXPECT_FALSE(ParseConstraint(bad, &c)) << bad;
  }
}

TEST(LoadSpec, FillsTheProtoAndKeepsPositions) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
domain: demo.lan
hosts:
  - name: h1
    labels: {rack: r1}
    capacity: {cpus: 8, memory: 16Gi}
    parents: {lan: eth1}
networks:
  lan: {driver: ipvlan, parent: eth0, subnet: 10.1.0.0/24, host_shim: yes, shim_range: 10.1.0.248/29}
services:
  zk:
    image: zk:3.8
    ips: [10.1.0.10, 10.1.0.11]
    env:
      B: "2"
      A: "{{index}}"
    depends_on: [kafka]
    ready: {http: {port: 8080}, interval: 500ms}
    restart: on-failure:3
    volumes: ["data{{index}}:/data:ro"]
    files:
      /conf/x: |
        line1
        line2 {{bad
)");
  ASSERT_THAT(loaded.diagnostics, ::testing::IsEmpty());
  const auto& spec = loaded.spec;
  EXPECT_EQ(spec.cluster(), "demo");
  ASSERT_EQ(spec.hosts_size(), 1);
  EXPECT_EQ(spec.hosts(0).capacity().millicpus(), 8000);
  EXPECT_EQ(spec.hosts(0).capacity().memory_bytes(), 16LL << 30);
  EXPECT_EQ(spec.hosts(0).parents().at("lan"), "eth1");
  EXPECT_EQ(spec.networks(0).driver(), bdcoord::v1::NETWORK_DRIVER_IPVLAN);
  EXPECT_TRUE(spec.networks(0).host_shim());
  EXPECT_EQ(spec.networks(0).shim_range(), "10.1.0.248/29");
  const auto& zk = spec.services(0);
  EXPECT_EQ(zk.count(), 2u) << "count defaults to the number of pinned ips";
  ASSERT_EQ(zk.env_size(), 2);
  EXPECT_EQ(zk.env(0).name(), "B") << "env keeps file order";
  EXPECT_EQ(zk.depends_on(0).condition(), bdcoord::v1::Dependency::CONDITION_STARTED);
  EXPECT_EQ(zk.ready().http().path(), "/");
  EXPECT_EQ(zk.ready().interval().nanos(), 500000000);
  EXPECT_EQ(zk.restart().mode(), bdcoord::v1::RestartPolicy::MODE_ON_FAILURE);
  EXPECT_EQ(zk.restart().max_retries(), 3u);
  EXPECT_TRUE(zk.volumes(0).read_only());
  EXPECT_EQ(zk.files(0).content(), "line1\nline2 {{bad\n");

  EXPECT_EQ(loaded.positions.Find("services.zk.image").line, 12);
  EXPECT_EQ(loaded.positions.Find("services.zk.image").column, 12);
  EXPECT_EQ(loaded.positions.Find("services.zk.ips.1").column, 22);
  // Quoted scalars point at their first character, not the quote.
  EXPECT_EQ(loaded.positions.Find("services.zk.env.A").column, 11);
  // Unknown paths fall back to the nearest recorded ancestor.
  EXPECT_EQ(loaded.positions.Find("services.zk.nothing.here").line, 12);
  // Block scalars: line 0 of the text is the line after the `|`.
  const SourcePos in_block = loaded.positions.FindInScalar("services.zk.files./conf/x", 1, 6);
  EXPECT_EQ(in_block.line, 24);
  EXPECT_EQ(in_block.column, 15);
}

TEST(LoadSpec, FilesTakeALongFormWithOnChangeAndMode) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
services:
  web:
    image: nginx
    files:
      /etc/short: "s"
      /etc/empty:
      /etc/hup: {content: "h {{index}}", on_change: "signal:SIGHUP", mode: 0600}
      /etc/none:
        on_change: none
        content: |
          n
          {{index}}
      /etc/restart: {content: r, on_change: restart, mode: "755"}
      /etc/nocontent: {on_change: none}
)");
  ASSERT_THAT(loaded.diagnostics, ::testing::IsEmpty());
  const auto& files = loaded.spec.services(0).files();
  ASSERT_EQ(files.size(), 6);
  EXPECT_EQ(files[0].path(), "/etc/short");
  EXPECT_EQ(files[0].content(), "s");
  EXPECT_EQ(files[0].mode(), 0644u);
  EXPECT_EQ(files[0].on_change(), "") << "the default is restart, kept as the empty string";
  EXPECT_EQ(files[1].content(), "");
  EXPECT_EQ(files[2].content(), "h {{index}}");
  EXPECT_EQ(files[2].on_change(), "signal:SIGHUP");
  EXPECT_EQ(files[2].mode(), 0600u);
  EXPECT_EQ(files[3].on_change(), "none");
  EXPECT_EQ(files[3].content(), "n\n{{index}}\n");
  EXPECT_EQ(files[4].on_change(), "") << "restart written out is the default: the same hash";
  EXPECT_EQ(files[4].mode(), 0755u);
  EXPECT_EQ(files[5].content(), "");
  EXPECT_EQ(files[5].on_change(), "none");
  // A template error in the long form points into its content, as in the short form.
  const SourcePos in_block = loaded.positions.FindInScalar("services.web.files./etc/none", 1, 2);
  EXPECT_EQ(in_block.line, 13);
  EXPECT_EQ(in_block.column, 13);
}

TEST(LoadSpec, FilesOnChangeAndModeErrorsHaveHints) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
services:
  web:
    image: nginx
    files:
      /a: {content: a, on_change: signal:SIGHUPP}
      /b: {content: b, on_change: relaod}
      /c: {content: c, on_change: "signal:HUP"}
      /d: {content: d, mode: 1777}
      /e: {content: [e]}
      /f: {content: f, mode: 0}
)");
  ASSERT_EQ(loaded.diagnostics.size(), 6u);
  EXPECT_EQ(loaded.diagnostics[0].pos.line, 6);
  EXPECT_EQ(loaded.diagnostics[0].pos.column, 35);
  EXPECT_EQ(loaded.diagnostics[0].message,
            "unknown on_change 'signal:SIGHUPP' of file '/a' of service 'web'");
  EXPECT_EQ(loaded.diagnostics[0].hint, "did you mean 'signal:SIGHUP'?");
  EXPECT_EQ(loaded.diagnostics[1].message,
            "unknown on_change 'relaod' of file '/b' of service 'web'");
  EXPECT_THAT(loaded.diagnostics[1].hint, ::testing::HasSubstr("restart (the default), none"));
  EXPECT_EQ(loaded.diagnostics[2].hint, "did you mean 'signal:SIGHUP'?");
  EXPECT_EQ(loaded.diagnostics[3].message,
            "'1777' is not a file mode (mode of file '/d' of service 'web')");
  EXPECT_THAT(loaded.diagnostics[4].message, ::testing::HasSubstr("expected a string"));
  EXPECT_EQ(loaded.diagnostics[5].message,
            "'0' is not a file mode (mode of file '/f' of service 'web')");
  EXPECT_EQ(loaded.spec.services(0).files_size(), 0) << "a file with an error is left out";
}

// Hand-written, not std::regex: a 40 KB label once overflowed the stack.
TEST(ParseConstraint, LongLabelsNeitherCrashNorMisparse) {
  Constraint c;
  const std::string label(40000, 'k');
  ASSERT_TRUE(ParseConstraint(label + " in (" + std::string(40000, 'v') + ", b)", &c));
  EXPECT_EQ(c.label(), label);
  EXPECT_EQ(c.values_size(), 2);
  EXPECT_FALSE(ParseConstraint("rack notexists", &c));
  EXPECT_FALSE(ParseConstraint("rack in (a,)", &c));
  EXPECT_FALSE(ParseConstraint("rack inn (a)", &c));
  EXPECT_FALSE(ParseConstraint("rackexists", &c));
}

TEST(Quote, KeepsUserTextOnOneLineAndShort) {
  EXPECT_EQ(Quote("zk"), "'zk'");
  EXPECT_EQ(Quote("2\nGi\t\x01"), "'2\\nGi\\t\\x01'");
  EXPECT_EQ(Quote(std::string(100, 'a')), "'" + std::string(kMaxQuoted, 'a') + "...'");
  // A cut never splits a UTF-8 character.
  std::string accents;
  for (int i = 0; i < 50; ++i) accents += "\xc3\xa9";
  EXPECT_EQ(Quote(accents), "'" + accents.substr(0, kMaxQuoted) + "...'");
  EXPECT_EQ(ClosestMatch(std::string(20000, 'h'), {std::string(20000, 'h')}), "");
}

// Found by the spec fuzzer: an IP parser's error quotes the user's text its own way (cut, not
// escaped), and a validation message built from it carried a raw newline.
TEST(ValidateSpec, AMessageBuiltFromAnotherModulesErrorStaysOnOneLine) {
  const std::string text =
      "cluster: demo\nnetworks:\n  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}\n"
      "hosts:\n  - {name: h2, address: \"10.1.0.1\\n" +
      std::string(100, '9') + "\"}\nservices:\n  zk: {image: zk}\n";
  const LoadedSpec loaded = LoadSpec(text);
  ASSERT_TRUE(loaded.diagnostics.empty()) << loaded.diagnostics[0].message;
  const std::vector<Diagnostic> diagnostics = ValidateSpec(loaded.spec, loaded.positions);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].message, "address of host 'h2': '10.1.0.1\\n" + std::string(55, '9') +
                                        "...' is not an IPv4 address");
  EXPECT_EQ(diagnostics[0].pos.line, 5);
}

TEST(LoadSpec, QuotesMustCloseAndDocumentsBeOne) {
  // A quoted string may go on over deeper-indented lines, as the examples' commands do.
  EXPECT_THAT(LoadSpec("cluster: a\nservices:\n  zk:\n    image: zk\n    command: [sh, -c, \"a\n"
                       "      b\"]\n")
                  .diagnostics,
              ::testing::IsEmpty());
  const LoadedSpec open = LoadSpec("cluster: \"a\nservices: {zk: {image: zk}}\n");
  ASSERT_EQ(open.diagnostics.size(), 1u);
  EXPECT_EQ(open.diagnostics[0].pos.line, 1);
  EXPECT_EQ(open.diagnostics[0].pos.column, 10);
  // Quotes inside block scalars and comments are text.
  EXPECT_THAT(LoadSpec("cluster: a # it's\nservices:\n  zk:\n    image: zk\n    files:\n"
                       "      /x: |\n        echo \"hi\n        it's\n")
                  .diagnostics,
              ::testing::IsEmpty());
  EXPECT_EQ(LoadSpec("---\ncluster: a\nservices: {zk: {image: zk}}\n").diagnostics.size(), 0u);
}

// yaml-cpp 0.7 never consumes a `,` at a document's top level, and YAML::LoadAll looped for
// ever on it (tests/fuzz/spec.cc's find); each of these used to hang.
TEST(LoadSpec, StrayFlowEntryIsAnErrorNotAHang) {
  struct Case {
    const char* text;
    int line;
    int column;
  };
  for (const Case& c : {Case{",", 1, 1}, Case{"# c\n, x\n", 2, 1}, Case{"--- ,\n", 1, 5},
                        Case{"[a], b", 1, 4}, Case{"\"a\" ,", 1, 5}, Case{",]", 1, 1},
                        Case{"cluster: a\nservices: {zk: {image: zk}}\n...\n,\n", 4, 1}}) {
    const LoadedSpec loaded = LoadSpec(c.text);
    ASSERT_EQ(loaded.diagnostics.size(), 1u) << c.text;
    EXPECT_EQ(loaded.diagnostics[0].message,
              "a stray ',' outside [...] or {...}: not valid YAML here")
        << c.text;
    EXPECT_EQ(loaded.diagnostics[0].pos.line, c.line) << c.text;
    EXPECT_EQ(loaded.diagnostics[0].pos.column, c.column) << c.text;
  }
  // Commas inside plain scalars and flow collections are fine.
  EXPECT_THAT(LoadSpec("cluster: a, b\nservices: {zk: {image: zk, command: [a, b]}}\n").diagnostics,
              ::testing::Not(::testing::Contains(
                  ::testing::Field(&Diagnostic::message, ::testing::HasSubstr("stray")))));
}

TEST(LoadSpec, TopLevelExtensionKeysAreIgnored) {
  const LoadedSpec loaded =
      LoadSpec("cluster: a\nx-common: &c {k: v}\nservices: {zk: {image: zk}}\n");
  EXPECT_THAT(loaded.diagnostics, ::testing::IsEmpty());
}

TEST(LoadSpec, ReportsEveryProblemNotJustTheFirst) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
servces: {}
hosts:
  - {name: h1, labls: {}}
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24, gatway: 10.1.0.1}
)");
  ASSERT_EQ(loaded.diagnostics.size(), 4u);
  EXPECT_EQ(loaded.diagnostics[0].message, "unknown key 'servces' in the top level");
  EXPECT_EQ(loaded.diagnostics[0].hint, "did you mean 'services'?");
  EXPECT_EQ(loaded.diagnostics[1].message, "unknown key 'labls' in host 'h1'");
  EXPECT_EQ(loaded.diagnostics[2].message, "unknown key 'gatway' in network 'lan'");
  EXPECT_EQ(loaded.diagnostics[2].pos.line, 6);
  EXPECT_EQ(loaded.diagnostics[2].pos.column, 61);
  EXPECT_EQ(loaded.diagnostics[3].message, "missing required key 'services'");
}

}  // namespace
}  // namespace bdcoord::coordinator
