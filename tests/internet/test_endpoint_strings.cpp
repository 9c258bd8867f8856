// serverFromString / clientFromString: Twisted's grammar and its errors
// (the TCP parts of twisted/internet/test/test_endpoints.py and
// twisted/test/test_strports.py).
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/testing/memory_reactor.hpp"

namespace twisted::test {
namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

TEST(EndpointDescriptionTest, SplitsOnColonsAndTheFirstEquals) {
  EndpointDescription d = parseEndpointDescription("a:b:d=1:c");
  EXPECT_EQ(d.args, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(d.kwargs, (KV{{"d", "1"}}));
  d = parseEndpointDescription("tcp:k=v=w");
  EXPECT_EQ(d.kwargs, (KV{{"k", "v=w"}})) << "a later '=' belongs to the value";
}

TEST(EndpointDescriptionTest, BackslashEscapesColonsAndEquals) {
  EndpointDescription d = parseEndpointDescription(R"(tcp6:8080:interface=\:\:1:x\=y=z)");
  EXPECT_EQ(d.args, (std::vector<std::string>{"tcp6", "8080"}));
  EXPECT_EQ(d.kwargs, (KV{{"interface", "::1"}, {"x=y", "z"}}));
  EXPECT_EQ(quoteEndpointValue("::1"), R"(\:\:1)");
  EXPECT_EQ(parseEndpointDescription("t:" + quoteEndpointValue(R"(a:b=c\d)")).args[1],
            R"(a:b=c\d)");
}

TEST(EndpointDescriptionTest, RejectsEmptyAndDanglingBackslash) {
  EXPECT_THROW(parseEndpointDescription(""), error::InvalidEndpointDescription);
  EXPECT_THROW(parseEndpointDescription(":80"), error::InvalidEndpointDescription);
  EXPECT_THROW(parseEndpointDescription(R"(tcp:80\)"), error::InvalidEndpointDescription);
}

// ---- servers ---------------------------------------------------------------------

class ServerFromStringTest : public ::testing::Test {
 protected:
  testing::MemoryReactor reactor;
  std::shared_ptr<TCP4ServerEndpoint> server(std::string_view description) {
    auto ep = std::dynamic_pointer_cast<TCP4ServerEndpoint>(serverFromString(reactor, description));
    EXPECT_TRUE(ep) << description;
    return ep;
  }
  std::string errorOf(std::string_view description) {
    try {
      serverFromString(reactor, description);
    } catch (const error::InvalidEndpointDescription& e) {
      return e.what();
    }
    ADD_FAILURE() << "no error for " << description;
    return {};
  }
};

TEST_F(ServerFromStringTest, TCPWithKeywords) {
  auto ep = server("tcp:8080:interface=127.0.0.1:backlog=10");
  EXPECT_EQ(ep->port(), 8080);
  EXPECT_EQ(ep->interface(), "127.0.0.1");
  EXPECT_EQ(ep->backlog(), 10);
  EXPECT_FALSE(std::dynamic_pointer_cast<TCP6ServerEndpoint>(ep));
}

TEST_F(ServerFromStringTest, TCPDefaultsAndPositionalArguments) {
  auto ep = server("tcp:8080");
  EXPECT_EQ(ep->port(), 8080);
  EXPECT_EQ(ep->interface(), "");
  EXPECT_EQ(ep->backlog(), kSystemMaxBacklog);  // not listenTCP's 50: see backlog.hpp
  ep = server("tcp:80:127.0.0.1:7");            // Twisted's order: port, interface, backlog
  EXPECT_EQ(ep->interface(), "127.0.0.1");
  EXPECT_EQ(ep->backlog(), 7);
  ep = server("TCP:port=81");
  EXPECT_EQ(ep->port(), 81);
}

TEST_F(ServerFromStringTest, TCP6WithAnEscapedInterface) {
  auto ep = server(R"(tcp6:8080:interface=\:\:1)");
  EXPECT_TRUE(std::dynamic_pointer_cast<TCP6ServerEndpoint>(ep));
  EXPECT_EQ(ep->interface(), "::1");
  EXPECT_EQ(server("tcp6:8080")->interface(), "::");
}

TEST_F(ServerFromStringTest, ListenGoesToTheReactorAsDescribed) {
  auto ep = serverFromString(reactor, "tcp:8080:interface=127.0.0.1:backlog=5");
  auto port = ep->listen(std::make_shared<Factory>());
  ASSERT_EQ(reactor.tcpServers.size(), 1u);
  EXPECT_EQ(reactor.tcpServers[0].port, 8080);
  EXPECT_EQ(reactor.tcpServers[0].interface, "127.0.0.1");
  EXPECT_EQ(reactor.tcpServers[0].backlog, 5);
  EXPECT_TRUE(port.called());
}

TEST_F(ServerFromStringTest, DescribeRoundTrips) {
  for (std::string text : {"tcp:8080", "tcp:8080:interface=127.0.0.1", R"(tcp6:99:interface=\:\:1)",
                           "tcp:1:backlog=3"}) {
    EXPECT_EQ(serverFromString(reactor, text)->describe(), text);
  }
}

// Types from other libraries (TLS's ssl:), through the registry; this
// test binary does not link twisted::tls, so ssl: names where it is.
TEST_F(ServerFromStringTest, OtherLibrariesRegisterTypesAndSslSaysWhereItIs) {
  EXPECT_NE(errorOf("ssl:443").find("twisted::tls::registerEndpointTypes()"), std::string::npos)
      << errorOf("ssl:443");
  EXPECT_THROW(registerServerEndpointType("tcp", {}), std::invalid_argument);
  EXPECT_THROW(registerServerEndpointType("", {}), std::invalid_argument);
  std::string seen;
  registerServerEndpointType(
      "Wrapped", [&](IReactorTCP& r, std::string_view d, const EndpointDescription& parsed) {
        seen = std::string(d) + " " + parsed.args.at(1);
        return serverFromString(r, "tcp:" + parsed.args.at(1));
      });
  auto ep = serverFromString(reactor, "wrapped:8081");
  EXPECT_EQ(seen, "wrapped:8081 8081");
  EXPECT_EQ(ep->describe(), "tcp:8081");
  EXPECT_NE(errorOf("foo:80").find("wrapped"), std::string::npos) << "listed as known";
}

TEST_F(ServerFromStringTest, ErrorsNameThePartThatIsWrong) {
  EXPECT_NE(errorOf("foo:80").find("unknown server endpoint type 'foo'"), std::string::npos);
  EXPECT_NE(errorOf("tcp").find("needs a port"), std::string::npos);
  EXPECT_NE(errorOf("tcp:80x").find("port '80x' is not a number"), std::string::npos);
  EXPECT_NE(errorOf("tcp:70000").find("port '70000'"), std::string::npos);
  EXPECT_NE(errorOf("tcp:80:bogus=1").find("unknown parameter 'bogus'"), std::string::npos);
  EXPECT_NE(errorOf("tcp:80:port=81").find("port is given twice"), std::string::npos);
  EXPECT_NE(errorOf("tcp:80:backlog=-1").find("backlog '-1'"), std::string::npos);
  EXPECT_NE(errorOf("tcp:80:interface=example.com").find("not an IPv4 address"), std::string::npos);
  EXPECT_NE(errorOf("tcp6:80:interface=127.0.0.1").find("not an IPv6 address"), std::string::npos);
  EXPECT_NE(errorOf("tcp:80:a:b:c").find("too many positional"), std::string::npos);
  // The whole description is quoted, so the user can find it.
  EXPECT_NE(errorOf("tcp:80x").find("'tcp:80x'"), std::string::npos);
}

// A datagram transport named where a stream endpoint is needed is refused
// in words that say so, for servers and clients.
TEST_F(ServerFromStringTest, DatagramTypesAreRefusedAsNotStreams) {
  for (const char* d : {"udp:53", "udp6:53", "multicast:9999", "unixgram:/run/x"}) {
    std::string why = errorOf(d);
    EXPECT_NE(why.find("names a datagram transport"), std::string::npos) << why;
    EXPECT_NE(why.find("a server endpoint is a stream"), std::string::npos) << why;
  }
  Reactor real;
  try {
    clientFromString(real, "udp:127.0.0.1:53");
    ADD_FAILURE() << "no error";
  } catch (const error::InvalidEndpointDescription& e) {
    EXPECT_NE(std::string(e.what()).find("a client endpoint is a stream"), std::string::npos);
  }
}

// "adopted:" names an inherited descriptor; one that is a datagram socket
// is refused when the description is read, and so is a closed one.
TEST(AdoptedStringsTest, AdoptedNamesADescriptorAndRefusesDatagramSockets) {
  Reactor reactor;
  int stream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto ep = std::dynamic_pointer_cast<AdoptedStreamServerEndpoint>(
      serverFromString(reactor, "adopted:fileno=" + std::to_string(stream) + ":domain=INET"));
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->fileno(), stream);
  EXPECT_EQ(ep->addressFamily(), AF_INET);
  EXPECT_EQ(ep->describe(), "adopted:fileno=" + std::to_string(stream) + ":domain=INET");
  auto positional = std::dynamic_pointer_cast<AdoptedStreamServerEndpoint>(
      serverFromString(reactor, "adopted:" + std::to_string(stream) + ":UNIX"));
  ASSERT_TRUE(positional);
  EXPECT_EQ(positional->addressFamily(), AF_UNIX);
  int datagram = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto errorOf = [&](const std::string& d) -> std::string {
    try {
      serverFromString(reactor, d);
    } catch (const error::InvalidEndpointDescription& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(errorOf("adopted:fileno=" + std::to_string(datagram) + ":domain=INET")
                .find("is a datagram socket; a stream server endpoint needs"),
            std::string::npos);
  EXPECT_NE(errorOf("adopted:fileno=" + std::to_string(stream) + ":domain=IPX")
                .find("domain 'IPX' is not INET, INET6 or UNIX"),
            std::string::npos);
  EXPECT_NE(errorOf("adopted:domain=INET").find("needs a fileno"), std::string::npos);
  ::close(datagram);
  ::close(stream);
  EXPECT_NE(errorOf("adopted:fileno=" + std::to_string(stream) + ":domain=INET")
                .find("is not an open socket"),
            std::string::npos);
}

// ---- clients ---------------------------------------------------------------------

class ClientFromStringTest : public ::testing::Test {
 protected:
  Reactor reactor;
  template <class E>
  std::shared_ptr<E> client(std::string_view description) {
    auto ep = std::dynamic_pointer_cast<E>(clientFromString(reactor, description));
    EXPECT_TRUE(ep) << description;
    return ep;
  }
  std::string errorOf(std::string_view description) {
    try {
      clientFromString(reactor, description);
    } catch (const error::InvalidEndpointDescription& e) {
      return e.what();
    }
    ADD_FAILURE() << "no error for " << description;
    return {};
  }
};

TEST_F(ClientFromStringTest, TCPWithKeywords) {
  auto ep = client<TCP4ClientEndpoint>("tcp:host=example.com:port=80:timeout=5");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->host(), "example.com");
  EXPECT_EQ(ep->port(), 80);
  EXPECT_EQ(ep->timeout(), 5);
  EXPECT_FALSE(ep->bindAddress());
}

TEST_F(ClientFromStringTest, TCPPositionalAndMixed) {
  auto ep = client<TCP4ClientEndpoint>("tcp:example.com:80");
  EXPECT_EQ(ep->host(), "example.com");
  EXPECT_EQ(ep->port(), 80);
  EXPECT_EQ(ep->timeout(), 30);
  ep = client<TCP4ClientEndpoint>("tcp:host=example.com:443");  // a lone positional is the port
  EXPECT_EQ(ep->port(), 443);
  ep = client<TCP4ClientEndpoint>("tcp:example.com:port=22:bindAddress=127.0.0.1:timeout=0.5");
  EXPECT_EQ(ep->host(), "example.com");
  EXPECT_EQ(ep->port(), 22);
  EXPECT_EQ(ep->timeout(), 0.5);
  ASSERT_TRUE(ep->bindAddress());
  EXPECT_EQ(ep->bindAddress()->host, "127.0.0.1");
}

TEST_F(ClientFromStringTest, TCP6AndHostname) {
  auto six = client<TCP6ClientEndpoint>(R"(tcp6:host=\:\:1:port=80)");
  EXPECT_EQ(six->host(), "::1");
  auto named = client<HostnameEndpoint>("hostname:example.com:80:timeout=3");
  EXPECT_EQ(named->host(), "example.com");
  EXPECT_EQ(named->timeout(), 3);
  EXPECT_EQ(clientFromString(reactor, named->describe())->describe(), named->describe());
}

TEST_F(ClientFromStringTest, ErrorsNameThePartThatIsWrong) {
  EXPECT_NE(errorOf("foo:h:1").find("unknown client endpoint type 'foo'"), std::string::npos);
  EXPECT_NE(errorOf("tcp:example.com").find("needs a port"), std::string::npos);
  EXPECT_NE(errorOf("tcp:port=80").find("needs a host"), std::string::npos);
  EXPECT_NE(errorOf("tcp:h:0").find("port '0'"), std::string::npos);
  EXPECT_NE(errorOf("tcp:h:80:timeout=soon").find("timeout 'soon' is not a number of seconds"),
            std::string::npos);
  EXPECT_NE(errorOf("tcp:h:80:colour=blue").find("unknown parameter 'colour'"), std::string::npos);
  EXPECT_NE(errorOf("tcp:h:80:extra").find("too many positional"), std::string::npos);
  EXPECT_NE(errorOf("tcp:h:port=80:host=g").find("is given twice"), std::string::npos);
}

}  // namespace
}  // namespace twisted::test

// ---- unix: servers and clients (Twisted's grammar) -----------------------------------------

namespace twisted::test {
namespace {

class UNIXStringsTest : public ::testing::Test {
 protected:
  Reactor reactor;
  template <class E, class F>
  std::shared_ptr<E> parse(F from, std::string_view description) {
    auto ep = std::dynamic_pointer_cast<E>(from(reactor, description));
    EXPECT_TRUE(ep) << description;
    return ep;
  }
  std::shared_ptr<UNIXServerEndpoint> server(std::string_view d) {
    return parse<UNIXServerEndpoint>(
        [](Reactor& r, std::string_view s) { return serverFromString(r, s); }, d);
  }
  std::shared_ptr<UNIXClientEndpoint> client(std::string_view d) {
    return parse<UNIXClientEndpoint>(
        [](Reactor& r, std::string_view s) { return clientFromString(r, s); }, d);
  }
};

// As Twisted's _parseUNIX: address, mode (octal), backlog, lockfile, the
// lock file on by default; "@name" is an abstract name.
TEST_F(UNIXStringsTest, ServerDefaultsKeywordsPositionalsAndAbstractNames) {
  auto ep = server("unix:/run/app.sock");
  EXPECT_EQ(ep->address(), "/run/app.sock");
  EXPECT_EQ(ep->mode(), 0666);
  EXPECT_EQ(ep->backlog(), 50);
  EXPECT_TRUE(ep->wantPID()) << "Twisted's strings lock by default";
  ep = server("unix:/run/app.sock:mode=660:lockfile=0:backlog=7");
  EXPECT_EQ(ep->mode(), 0660);
  EXPECT_EQ(server("unix:/run/app.sock:mode=0660")->mode(), 0660) << "a leading 0 is allowed";
  EXPECT_FALSE(ep->wantPID());
  EXPECT_EQ(ep->backlog(), 7);
  ep = server("unix:/tmp/s:600:9:0");
  EXPECT_EQ(ep->mode(), 0600);
  EXPECT_EQ(ep->backlog(), 9);
  EXPECT_FALSE(ep->wantPID());
  ep = server("unix:address=@app");
  EXPECT_EQ(ep->address(), std::string("\0app", 4));
  EXPECT_EQ(ep->describe(), "unix:@app:mode=666:backlog=50:lockfile=1");
  EXPECT_EQ(server(ep->describe())->address(), ep->address()) << "describe round-trips";
}

TEST_F(UNIXStringsTest, ClientPathTimeoutAndLockfile) {
  auto ep = client("unix:path=/run/app.sock:timeout=5:lockfile=1");
  EXPECT_EQ(ep->path(), "/run/app.sock");
  EXPECT_EQ(ep->timeout(), 5);
  EXPECT_TRUE(ep->checkPID());
  ep = client("unix:/run/app.sock");
  EXPECT_EQ(ep->timeout(), 30);
  EXPECT_FALSE(ep->checkPID());
  EXPECT_TRUE(client("unix:path=/x:checkPID=1")->checkPID()) << "the name connectUNIX uses";
  EXPECT_EQ(client("unix:@app")->path(), std::string("\0app", 4));
}

TEST_F(UNIXStringsTest, ErrorsNameThePartThatIsWrong) {
  auto errorOf = [this](bool isServer, std::string_view d) -> std::string {
    try {
      if (isServer) {
        serverFromString(reactor, d);
      } else {
        clientFromString(reactor, d);
      }
    } catch (const error::InvalidEndpointDescription& e) {
      return e.what();
    }
    ADD_FAILURE() << "no error for " << d;
    return {};
  };
  EXPECT_NE(errorOf(true, "unix").find("needs a address"), std::string::npos);
  EXPECT_NE(errorOf(true, "unix:/s:mode=999").find("not an octal file mode"), std::string::npos);
  EXPECT_NE(errorOf(true, "unix:/s:lockfile=yes").find("not 0 or 1"), std::string::npos);
  EXPECT_NE(errorOf(true, "unix:/s:port=1").find("unknown parameter 'port'"), std::string::npos);
  EXPECT_NE(errorOf(false, "unix:path=/s:lockfile=1:checkPID=1").find("give one"),
            std::string::npos);
  EXPECT_NE(errorOf(false, "unix:/a:/b").find("too many positional"), std::string::npos);
  // A reactor without UNIX sockets says so.
  testing::MemoryReactor memory;
  try {
    serverFromString(memory, "unix:/s");
    ADD_FAILURE() << "a MemoryReactor has no listenUNIX";
  } catch (const error::InvalidEndpointDescription& e) {
    EXPECT_NE(std::string(e.what()).find("no UNIX sockets"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace twisted::test
