// The standard services of twisted.protocols.wire, over StringTransport
// (Twisted's twisted/test/test_protocols.py WireTests). They run over real
// sockets in the `twist` plugin tests.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "twisted/protocols/wire.hpp"
#include "twisted/testing/string_transport.hpp"

namespace {

using twisted::testing::StringTransport;

template <class P, class... Args>
std::pair<std::shared_ptr<P>, std::shared_ptr<StringTransport>> connect(Args&&... args) {
  auto proto = std::make_shared<P>(std::forward<Args>(args)...);
  auto transport = std::make_shared<StringTransport>();
  proto->makeConnection(transport);
  return {proto, transport};
}

TEST(Wire, EchoSendsBackWhatItReceives) {
  auto [proto, t] = connect<twisted::wire::Echo>();
  proto->dataReceived("hello");
  proto->dataReceived(std::string("\0\xff", 2));
  EXPECT_EQ(t->value(), std::string("hello\0\xff", 7));
  EXPECT_FALSE(t->disconnecting());
}

TEST(Wire, DiscardSendsNothing) {
  auto [proto, t] = connect<twisted::wire::Discard>();
  proto->dataReceived("hello");
  EXPECT_EQ(t->value(), "");
  EXPECT_FALSE(t->disconnecting());
}

TEST(Wire, ChargenLinesFollowRfc864) {
  std::string first = twisted::wire::Chargen::line(0);
  ASSERT_EQ(first.size(), 74u);
  EXPECT_EQ(first.substr(0, 10), " !\"#$%&'()");
  EXPECT_EQ(first.substr(72), "\r\n");
  // Each line starts one character further; after 95 lines it repeats.
  EXPECT_EQ(twisted::wire::Chargen::line(1).substr(0, 71), first.substr(1, 71));
  EXPECT_EQ(twisted::wire::Chargen::line(95), first);
  for (std::size_t n = 0; n < 95; ++n) {
    std::string line = twisted::wire::Chargen::line(n);
    for (std::size_t i = 0; i < 72; ++i) {
      ASSERT_GE(line[i], ' ');
      ASSERT_LE(line[i], '~');
    }
  }
}

TEST(Wire, ChargenIsAPullProducerWritingOnlyWhenAsked) {
  auto [proto, t] = connect<twisted::wire::Chargen>();
  ASSERT_NE(t->producer(), nullptr);
  EXPECT_FALSE(t->streaming());
  EXPECT_EQ(t->value(), "");  // nothing until the transport asks
  auto producer = std::dynamic_pointer_cast<twisted::IPullProducer>(t->producer());
  producer->resumeProducing();
  std::string once = t->value();
  EXPECT_EQ(once.size(), 95u * 74u);
  EXPECT_EQ(once.substr(0, 74), twisted::wire::Chargen::line(0));
  producer->resumeProducing();
  EXPECT_EQ(t->value().substr(once.size(), 74), twisted::wire::Chargen::line(95));
  producer->stopProducing();
  producer->resumeProducing();  // after a stop: nothing more
  EXPECT_EQ(t->value().size(), 2 * once.size());
}

TEST(Wire, QotdSendsItsQuoteAndCloses) {
  auto [proto, t] = connect<twisted::wire::QOTD>();
  EXPECT_EQ(t->value(), "An apple a day keeps the doctor away.\r\n");
  EXPECT_TRUE(t->disconnecting());
  auto [custom, t2] = connect<twisted::wire::QOTD>("Be liberal in what you accept.");
  EXPECT_EQ(t2->value(), "Be liberal in what you accept.\r\n");
}

TEST(Wire, DaytimeSendsTheUtcTimeAndCloses) {
  auto [proto, t] = connect<twisted::wire::Daytime>([] { return std::time_t{0}; });
  EXPECT_EQ(t->value(), "Thu Jan  1 00:00:00 1970\r\n");
  EXPECT_TRUE(t->disconnecting());
  EXPECT_EQ(twisted::wire::Daytime::format(1795461811), "Mon Nov 23 19:23:31 2026\r\n");
}

TEST(Wire, TimeSendsSecondsSince1900AndCloses) {
  auto [proto, t] = connect<twisted::wire::Time>([] { return std::time_t{0}; });
  EXPECT_EQ(t->value(), std::string("\x83\xaa\x7e\x80", 4));  // 2208988800
  EXPECT_TRUE(t->disconnecting());
}

TEST(Wire, WhoListsUsersOnePerLineAndCloses) {
  struct Fixed : twisted::wire::Who {
    std::string getUsers() override { return "root\r\nalice\r\n"; }
  };
  auto [proto, t] = connect<Fixed>();
  EXPECT_EQ(t->value(), "root\r\nalice\r\n");
  EXPECT_TRUE(t->disconnecting());
  // The real list (from utmp; may be empty on a build machine) is well formed.
  std::string users = twisted::wire::Who().getUsers();
  EXPECT_TRUE(users.empty() || users.ends_with("\r\n"));
}

}  // namespace
