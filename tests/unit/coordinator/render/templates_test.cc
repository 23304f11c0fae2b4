#include "coordinator/render/templates.h"

#include <gtest/gtest.h>

namespace bdcoord::coordinator {
namespace {

using kainjow::mustache::data;

data Peers() {
  data list{data::type::list};
  for (int i = 1; i <= 3; ++i) {
    data peer{data::type::object};
    peer.set("index", std::to_string(i));
    peer.set("fqdn", "zk" + std::to_string(i) + ".demo.lan");
    peer.set("last", i == 3 ? data::type::bool_true : data::type::bool_false);
    list.push_back(peer);
  }
  data peers{data::type::object};
  peers.set("zk", list);
  data cluster{data::type::object};
  cluster.set("peers", peers);
  cluster.set("cluster", "demo");
  return cluster;
}

TEST(RenderTemplate, RendersPeerListsWithoutHtmlEscaping) {
  const data cluster = Peers();
  data instance{data::type::object};
  instance.set("index", "2");
  instance.set("name", "a&b<c>");
  const RenderedTemplate zoo = RenderTemplate(
      "myid={{index}}\n{{#peers.zk}}\nserver.{{index}}={{fqdn}}:2888:3888\n{{/peers.zk}}\n",
      {&instance, &cluster});
  ASSERT_FALSE(zoo.error);
  EXPECT_EQ(zoo.text,
            "myid=2\nserver.1=zk1.demo.lan:2888:3888\nserver.2=zk2.demo.lan:2888:3888\n"
            "server.3=zk3.demo.lan:2888:3888\n");

  const RenderedTemplate connect = RenderTemplate(
      "{{#peers.zk}}{{fqdn}}:2181{{^last}},{{/last}}{{/peers.zk}} {{name}}", {&instance, &cluster});
  ASSERT_FALSE(connect.error);
  EXPECT_EQ(connect.text, "zk1.demo.lan:2181,zk2.demo.lan:2181,zk3.demo.lan:2181 a&b<c>");
}

TEST(RenderTemplate, UnknownVariableNamesItsLineColumnAndASuggestion) {
  const data cluster = Peers();
  const RenderedTemplate result =
      RenderTemplate("a\nb {{cluster}}\n  x={{clustr}}\n", {&cluster}, {"cluster", "domain"});
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->message, "unknown variable 'clustr'");
  EXPECT_EQ(result.error->line, 2);
  EXPECT_EQ(result.error->column, 4);
  EXPECT_EQ(result.error->hint, "did you mean 'cluster'?");
  EXPECT_EQ(result.text, "");
}

TEST(RenderTemplate, UnknownSectionIsAnErrorToo) {
  const data cluster = Peers();
  const RenderedTemplate result =
      RenderTemplate("{{#peers.kafak}}x{{/peers.kafak}}", {&cluster}, {"peers.kafka"});
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->message, "unknown variable 'peers.kafak'");
  EXPECT_EQ(result.error->hint, "did you mean 'peers.kafka'?");
}

TEST(RenderTemplate, AKnownButUnsetVariableSaysWhatSetsIt) {
  const data cluster = Peers();
  const RenderedTemplate result =
      RenderTemplate("-Xms16m\n-Xmx{{resources.heap_mib}}m", {&cluster}, {"resources.heap_mib"},
                     {{"resources.heap_mib", "set resources.memory"}});
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->message, "variable 'resources.heap_mib' is not set");
  EXPECT_EQ(result.error->hint, "set resources.memory");
  EXPECT_EQ(result.error->line, 1);
  EXPECT_EQ(result.error->column, 4);
}

TEST(RenderTemplate, SyntaxErrorsCarryTheirPosition) {
  const data empty{data::type::object};
  const RenderedTemplate unclosed_tag = RenderTemplate("ok\n  {{name", {&empty});
  ASSERT_TRUE(unclosed_tag.error);
  EXPECT_EQ(unclosed_tag.error->message, "unclosed tag");
  EXPECT_EQ(unclosed_tag.error->line, 1);
  EXPECT_EQ(unclosed_tag.error->column, 2);

  const RenderedTemplate unclosed_section = RenderTemplate("x\n{{#peers.zk}}\n", {&empty});
  ASSERT_TRUE(unclosed_section.error);
  EXPECT_EQ(unclosed_section.error->message, "unclosed section \"peers.zk\"");
  EXPECT_EQ(unclosed_section.error->line, 1);
}

// Nested peer sections multiply: past 1 MiB of output, or 1,000,000 steps with none, rendering
// stops with an error at the outermost section, line and column within the template.
data ManyPeers(int count) {
  data list{data::type::list};
  for (int i = 1; i <= count; ++i) {
    data peer{data::type::object};
    peer.set("fqdn", "zk" + std::to_string(i) + ".demo.lan");
    list.push_back(peer);
  }
  data peers{data::type::object};
  peers.set("zk", list);
  data cluster{data::type::object};
  cluster.set("peers", peers);
  return cluster;
}

TEST(RenderTemplate, OutputPast1MiBIsAnErrorAtTheOutermostSection) {
  const data cluster = ManyPeers(40);
  // 40^4 lines of about 16 bytes: 41 MB.
  const RenderedTemplate bomb = RenderTemplate(
      "# peers\n  {{#peers.zk}}{{#peers.zk}}{{#peers.zk}}{{#peers.zk}}{{fqdn}}:2181\n"
      "{{/peers.zk}}{{/peers.zk}}{{/peers.zk}}{{/peers.zk}}",
      {&cluster});
  ASSERT_TRUE(bomb.error);
  EXPECT_EQ(bomb.error->message, "renders more than 1 MiB (at most 1048576 bytes)");
  EXPECT_EQ(bomb.error->line, 1);
  EXPECT_EQ(bomb.error->column, 2);
  EXPECT_TRUE(bomb.text.empty());
  // Just under the cap is fine.
  const RenderedTemplate fine =
      RenderTemplate("{{#peers.zk}}{{#peers.zk}}{{fqdn}}{{/peers.zk}}{{/peers.zk}}", {&cluster});
  ASSERT_FALSE(fine.error);
  EXPECT_GT(fine.text.size(), 10000u);
}

TEST(RenderTemplate, AMillionStepsIsAnError) {
  const data cluster = ManyPeers(40);
  const RenderedTemplate spin = RenderTemplate(
      "{{#peers.zk}}{{#peers.zk}}{{#peers.zk}}{{#peers.zk}}{{/peers.zk}}{{/peers.zk}}"
      "{{/peers.zk}}{{/peers.zk}}",
      {&cluster});
  ASSERT_TRUE(spin.error);
  EXPECT_EQ(spin.error->message, "takes more than 1000000 steps to render");
  EXPECT_EQ(spin.error->line, 0);
  EXPECT_EQ(spin.error->column, 0);
}

}  // namespace
}  // namespace bdcoord::coordinator
