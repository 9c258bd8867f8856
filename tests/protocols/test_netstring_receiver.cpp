// NetstringReceiver: the behaviours of Twisted's NetstringReceiverTests
// (twisted/protocols/test/test_basic.py), each input fed in every split.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "splits.hpp"
#include "twisted/logger/log_event.hpp"
#include "twisted/logger/publisher.hpp"
#include "twisted/protocols/netstring_receiver.hpp"
#include "twisted/testing/string_transport.hpp"

namespace {

using twisted::test::allSplits;
using twisted::testing::StringTransport;

class TestNetstring : public twisted::basic::NetstringReceiver {
 public:
  std::vector<std::string> received;
  int errors = 0;
  void stringReceived(std::string_view s) override { received.emplace_back(s); }
  void netstringParseError(const twisted::basic::NetstringParseError& reason) override {
    ++errors;
    transport->loseConnection();  // what the default does, without the log line
    (void)reason;
  }
};

struct Connected {
  std::shared_ptr<TestNetstring> proto = std::make_shared<TestNetstring>();
  std::shared_ptr<StringTransport> transport = std::make_shared<StringTransport>();
  Connected() { proto->makeConnection(transport); }
  void feed(const std::vector<std::string_view>& chunks) {
    for (auto chunk : chunks) proto->dataReceived(std::string(chunk));
  }
};

TEST(NetstringReceiver, ReceivesWhatWasSentInEverySplit) {
  const std::vector<std::string> strings = {
      "hello", "world", "how", "are", "you123", ":today", std::string(515, 'a'), ""};
  Connected sender;
  for (const auto& s : strings) sender.proto->sendString(s);
  const std::string wire = sender.transport->value();
  EXPECT_EQ(wire.substr(0, 9), "5:hello,5");
  for (const auto& split : allSplits(wire)) {
    Connected c;
    c.proto->MAX_LENGTH = 699;
    c.feed(split.chunks);
    EXPECT_EQ(c.proto->received, strings) << split.name;
    EXPECT_FALSE(c.transport->disconnecting()) << split.name;
  }
}

TEST(NetstringReceiver, SmallAndNestedNetstrings) {
  struct Case {
    std::string wire;
    std::vector<std::string> expected;
  };
  for (const auto& [wire, expected] : std::vector<Case>{{"0:,", {""}},
                                                        {"1:a,", {"a"}},
                                                        {"2:ab,", {"ab"}},
                                                        {"4:1:a,,", {"1:a,"}},
                                                        {"10:0123456789,", {"0123456789"}},
                                                        {"1:a,1:b,", {"a", "b"}}}) {
    for (const auto& split : allSplits(wire, 3)) {
      Connected c;
      c.feed(split.chunks);
      EXPECT_EQ(c.proto->received, expected) << wire << " " << split.name;
    }
  }
}

TEST(NetstringReceiver, MalformedNetstringsCloseTheConnectionInEverySplit) {
  struct Case {
    std::string wire;
    std::string says;  // part of the error message
  };
  for (const auto& [wire, says] : std::vector<Case>{
           {"9999999999999999999999", "above MAX_LENGTH"},
           {"abc", "does not start with a length"},
           {"4:abcde", "not followed by a comma"},
           {"51:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab,", "above MAX_LENGTH 50"},
           {"2:aaa,", "not followed by a comma"},
           {"0:a,", "not followed by a comma"},
           {":aaa,", "does not start with a length"},
           {"3aaa,", "does not start with a length"},
           {"aaa,", "does not start with a length"},
           {"007:abcdefg,", "leading zero"},
           {"100:", "above MAX_LENGTH"},
           {"1:a,x", "does not start with a length"}}) {
    for (const auto& split : allSplits(wire, 3)) {
      Connected c;
      c.proto->MAX_LENGTH = 50;  // as Twisted's test protocol
      c.feed(split.chunks);
      c.proto->dataReceived("5:later,");  // ignored: the stream is broken
      EXPECT_TRUE(c.transport->disconnecting()) << wire << " " << split.name;
      EXPECT_TRUE(c.proto->brokenPeer);
      EXPECT_EQ(c.proto->errors, 1) << wire << " " << split.name;
      ASSERT_TRUE(c.proto->parseError().has_value());
      EXPECT_NE(std::string(c.proto->parseError()->what()).find(says), std::string::npos)
          << c.proto->parseError()->what();
      EXPECT_TRUE(c.proto->received.empty() || c.proto->received == std::vector<std::string>{"a"});
    }
  }
}

TEST(NetstringReceiver, LengthAtMaxLengthIsAcceptedOneAboveIsNot) {
  Connected ok;
  ok.proto->MAX_LENGTH = 12;
  ok.proto->dataReceived("12:abcdefghijkl,");
  EXPECT_EQ(ok.proto->received, std::vector<std::string>{"abcdefghijkl"});
  Connected over;
  over.proto->MAX_LENGTH = 11;
  over.proto->dataReceived("12:");
  EXPECT_TRUE(over.transport->disconnecting());
  Connected far;
  far.proto->MAX_LENGTH = 11;
  far.proto->dataReceived("1000:");
  EXPECT_TRUE(far.transport->disconnecting());
}

TEST(NetstringReceiver, HugeLengthIsRefusedBeforeItsPayloadIsBuffered) {
  Connected c;
  c.proto->dataReceived("100000:");
  EXPECT_TRUE(c.proto->brokenPeer);
  c.proto->dataReceived(std::string(1 << 20, 'x'));
  EXPECT_EQ(c.proto->bufferedSize(), 0u);
}

TEST(NetstringReceiver, DefaultErrorHandlerLogsAndLosesTheConnection) {
  struct Plain : twisted::basic::NetstringReceiver {
    void stringReceived(std::string_view) override {}
  };
  auto& publisher = twisted::logger::globalLogPublisher();
  std::vector<std::string> lines;
  auto observer = publisher.addObserver([&](const twisted::logger::LogEvent& event) {
    lines.push_back(twisted::logger::formatEvent(event));
  });
  auto proto = std::make_shared<Plain>();
  auto transport = std::make_shared<StringTransport>();
  proto->makeConnection(transport);
  proto->dataReceived("3:abcX");
  publisher.removeObserver(observer);
  EXPECT_TRUE(transport->disconnecting());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("not followed by a comma"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("192.168.1.1"), std::string::npos) << lines[0];
}

}  // namespace
