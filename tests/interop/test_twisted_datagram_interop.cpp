// Datagrams between our ports and the real Twisted's (Debian's
// python3-twisted, run by /usr/bin/python3 from twisted_datagram_peer.py),
// both ways, on every backend: UDP over IPv4 and IPv6 (connected on one
// side or the other), multicast on the loopback interface (a Twisted member
// of a group we send to, ours of one Twisted sends to, and a port number
// both share with listenMultiple), and UNIX datagram sockets (paths,
// connected, and abstract names). Each run is 48 numbered datagrams of
// sizes from 64 to 65,507 bytes, every one answered and checked byte for
// byte on both sides; a missing one fails the test, after a bounded wait
// that names it.
#include <unistd.h>

#include <array>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../internet/datagram_helpers.hpp"
#include "iterate_until.hpp"
#include "reactor_test.hpp"
#include "temp_dir.hpp"
#include "twisted/internet/reactor_udp.hpp"
#include "twisted/internet/reactor_unix_datagram.hpp"
#include "twisted_peer.hpp"

namespace twisted::test {
namespace {

// As twisted_datagram_peer.py's SIZES, WINDOW, WINDOW_BYTES, MAX_PACKET.
constexpr std::array<std::size_t, 8> kSizes = {64, 512, 1472, 1473, 8192, 8193, 32768, 65507};
constexpr std::size_t kWindow = 8;
constexpr std::size_t kWindowBytes = 64 * 1024;
constexpr std::size_t kMaxPacket = 65536;
constexpr int kCount = 48;

// Groups no other test joins (test_udp.cpp's is 225.0.0.250).
constexpr const char* kTwistedMemberGroup = "225.0.0.251";
constexpr const char* kOurMemberGroup = "225.0.0.252";
constexpr const char* kSharedPortGroup = "225.0.0.253";

// A tag no other run (of this process, or another) uses at the same time.
std::string uniqueTag() {
  static int runs = 0;
  static const unsigned salt = std::random_device{}();
  return "cpp" + std::to_string(::getpid()) + "r" + std::to_string(salt % 100000) + "n" +
         std::to_string(++runs);
}

// Datagram i of a run: "TAG:i:" and pattern bytes, kSizes[i % 8] in all.
std::string numbered(const std::string& tag, int i) {
  std::string head = tag + ":" + std::to_string(i) + ":";
  std::size_t size = kSizes[static_cast<std::size_t>(i) % kSizes.size()];
  return head + pattern(static_cast<std::size_t>(i) * 1009, size - head.size());
}

// Which of the run's datagrams arrived, each exactly once and intact; one
// without the tag is someone else's and is only counted.
class Tally {
 public:
  explicit Tally(std::string tag) : tag_(std::move(tag)), seen_(kCount) {}

  /// The datagram's number if it is one of ours and intact.
  std::optional<int> check(std::string_view data) {
    const std::string prefix = tag_ + ":";
    std::size_t colon = data.find(':', prefix.size());
    if (!data.starts_with(prefix) || colon == std::string_view::npos || colon == prefix.size()) {
      ++foreign_;
      return std::nullopt;
    }
    int i = 0;
    for (char c : data.substr(prefix.size(), colon - prefix.size())) {
      if (c < '0' || c > '9' || i > kCount) {
        ++foreign_;
        return std::nullopt;
      }
      i = i * 10 + (c - '0');
    }
    if (i >= kCount || data != numbered(tag_, i)) {
      errors.push_back("datagram " + std::to_string(i) + " arrived altered (" +
                       std::to_string(data.size()) + " bytes)");
      return std::nullopt;
    }
    if (seen_[static_cast<std::size_t>(i)]) {
      errors.push_back("datagram " + std::to_string(i) + " arrived twice");
      return std::nullopt;
    }
    seen_[static_cast<std::size_t>(i)] = true;
    ++got_;
    return i;
  }
  bool complete() const { return got_ == kCount && errors.empty(); }
  /// What arrived, for a failure's message.
  std::string summary() const {
    std::string first = "-";
    for (int i = 0; i < kCount; ++i) {
      if (!seen_[static_cast<std::size_t>(i)]) {
        first = std::to_string(i);
        break;
      }
    }
    std::string s = "got " + std::to_string(got_) + " of " + std::to_string(kCount) +
                    " (first missing " + first + "; " + std::to_string(foreign_) + " foreign)";
    for (const auto& e : errors) s += "; " + e;
    return s;
  }
  const std::string& tag() const { return tag_; }
  std::vector<std::string> errors;

 private:
  std::string tag_;
  std::vector<bool> seen_;
  int got_ = 0;
  int foreign_ = 0;
};

// Sends the run's datagrams through `send`, at most kWindow (and
// kWindowBytes, or one datagram) unanswered, and checks the answers.
class WindowedSender {
 public:
  WindowedSender(const std::string& tag, std::function<void(std::string_view)> send)
      : tally(tag), send_(std::move(send)) {}
  void pump() {
    while (next_ < kCount && unanswered_.size() < kWindow) {
      std::string data = numbered(tally.tag(), next_);
      std::size_t waiting = 0;
      for (const auto& [i, size] : unanswered_) waiting += size;
      if (!unanswered_.empty() && waiting + data.size() > kWindowBytes) return;
      unanswered_.emplace_back(next_++, data.size());
      send_(data);
    }
  }
  void answered(std::string_view data) {
    std::optional<int> i = tally.check(data);
    if (!i) return;
    std::erase_if(unanswered_, [&](const auto& u) { return u.first == *i; });
    pump();
  }
  Tally tally;

 private:
  std::function<void(std::string_view)> send_;
  int next_ = 0;
  std::vector<std::pair<int, std::size_t>> unanswered_;
};

class TwistedDatagramInteropTest : public ReactorTest {
 protected:
  const std::string tag = uniqueTag();
  const std::string ok = "OK " + std::to_string(kCount);

  // twisted_datagram_peer.py in `mode`, for this run.
  std::unique_ptr<TwistedPeer> twisted(std::vector<std::string> args) {
    args.insert(args.end(), {"--count", std::to_string(kCount), "--tag", tag});
    return std::make_unique<TwistedPeer>(std::move(args), TWISTED_DATAGRAM_PEER_PATH);
  }
  // Turns the reactor until `sender` has every answer (or the peer ended
  // without giving them), then checks both sides' verdicts.
  void runUntilAnswered(WindowedSender& sender, TwistedPeer& peer) {
    sender.pump();
    EXPECT_TRUE(iterateUntil(
        *reactor, [&] { return sender.tally.complete() || peer.exited(); },
        "every answer from Twisted"))
        << sender.tally.summary();
    EXPECT_TRUE(sender.tally.complete()) << sender.tally.summary();
    expectVerdict(peer);
  }
  // Turns the reactor (our side answering) until the peer has ended;
  // checks its verdict and what we received.
  void runUntilExit(TwistedPeer& peer, const Tally& received) {
    EXPECT_TRUE(iterateUntil(
        *reactor, [&] { return peer.exited(); }, "the Twisted peer's end"))
        << received.summary();
    expectVerdict(peer);
    EXPECT_TRUE(received.complete()) << received.summary();
  }
  void expectVerdict(TwistedPeer& peer) {
    EXPECT_EQ(peer.line(), ok) << "Twisted's verdict";
    EXPECT_EQ(peer.wait(), 0);
  }
  // A port that answers each datagram to its sender, and checks ours
  // (noting in `lastSender` who sent the last).
  static std::shared_ptr<DatagramRecorder> echo(Tally& tally,
                                                std::optional<Address>* lastSender = nullptr) {
    auto p = std::make_shared<DatagramRecorder>();
    p->onDatagram = [&tally, lastSender](DatagramRecorder& self, std::string_view data,
                                         const Address& from) {
      self.transport->write(data, from);
      tally.check(data);
      if (lastSender) *lastSender = from;
      self.packets.clear();  // the tally keeps what matters
    };
    return p;
  }
  // A port whose answers go to `sender`.
  static std::shared_ptr<DatagramRecorder> answersTo(WindowedSender& sender) {
    auto p = std::make_shared<DatagramRecorder>();
    p->onDatagram = [&sender](DatagramRecorder& self, std::string_view data, const Address&) {
      sender.answered(data);
      self.packets.clear();
    };
    return p;
  }
  void stop(const std::shared_ptr<IListeningPort>& port) { stopAndWait(*reactor, port); }
};

// ---- UDP -----------------------------------------------------------------------------------

class TwistedUDPInteropTest : public TwistedDatagramInteropTest {
 protected:
  // Our port on `host` sends the run to a Twisted echo, connected or not.
  void ourPortToATwistedEcho(const std::string& host, bool connected) {
    auto peer = twisted({"udp-echo", "--host", host});
    int theirs = peer->port();
    ASSERT_GT(theirs, 0) << "python3-twisted missing? (tools/install-deps test)";
    std::shared_ptr<IUDPTransport> port;
    auto to = static_cast<std::uint16_t>(theirs);
    WindowedSender sender(tag, [&](std::string_view data) {
      connected ? port->write(data) : port->write(data, host, to);
    });
    port = reactor->listenUDP(0, answersTo(sender), host, kMaxPacket);
    if (connected) port->connect(host, to);
    runUntilAnswered(sender, *peer);
    stop(port);
  }
  // A Twisted port on `host` (connected or not) sends the run to our echo.
  void aTwistedPortToOurEcho(const std::string& host, bool connected) {
    Tally received(tag);
    auto port = reactor->listenUDP(0, echo(received), host, kMaxPacket);
    std::vector<std::string> args = {"udp-send", "--host", host, "--port",
                                     std::to_string(portOf(port->getHost()))};
    if (connected) args.emplace_back("--connected");
    auto peer = twisted(args);
    runUntilExit(*peer, received);
    stop(port);
  }
};

TEST_P(TwistedUDPInteropTest, OurPortIsEchoedByATwistedPort) {
  ourPortToATwistedEcho("127.0.0.1", false);
}

TEST_P(TwistedUDPInteropTest, OurConnectedPortIsEchoedByATwistedPort) {
  ourPortToATwistedEcho("127.0.0.1", true);
}

TEST_P(TwistedUDPInteropTest, OurIPv6PortIsEchoedByATwistedIPv6Port) {
  ourPortToATwistedEcho("::1", false);
}

TEST_P(TwistedUDPInteropTest, ATwistedPortIsEchoedByOurs) {
  aTwistedPortToOurEcho("127.0.0.1", false);
}

// Twisted's transport.connect, then write(data) without an address.
TEST_P(TwistedUDPInteropTest, AConnectedTwistedPortIsEchoedByOurs) {
  aTwistedPortToOurEcho("127.0.0.1", true);
}

TEST_P(TwistedUDPInteropTest, AConnectedTwistedIPv6PortIsEchoedByOurs) {
  aTwistedPortToOurEcho("::1", true);
}

// ---- multicast on the loopback interface -----------------------------------------------------
// A member answers each group datagram to its sender by unicast, which is
// what paces the sender. The port a member got (without listenMultiple,
// no other socket can have it) is the one the group is sent to.

class TwistedMulticastInteropTest : public TwistedDatagramInteropTest {
 protected:
  // A multicast port that sends by the loopback interface.
  std::shared_ptr<IMulticastTransport> sendingPort(std::shared_ptr<DatagramRecorder> p) {
    auto port = reactor->listenMulticast(0, std::move(p), "", kMaxPacket);
    EXPECT_TRUE(fires(*reactor, port->setOutgoingInterface("127.0.0.1")));
    return port;
  }
};

// Twisted's listenMulticast and joinGroup on 127.0.0.1 get what our port
// sends to the group.
TEST_P(TwistedMulticastInteropTest, ATwistedMemberReceivesWhatWeSendToTheGroup) {
  auto peer = twisted({"mcast-member", "--group", kTwistedMemberGroup});
  int group = peer->port();
  ASSERT_GT(group, 0) << "the Twisted member did not join";
  std::shared_ptr<IMulticastTransport> port;
  WindowedSender sender(tag, [&](std::string_view data) {
    port->write(data, kTwistedMemberGroup, static_cast<std::uint16_t>(group));
  });
  port = sendingPort(answersTo(sender));
  runUntilAnswered(sender, *peer);
  stop(port);
}

// Our listenMulticast and joinGroup on 127.0.0.1 get what a Twisted port
// (setOutgoingInterface("127.0.0.1")) sends to the group.
TEST_P(TwistedMulticastInteropTest, OurMemberReceivesWhatTwistedSendsToTheGroup) {
  Tally received(tag);
  auto member = reactor->listenMulticast(0, echo(received), "", kMaxPacket);
  ASSERT_TRUE(fires(*reactor, member->joinGroup(kOurMemberGroup, "127.0.0.1")));
  auto peer = twisted({"mcast-send", "--group", kOurMemberGroup, "--port",
                       std::to_string(portOf(member->getHost()))});
  runUntilExit(*peer, received);
  stop(member);
}

// listenMultiple across the two implementations: our member and a Twisted
// member bind one port number, and both get every datagram our third port
// sends to the group (the Twisted member answers; ours only checks).
TEST_P(TwistedMulticastInteropTest, OurMemberAndATwistedMemberShareAPort) {
  Tally ours(tag);
  auto mine = std::make_shared<DatagramRecorder>();
  mine->onDatagram = [&](DatagramRecorder& self, std::string_view data, const Address&) {
    ours.check(data);
    self.packets.clear();
  };
  auto member = reactor->listenMulticast(0, mine, "", kMaxPacket, /*listenMultiple=*/true);
  ASSERT_TRUE(fires(*reactor, member->joinGroup(kSharedPortGroup, "127.0.0.1")));
  int shared = portOf(member->getHost());
  auto peer = twisted({"mcast-member", "--group", kSharedPortGroup, "--port",
                       std::to_string(shared), "--multiple"});
  ASSERT_EQ(peer->port(), shared) << "the Twisted member could not share the port";
  std::shared_ptr<IMulticastTransport> port;
  WindowedSender sender(tag, [&](std::string_view data) {
    port->write(data, kSharedPortGroup, static_cast<std::uint16_t>(shared));
  });
  port = sendingPort(answersTo(sender));
  runUntilAnswered(sender, *peer);
  if (sender.tally.complete()) {  // then ours was sent all of them too
    EXPECT_TRUE(iterateUntil(
        *reactor, [&] { return ours.complete() || !ours.errors.empty(); },
        "every datagram at our member"))
        << ours.summary();
  }
  EXPECT_TRUE(ours.complete()) << ours.summary();
  stop(port);
  stop(member);
}

// ---- UNIX datagram sockets -----------------------------------------------------------------

class TwistedUNIXDatagramInteropTest : public TwistedDatagramInteropTest {
 protected:
  TemporaryDirectory tmp{"twisted-dgram-interop"};
  std::string path(const char* name) const { return tmp.path() + "/" + name; }
  // An abstract name of this run's: "@..." for the peer, "\0..." for us.
  std::string abstractName(const char* name) const {
    return "@twisted-cpp-interop-" + tag + "-" + name;
  }
  static std::string ours(const std::string& name) {
    return name.starts_with("@") ? std::string(1, '\0') + name.substr(1) : name;
  }

  // Our port bound to `bind` sends the run to a Twisted echo at `address`,
  // through connectUNIXDatagram or an unconnected listenUNIXDatagram.
  void ourPortToATwistedEcho(const std::string& address, const std::string& bind, bool connected) {
    auto peer = twisted({"unix-echo", "--path", address});
    ASSERT_EQ(peer->port(), 0) << "python3-twisted missing? (tools/install-deps test)";
    std::shared_ptr<IListeningPort> port;
    if (connected) {
      auto client = std::make_shared<ConnectedDatagramRecorder>();
      WindowedSender sender(tag, [&](std::string_view data) { client->transport->write(data); });
      client->onDatagram = [&](ConnectedDatagramRecorder& self, std::string_view data) {
        sender.answered(data);
        self.packets.clear();
      };
      port = reactor->connectUNIXDatagram(ours(address), client, kMaxPacket, 0666, ours(bind));
      ASSERT_TRUE(client->failed.empty()) << client->failed[0].brief();
      runUntilAnswered(sender, *peer);
    } else {
      std::shared_ptr<IDatagramTransport> unbound;
      WindowedSender sender(
          tag, [&](std::string_view data) { unbound->write(data, UNIXAddress{ours(address)}); });
      port = unbound = reactor->listenUNIXDatagram(ours(bind), answersTo(sender), kMaxPacket);
      runUntilAnswered(sender, *peer);
    }
    stop(port);
  }
  // A Twisted port bound to `bind` sends the run to our echo at `address`.
  void aTwistedPortToOurEcho(const std::string& address, const std::string& bind, bool connected) {
    Tally received(tag);
    std::optional<Address> from;
    auto port = reactor->listenUNIXDatagram(ours(address), echo(received, &from), kMaxPacket);
    std::vector<std::string> args = {"unix-send", "--path", address, "--bind", bind};
    if (connected) args.emplace_back("--connected");
    auto peer = twisted(args);
    runUntilExit(*peer, received);
    EXPECT_EQ(from, std::optional<Address>(UNIXAddress{ours(bind)})) << "the sender's name";
    stop(port);
  }
};

// Our connectUNIXDatagram (bound, so that Twisted can answer) and Twisted's
// listenUNIXDatagram.
TEST_P(TwistedUNIXDatagramInteropTest, OurConnectedPortIsEchoedByATwistedPort) {
  ourPortToATwistedEcho(path("twisted"), path("ours"), true);
}

// Twisted's connectUNIXDatagram(bindAddress=...) and our listenUNIXDatagram.
TEST_P(TwistedUNIXDatagramInteropTest, AConnectedTwistedPortIsEchoedByOurs) {
  aTwistedPortToOurEcho(path("ours"), path("twisted"), true);
}

// Unconnected both ways, on abstract names (Twisted binds "\0name" as given
// and answers the bytes address it receives).
TEST_P(TwistedUNIXDatagramInteropTest, OurPortIsEchoedByATwistedPortOnAbstractNames) {
  ourPortToATwistedEcho(abstractName("twisted"), abstractName("ours"), false);
}

TEST_P(TwistedUNIXDatagramInteropTest, ATwistedPortIsEchoedByOursOnAbstractNames) {
  aTwistedPortToOurEcho(abstractName("ours"), abstractName("twisted"), false);
}

}  // namespace

TWISTED_ALL_BACKENDS(TwistedUDPInteropTest);
TWISTED_ALL_BACKENDS(TwistedMulticastInteropTest);
TWISTED_ALL_BACKENDS(TwistedUNIXDatagramInteropTest);

}  // namespace twisted::test
