// Who may read the status page: --http-listen's rules and each request's checks (pure).
#include "coordinator/web/http_access.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace bdcoord::coordinator {
namespace {

using ::testing::HasSubstr;

TEST(ParseHttpListenTest, LoopbackServesPlainHttpWithAToken) {
  auto bind = ParseHttpListen("127.0.0.1:8080", false, true);
  ASSERT_TRUE(bind.ok()) << bind.status();
  EXPECT_EQ(bind->host, "127.0.0.1");
  EXPECT_EQ(bind->port, 8080);
  EXPECT_TRUE(bind->loopback);
  EXPECT_FALSE(bind->tls);
  bind = ParseHttpListen("localhost:0", false, true);
  ASSERT_TRUE(bind.ok()) << bind.status();
  EXPECT_EQ(bind->host, "127.0.0.1");  // the server binds literal addresses
  bind = ParseHttpListen("[::1]:9000", true, true);
  ASSERT_TRUE(bind.ok()) << bind.status();
  EXPECT_EQ(bind->host, "::1");
  EXPECT_TRUE(bind->tls);
}

TEST(ParseHttpListenTest, WithoutATokenAnyLocalUserCouldReadTheLogs) {
  auto bind = ParseHttpListen("127.0.0.1:8080", false, false);
  ASSERT_FALSE(bind.ok());
  EXPECT_EQ(bind.status().message(),
            "refusing to serve the status page on '127.0.0.1:8080' without a token: any user "
            "who can reach it could read the cluster and its logs\n  hint: add --token-file "
            "FILE, and open the page as http://127.0.0.1:8080/#token=TOKEN");
  bind = ParseHttpListen("10.0.0.5:8443", true, false);
  ASSERT_FALSE(bind.ok());
  EXPECT_EQ(bind.status().message(),
            "refusing to serve the status page on '10.0.0.5:8443' without a token: any user "
            "who can reach it could read the cluster and its logs\n  hint: add --token-file "
            "FILE, and open the page as https://10.0.0.5:8443/#token=TOKEN");
}

TEST(ParseHttpListenTest, OffLoopbackNeedsTls) {
  for (bool token : {false, true}) {
    auto bind = ParseHttpListen("0.0.0.0:8080", false, token);
    ASSERT_FALSE(bind.ok());
    EXPECT_EQ(bind.status().message(),
              "refusing to serve the status page on '0.0.0.0:8080' without TLS: it is not a "
              "loopback address\n  hint: add --tls-cert and --tls-key (the page is then HTTPS), "
              "or listen on 127.0.0.1:PORT and reach it through an SSH tunnel");
  }
  auto bind = ParseHttpListen("10.0.0.5:8443", true, true);
  ASSERT_TRUE(bind.ok()) << bind.status();
  EXPECT_TRUE(bind->tls);
  EXPECT_FALSE(bind->loopback);
}

TEST(ParseHttpListenTest, MalformedAddressesSayWhatIsExpected) {
  for (const char* listen : {"8080", ":8080", "127.0.0.1:http", "127.0.0.1:70000"}) {
    auto bind = ParseHttpListen(listen, false, false);
    ASSERT_FALSE(bind.ok()) << listen;
    EXPECT_EQ(bind.status().message(), std::string("--http-listen '") + listen +
                                           "' is not HOST:PORT (such as 127.0.0.1:8080)");
  }
  auto bind = ParseHttpListen("::1:8080", false, false);
  ASSERT_FALSE(bind.ok());
  EXPECT_EQ(bind.status().message(),
            "--http-listen '::1:8080': an IPv6 address goes in brackets, such as [::1]:8080");
}

TEST(CheckHttpRequestTest, OnLoopbackTheHostHeaderMustBeLoopback) {
  const HttpBind bind{.host = "127.0.0.1", .port = 8080, .tls = false, .loopback = true};
  EXPECT_FALSE(CheckHttpRequest(bind, "127.0.0.1:8080", "", "s3cret", false));
  EXPECT_FALSE(CheckHttpRequest(bind, "localhost:8080", "", "s3cret", false));
  EXPECT_FALSE(CheckHttpRequest(bind, "[::1]:8080", "", "s3cret", false));
  // DNS rebinding: a site whose name now resolves to 127.0.0.1.
  auto refusal = CheckHttpRequest(bind, "attacker.example:8080", "", "s3cret", false);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 403);
  EXPECT_EQ(refusal->message,
            "the status page answers loopback names only, not 'attacker.example:8080': open it "
            "as http://127.0.0.1:8080/");
  EXPECT_TRUE(CheckHttpRequest(bind, "", "", "s3cret", false));  // HTTP/1.0 without a Host
  const HttpBind tls{.host = "127.0.0.1", .port = 8443, .tls = true, .loopback = true};
  EXPECT_THAT(CheckHttpRequest(tls, "evil.example", "", "s3cret", false)->message,
              HasSubstr("open it as https://127.0.0.1:8443/"));
}

TEST(CheckHttpRequestTest, WithATokenTheDataNeedsIt) {
  const HttpBind bind{.host = "127.0.0.1", .port = 8080, .tls = false, .loopback = true};
  auto refusal = CheckHttpRequest(bind, "127.0.0.1:8080", "", "s3cret", true);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 401);
  EXPECT_EQ(refusal->message,
            "missing or invalid bearer token: open the page as /#token=TOKEN (the token of "
            "bdcoordd --token-file)");
  EXPECT_TRUE(CheckHttpRequest(bind, "127.0.0.1:8080", "Bearer wrong", "s3cret", true));
  EXPECT_FALSE(CheckHttpRequest(bind, "127.0.0.1:8080", "Bearer s3cret", "s3cret", true));
  // No token configured is no way in (ParseHttpListen refuses it; this is the second lock).
  EXPECT_TRUE(CheckHttpRequest(bind, "127.0.0.1:8080", "Bearer ", "", true));
  // The page's own files carry no data.
  EXPECT_FALSE(CheckHttpRequest(bind, "127.0.0.1:8080", "", "s3cret", false));
  // Off loopback any Host goes (behind a load balancer's name), the token still counts.
  const HttpBind remote{.host = "0.0.0.0", .port = 8443, .tls = true, .loopback = false};
  EXPECT_FALSE(CheckHttpRequest(remote, "coord.example:8443", "Bearer s3cret", "s3cret", true));
  EXPECT_THAT(CheckHttpRequest(remote, "coord.example:8443", "", "s3cret", true)->message,
              HasSubstr("bearer token"));
}

}  // namespace
}  // namespace bdcoord::coordinator
