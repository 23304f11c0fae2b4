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

}  // namespace
}  // namespace bdcoord::coordinator
