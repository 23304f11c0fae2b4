// The resources.* template variables: the instance's limits as JVM flags and settings want them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/render/rendered_plan.h"
#include "coordinator/spec/spec_loader.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::IsEmpty;

constexpr char kVariables[] =
    "{{resources.memory_mib}} {{resources.memory_bytes}} {{resources.heap_mib}} "
    "{{resources.millicpus}} {{resources.cpus}}";

// One service `svc` with these resources (YAML flow mapping, or "" for none) whose env `ALL`
// and file /conf/x render every resources variable; rendered on one instance.
Plan RenderWith(const std::string& resources, const std::string& env = kVariables) {
  std::string yaml = absl::StrCat(
      "cluster: demo\ndomain: demo.lan\nnetworks:\n"
      "  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}\n"
      "services:\n  svc:\n    image: x\n    env:\n      ALL: \"",
      env, "\"\n");
  if (!resources.empty()) absl::StrAppend(&yaml, "    resources: ", resources, "\n");
  const LoadedSpec loaded = LoadSpec(yaml);
  EXPECT_THAT(loaded.diagnostics, IsEmpty()) << FormatDiagnostics("x", loaded.diagnostics);
  bdcoord::v1::Placement placement;
  auto* instance = placement.add_instances();
  instance->set_name("svc1");
  instance->set_service("svc");
  instance->set_index(1);
  instance->set_ip("10.1.0.5");
  return RenderPlan(loaded, placement);
}

std::string Rendered(const std::string& resources) {
  const Plan plan = RenderWith(resources);
  EXPECT_THAT(plan.diagnostics, IsEmpty()) << FormatDiagnostics("x", plan.diagnostics);
  if (plan.instances.size() != 1 || plan.instances[0].env.empty()) return "<not rendered>";
  return plan.instances[0].env[0].value();
}

TEST(TemplateResources, TheHeapIsHalfTheMemoryAndCpusAreWholeAndAtLeastOne) {
  EXPECT_EQ(Rendered("{cpus: 100m, memory: 128Mi}"), "128 134217728 64 100 1");
  EXPECT_EQ(Rendered("{cpus: 1500m, memory: 384Mi}"), "384 402653184 192 1500 2");
  EXPECT_EQ(Rendered("{cpus: 2, memory: 4Gi}"), "4096 4294967296 2048 2000 2");
}

TEST(TemplateResources, MemoryRoundsDownToWholeMebibytes) {
  // 2G is 2 000 000 000 bytes: 1907.3 MiB.
  EXPECT_EQ(Rendered("{cpus: 2001m, memory: 2G}"), "1907 2000000000 953 2001 3");
  // An odd number of MiB: the heap rounds down too.
  EXPECT_EQ(Rendered("{cpus: 1, memory: 129Mi}"), "129 135266304 64 1000 1");
}

// The one error rendering `env` with these resources gives, as printed.
std::string TheError(const std::string& resources, const std::string& env) {
  const Plan plan = RenderWith(resources, env);
  EXPECT_EQ(plan.diagnostics.size(), 1u);
  return FormatDiagnostics("cluster.yaml", plan.diagnostics);
}

TEST(TemplateResources, WithoutResourcesTheVariableIsAnErrorAtItsPosition) {
  EXPECT_EQ(TheError("", "-Xmx{{resources.heap_mib}}m"),
            "cluster.yaml:9:17: template error in env 'ALL' of service 'svc': variable "
            "'resources.heap_mib' is not set\n"
            "  hint: service 'svc' has no resources.memory: set it, e.g. `resources: {memory: "
            "512Mi}`\n");
}

TEST(TemplateResources, OnlyTheLimitsThatAreSetAreDefined) {
  EXPECT_EQ(
      TheError("{memory: 1Gi}", "{{resources.heap_mib}} {{resources.cpus}}"),
      "cluster.yaml:9:36: template error in env 'ALL' of service 'svc': variable "
      "'resources.cpus' is not set\n"
      "  hint: service 'svc' has no resources.cpus: set it, e.g. `resources: {cpus: 500m}`\n");
  EXPECT_EQ(TheError("{cpus: 2}", "{{resources.cpus}} {{resources.memory_bytes}}"),
            "cluster.yaml:9:32: template error in env 'ALL' of service 'svc': variable "
            "'resources.memory_bytes' is not set\n"
            "  hint: service 'svc' has no resources.memory: set it, e.g. `resources: {memory: "
            "512Mi}`\n");
}

TEST(TemplateResources, AMisspeltVariableSuggestsTheRightOne) {
  EXPECT_EQ(TheError("{memory: 1Gi}", "{{resources.heap}}"),
            "cluster.yaml:9:13: template error in env 'ALL' of service 'svc': unknown variable "
            "'resources.heap'\n  hint: did you mean 'resources.heap_mib'?\n");
}

TEST(TemplateResources, CheckTemplatesFindsAnUnsetVariableBeforePlacing) {
  const LoadedSpec loaded = LoadSpec(R"(cluster: demo
networks:
  lan: {driver: macvlan, parent: eth0, subnet: 10.1.0.0/24}
services:
  zk:
    image: zk
    command: [java, "-Xmx{{resources.heap_mib}}m"]
)");
  const std::vector<Diagnostic> diagnostics = CheckTemplates(loaded);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].pos.line, 7);
  EXPECT_EQ(diagnostics[0].pos.column, 26);
}

}  // namespace
}  // namespace bdcoord::coordinator
