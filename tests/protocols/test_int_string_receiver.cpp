// Int8/16/32StringReceiver: the behaviours of Twisted's IntNTestCaseMixin,
// Int8Tests, Int16Tests and Int32Tests (twisted/protocols/test/test_basic.py),
// each input fed in every split.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "splits.hpp"
#include "twisted/protocols/int_string_receiver.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/string_transport.hpp"

namespace {

using twisted::test::allSplits;
using twisted::testing::StringTransport;

template <class Base>
class Recording : public Base {
 public:
  std::vector<std::string> received;
  std::vector<std::uint64_t> exceeded;
  std::function<void(std::string_view)> onString;
  void stringReceived(std::string_view s) override {
    received.emplace_back(s);
    if (onString) onString(s);
  }
  void lengthLimitExceeded(std::uint64_t length) override {
    exceeded.push_back(length);
    Base::lengthLimitExceeded(length);
  }
};

template <class Base>
class IntNStringReceiverTest : public ::testing::Test {
 protected:
  std::shared_ptr<Recording<Base>> connected() {
    auto proto = std::make_shared<Recording<Base>>();
    transport = std::make_shared<StringTransport>();
    proto->makeConnection(transport);
    return proto;
  }
  // `s` with a prefix of this receiver's width.
  static std::string framed(std::string_view s) {
    Recording<Base> encoder;
    auto t = std::make_shared<StringTransport>();
    encoder.makeConnection(t);
    encoder.sendString(s);
    return t->value();
  }
  static std::string prefix(std::uint64_t length) {
    std::size_t width = Recording<Base>().prefixLength();
    std::string out;
    for (std::size_t i = 0; i < width; ++i) {
      out += static_cast<char>((length >> (8 * (width - 1 - i))) & 0xff);
    }
    return out;
  }
  std::shared_ptr<StringTransport> transport;
};

using Receivers =
    ::testing::Types<twisted::basic::Int8StringReceiver, twisted::basic::Int16StringReceiver,
                     twisted::basic::Int32StringReceiver>;
TYPED_TEST_SUITE(IntNStringReceiverTest, Receivers);

TYPED_TEST(IntNStringReceiverTest, ReceivesWhatWasSentInEverySplit) {
  const std::vector<std::string> strings = {"a", std::string(16, 'b'), "", std::string(200, 'c'),
                                            std::string("\0\r\n,", 4)};
  std::string wire;
  for (const auto& s : strings) wire += this->framed(s);
  for (const auto& split : allSplits(wire)) {
    auto proto = this->connected();
    for (auto chunk : split.chunks) proto->dataReceived(std::string(chunk));
    EXPECT_EQ(proto->received, strings) << split.name;
    EXPECT_EQ(proto->bufferedSize(), 0u);
  }
}

TYPED_TEST(IntNStringReceiverTest, PartialDataDeliversNothing) {
  for (std::string partial : {this->prefix(8), this->prefix(8) + "abc", std::string()}) {
    auto proto = this->connected();
    for (char c : partial) proto->dataReceived(std::string(1, c));
    EXPECT_TRUE(proto->received.empty());
  }
}

TYPED_TEST(IntNStringReceiverTest, SendAddsTheBigEndianPrefix) {
  auto proto = this->connected();
  proto->sendString("foo");
  EXPECT_EQ(this->transport->value(), this->prefix(3) + "foo");
  proto->dataReceived(this->prefix(4) + "ubar");
  EXPECT_EQ(proto->received, std::vector<std::string>{"ubar"});
}

TYPED_TEST(IntNStringReceiverTest, LengthLimitExceededGetsTheLengthAndCloses) {
  auto proto = this->connected();
  proto->MAX_LENGTH = 10;
  proto->dataReceived(this->prefix(11));
  EXPECT_EQ(proto->exceeded, std::vector<std::uint64_t>{11});
  EXPECT_TRUE(this->transport->disconnecting());
}

TYPED_TEST(IntNStringReceiverTest, LongStringIsNotDeliveredNorWhatFollows) {
  std::string wire =
      this->framed("ok") + this->prefix(11) + std::string(11, 'x') + this->framed("no");
  for (const auto& split : allSplits(wire)) {
    auto proto = this->connected();
    proto->MAX_LENGTH = 10;
    for (auto chunk : split.chunks) proto->dataReceived(std::string(chunk));
    EXPECT_EQ(proto->received, std::vector<std::string>{"ok"}) << split.name;
    EXPECT_FALSE(proto->exceeded.empty()) << split.name;
    EXPECT_TRUE(this->transport->disconnecting()) << split.name;
  }
  // Refused at the prefix: the limit is applied when the length arrives,
  // before a single byte of the announced string (a receiver that waited for
  // the whole string before refusing would not have refused yet here).
  auto proto = this->connected();
  proto->MAX_LENGTH = 10;
  proto->dataReceived(this->framed("ok") + this->prefix(11));
  EXPECT_FALSE(proto->exceeded.empty());
  EXPECT_TRUE(this->transport->disconnecting());
}

TYPED_TEST(IntNStringReceiverTest, TooLongToSendThrows) {
  auto proto = this->connected();
  if (proto->prefixLength() == 4) GTEST_SKIP() << "4 GiB strings are not allocated in a test";
  std::string tooLong((std::size_t{1} << (8 * proto->prefixLength())), 'b');
  EXPECT_THROW(proto->sendString(tooLong), twisted::basic::StringTooLongError);
  EXPECT_EQ(this->transport->value(), "");
  tooLong.pop_back();
  proto->sendString(tooLong);  // the largest that fits
  EXPECT_EQ(this->transport->value().size(), tooLong.size() + proto->prefixLength());
}

TYPED_TEST(IntNStringReceiverTest, PauseHoldsStringsUntilResumed) {
  std::string wire = this->framed("one") + this->framed("two") + this->framed("three");
  for (const auto& split : allSplits(wire)) {
    auto proto = this->connected();
    auto* p = proto.get();
    proto->onString = [p](std::string_view s) {
      if (s == "one") p->pauseProducing();
    };
    for (auto chunk : split.chunks) proto->dataReceived(std::string(chunk));
    EXPECT_EQ(proto->received, std::vector<std::string>{"one"}) << split.name;
    EXPECT_EQ(this->transport->producerState(), StringTransport::ProducerState::Paused);
    proto->resumeProducing();
    EXPECT_EQ(proto->received, (std::vector<std::string>{"one", "two", "three"})) << split.name;
    EXPECT_EQ(this->transport->producerState(), StringTransport::ProducerState::Producing);
  }
}

TYPED_TEST(IntNStringReceiverTest, StringsSentFromStringReceivedAreAllAnswered) {
  // A request/response protocol: every string is answered, in order.
  std::string wire;
  for (int i = 0; i < 50; ++i) wire += this->framed("req" + std::to_string(i));
  auto proto = this->connected();
  auto* p = proto.get();
  proto->onString = [p](std::string_view s) { p->sendString(std::string(s) + "!"); };
  proto->dataReceived(wire);
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += this->framed("req" + std::to_string(i) + "!");
  EXPECT_EQ(this->transport->value(), expected);
}

TEST(Int32StringReceiver, ConcreteBytes) {
  Recording<twisted::basic::Int32StringReceiver> proto;
  auto transport = std::make_shared<StringTransport>();
  proto.makeConnection(transport);
  proto.sendString("foo");
  EXPECT_EQ(transport->value(), std::string("\x00\x00\x00\x03"
                                            "foo",
                                            7));
  proto.dataReceived(std::string("\x00\x00\x00\x04ubar", 8));
  EXPECT_EQ(proto.received, std::vector<std::string>{"ubar"});
  // Twisted's illegal string: a prefix of 0x10000000 is above MAX_LENGTH.
  proto.dataReceived(
      std::string("\x10\x00\x00\x00"
                  "aaaaaa",
                  10));
  EXPECT_TRUE(transport->disconnecting());
}

}  // namespace
