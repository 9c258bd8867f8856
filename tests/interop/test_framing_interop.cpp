// Our LineReceiver, Int32StringReceiver and NetstringReceiver talking to the
// real Twisted's (Debian's python3-twisted), both directions, on every
// backend: the same messages (empty, binary, 70,000 bytes, many in one
// write) must arrive intact.
#include <sys/wait.h>

#include "../internet/tcp_helpers.hpp"
#include "process_helpers.hpp"
#include "twisted/protocols/basic.hpp"

namespace twisted::test {
namespace {

const std::string kPeer = TWISTED_FRAMING_PEER_PATH;

std::vector<std::string> lineMessages() {
  std::string printable;
  for (int c = 14; c < 127; ++c) printable += static_cast<char>(c);
  return {"hello", "", std::string(1000, 'x'), "tab\there", printable};
}

std::vector<std::string> binaryMessages() {
  auto m = lineMessages();
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  m.push_back(all);
  m.push_back("\r\n,:0");
  m.push_back(std::string(70000, 'y'));
  return m;
}

std::string reversed(std::string_view s) {
  return std::string(s.rbegin(), s.rend());
}

// One protocol per kind, with a common shape: send(message), and each
// received message goes to `onMessage`.
template <class Base>
class Framed : public Base {
 public:
  std::function<void(Framed&, std::string_view)> onMessage;
  std::function<void(Framed&)> onMade;
  std::vector<std::string> received;
  Framed() { this->MAX_LENGTH = 100000; }
  void send(std::string_view m) {
    if constexpr (std::is_base_of_v<basic::LineReceiver, Base>) {
      this->sendLine(m);
    } else {
      this->sendString(m);
    }
  }
  void connectionMade() override {
    if (onMade) onMade(*this);
  }
  void deliver(std::string_view m) {
    received.emplace_back(m);
    if (onMessage) onMessage(*this, m);
  }
};

class Line : public Framed<basic::LineReceiver> {
  void lineReceived(std::string_view l) override { deliver(l); }
};
class Int32 : public Framed<basic::Int32StringReceiver> {
  void stringReceived(std::string_view s) override { deliver(s); }
};
class Netstring : public Framed<basic::NetstringReceiver> {
  void stringReceived(std::string_view s) override { deliver(s); }
};

class FramingInteropTest : public ReactorTest {
 protected:
  // Runs the reactor until `peer` exits; returns its verdict line.
  std::string runUntilExit(BackgroundProgram& peer) {
    auto poll = std::make_shared<std::function<void()>>();
    *poll = [this, &peer, poll] {
      if (peer.exitStatus()) {
        reactor->stop();
      } else {
        reactor->callLater(0.02, *poll);
      }
    };
    reactor->callLater(0.02, *poll);
    runReactor(40);
    *poll = nullptr;
    return peer.waitForLine("", 1000);
  }

  template <class P>
  void twistedClientAgainstOurServer(const char* kind) {
    auto factory = std::make_shared<Factory>([] {
      auto p = std::make_shared<P>();
      p->onMessage = [](auto& self, std::string_view m) {
        if (m == "QUIT") {
          self.transport->loseConnection();
        } else {
          self.send(reversed(m));
        }
      };
      return p;
    });
    auto port = reactor->listenTCP(0, factory, 50, "127.0.0.1");
    BackgroundProgram peer(
        {"/usr/bin/python3", kPeer, "client", kind, std::to_string(portOf(*port))}, true);
    std::string verdict = runUntilExit(peer);
    EXPECT_EQ(peer.exitStatus(), std::optional<int>(0)) << verdict;
    EXPECT_TRUE(verdict.starts_with("OK")) << verdict;
    port->stopListening();
    reactor->iterate(0);
  }

  template <class P>
  void ourClientAgainstTwistedServer(const char* kind, const std::vector<std::string>& messages) {
    BackgroundProgram peer({"/usr/bin/python3", kPeer, "server", kind}, true);
    std::string line = peer.waitForLine("PORT ");
    ASSERT_FALSE(line.empty()) << "the Twisted server did not start";
    int port = std::stoi(line.substr(5));
    auto client = std::make_shared<P>();
    client->onMade = [&messages](auto& self) {
      for (const auto& m : messages) self.send(m);  // a burst, then the same again
      for (const auto& m : messages) self.send(m);
    };
    client->onMessage = [&messages](auto& self, std::string_view) {
      if (self.received.size() == 2 * messages.size()) self.send("QUIT");
    };
    reactor->connectTCP("127.0.0.1", port,
                        std::make_shared<ClientFactory>([client] { return client; }));
    std::string verdict = runUntilExit(peer);
    EXPECT_EQ(peer.exitStatus(), std::optional<int>(0)) << verdict;
    EXPECT_EQ(verdict, "OK served " + std::to_string(2 * messages.size()));
    std::vector<std::string> expected;
    for (int round = 0; round < 2; ++round) {
      for (const auto& m : messages) expected.push_back(reversed(m));
    }
    EXPECT_EQ(client->received, expected);
    if (client->transport) client->transport->loseConnection();
    reactor->iterate(0);
  }
};
TWISTED_ALL_BACKENDS(FramingInteropTest);

TEST_P(FramingInteropTest, TwistedLineReceiverClient) {
  twistedClientAgainstOurServer<Line>("line");
}
TEST_P(FramingInteropTest, TwistedInt32Client) {
  twistedClientAgainstOurServer<Int32>("int32");
}
TEST_P(FramingInteropTest, TwistedNetstringClient) {
  twistedClientAgainstOurServer<Netstring>("netstring");
}
TEST_P(FramingInteropTest, OurLineReceiverAgainstTwisted) {
  ourClientAgainstTwistedServer<Line>("line", lineMessages());
}
TEST_P(FramingInteropTest, OurInt32AgainstTwisted) {
  ourClientAgainstTwistedServer<Int32>("int32", binaryMessages());
}
TEST_P(FramingInteropTest, OurNetstringAgainstTwisted) {
  ourClientAgainstTwistedServer<Netstring>("netstring", binaryMessages());
}

}  // namespace
}  // namespace twisted::test
