// LineReceiver and LineOnlyReceiver: the behaviours of Twisted's
// twisted/protocols/test/test_basic.py (LineReceiverTests,
// LineReceiverLineLengthExceededTests, LineOnlyReceiverTests, ProducerTests),
// most inputs fed in every split (splits.hpp).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "splits.hpp"
#include "twisted/protocols/line_receiver.hpp"
#include "twisted/testing/clock.hpp"
#include "twisted/testing/string_transport.hpp"

namespace {

using twisted::test::allSplits;
using twisted::testing::StringTransport;

// Feeds each chunk as a fresh copy, so that a parser keeping a view of a
// chunk past its call reads freed memory (caught by ASan).
template <class P>
void feed(P& proto, const std::vector<std::string_view>& chunks) {
  for (std::string_view chunk : chunks) {
    std::string copy(chunk);
    proto.dataReceived(copy);
  }
}

// A protocol that acts on some lines (as Twisted's LineTester): "" switches
// to raw mode for `len N` bytes, "pause"/"rawpause" pause until the clock
// runs, "stop" stops producing.
class LineTester : public twisted::basic::LineReceiver {
 public:
  explicit LineTester(twisted::testing::Clock* clock = nullptr) : clock_(clock) {
    delimiter = "\n";
    MAX_LENGTH = 64;
  }
  std::vector<std::string> received;

  void lineReceived(std::string_view line) override {
    received.emplace_back(line);
    if (line.empty()) {
      setRawMode();
    } else if (line == "pause") {
      pauseProducing();
      clock_->callLater(0, [this] { resumeProducing(); });
    } else if (line == "rawpause") {
      pauseProducing();
      setRawMode();
      received.emplace_back();
      clock_->callLater(0, [this] { resumeProducing(); });
    } else if (line == "stop") {
      stopProducing();
    } else if (line.starts_with("len ")) {
      length_ = std::stoul(std::string(line.substr(4)));
    }
  }
  void rawDataReceived(std::string_view data) override {
    std::string_view mine = data.substr(0, length_);
    length_ -= mine.size();
    received.back() += mine;
    if (length_ == 0) setLineMode(data.substr(mine.size()));
  }
  void lineLengthExceeded(std::string_view line) override {
    if (line.size() > MAX_LENGTH + 1) setLineMode(line.substr(MAX_LENGTH + 1));
  }

 private:
  twisted::testing::Clock* clock_;
  std::size_t length_ = 0;
};

std::shared_ptr<LineTester> connected(twisted::testing::Clock* clock = nullptr) {
  auto proto = std::make_shared<LineTester>(clock);
  proto->makeConnection(std::make_shared<StringTransport>());
  return proto;
}

const std::string kModes =
    "len 10\n\n0123456789len 5\n\n1234\nlen 20\nfoo 123\n\n0123456789\n012345678len 0\n"
    "foo 5\n\n1234567890123456789012345678901234567890123456789012345678901234567890\n"
    "len 1\n\na";

TEST(LineReceiver, LinesRawModeAndLongLinesInEverySplit) {
  const std::vector<std::string> expected = {
      "len 10", "0123456789", "len 5", "1234\n", "len 20", "foo 123", "0123456789\n012345678",
      "len 0",  "foo 5",      "",      "67890",  "len 1",  "a"};
  for (const auto& split : allSplits(kModes)) {
    auto proto = connected();
    feed(*proto, split.chunks);
    EXPECT_EQ(proto->received, expected) << split.name;
  }
}

TEST(LineReceiver, PauseInsideLineReceivedHoldsTheRestUntilResumed) {
  const std::string input = "twiddle1\ntwiddle2\npause\ntwiddle3\n";
  for (const auto& split : allSplits(input)) {
    twisted::testing::Clock clock;
    auto proto = connected(&clock);
    feed(*proto, split.chunks);
    EXPECT_EQ(proto->received, (std::vector<std::string>{"twiddle1", "twiddle2", "pause"}))
        << split.name;
    EXPECT_EQ(std::dynamic_pointer_cast<StringTransport>(proto->transport)->producerState(),
              StringTransport::ProducerState::Paused);
    clock.advance(0);
    EXPECT_EQ(proto->received,
              (std::vector<std::string>{"twiddle1", "twiddle2", "pause", "twiddle3"}))
        << split.name;
  }
}

TEST(LineReceiver, PauseThenRawModeAppliesToTheNextByte) {
  const std::string input = "twiddle1\ntwiddle2\nlen 5\nrawpause\n12345twiddle3\n";
  for (const auto& split : allSplits(input)) {
    twisted::testing::Clock clock;
    auto proto = connected(&clock);
    feed(*proto, split.chunks);
    EXPECT_EQ(proto->received,
              (std::vector<std::string>{"twiddle1", "twiddle2", "len 5", "rawpause", ""}))
        << split.name;
    clock.advance(0);
    EXPECT_EQ(proto->received, (std::vector<std::string>{"twiddle1", "twiddle2", "len 5",
                                                         "rawpause", "12345", "twiddle3"}))
        << split.name;
  }
}

TEST(LineReceiver, StopProducingDeliversNothingMore) {
  const std::string input = "twiddle1\ntwiddle2\nstop\nmore\nstuff\n";
  for (const auto& split : allSplits(input)) {
    auto proto = connected();
    feed(*proto, split.chunks);
    EXPECT_EQ(proto->received, (std::vector<std::string>{"twiddle1", "twiddle2", "stop"}))
        << split.name;
    EXPECT_EQ(std::dynamic_pointer_cast<StringTransport>(proto->transport)->producerState(),
              StringTransport::ProducerState::Stopped);
  }
}

TEST(LineReceiver, ClearLineBufferFromLineReceivedReturnsTheRest) {
  struct Clearing : twisted::basic::LineReceiver {
    std::string line, rest;
    void lineReceived(std::string_view l) override {
      line = l;
      rest = clearLineBuffer();
    }
  } proto;
  proto.dataReceived("foo\r\nbar\r\nbaz");
  EXPECT_EQ(proto.line, "foo");
  EXPECT_EQ(proto.rest, "bar\r\nbaz");
  proto.dataReceived("quux\r\n");
  EXPECT_EQ(proto.line, "quux");
  EXPECT_EQ(proto.rest, "");
  EXPECT_EQ(proto.bufferedSize(), 0u);
}

TEST(LineReceiver, ClearLineBufferOutsideACallback) {
  struct Lines : twisted::basic::LineReceiver {
    std::vector<std::string> lines;
    void lineReceived(std::string_view l) override { lines.emplace_back(l); }
  } proto;
  proto.dataReceived("one\r\ntw");
  EXPECT_EQ(proto.clearLineBuffer(), "tw");
  proto.dataReceived("o\r\n");
  EXPECT_EQ(proto.lines, (std::vector<std::string>{"one", "o"}));
}

TEST(LineReceiver, FlippingModesOnEveryByteStaysLinear) {
  // Each line switches to raw mode; raw mode hands back all but one byte.
  struct Flipping : twisted::basic::LineReceiver {
    Flipping() { delimiter = "\n"; }
    std::string lines;
    void lineReceived(std::string_view l) override {
      lines += l;
      setRawMode();
    }
    void rawDataReceived(std::string_view data) override { setLineMode(data.substr(1)); }
  } proto;
  std::string input;
  for (int i = 0; i < 100000; ++i) input += "x\nx";
  proto.dataReceived(input);
  EXPECT_EQ(proto.lines, std::string(100000, 'x'));
}

TEST(LineReceiver, DataFedFromInsideLineReceivedIsParsedAfterIt) {
  struct Feeding : twisted::basic::LineReceiver {
    std::vector<std::string> lines;
    void lineReceived(std::string_view l) override {
      lines.emplace_back(l);
      if (l == "a") dataReceived("inner\r\n");
    }
  } proto;
  proto.dataReceived("a\r\nb\r\n");
  EXPECT_EQ(proto.lines, (std::vector<std::string>{"a", "b", "inner"}));
}

TEST(LineReceiver, LoseConnectionInsideLineReceivedStopsTheBatch) {
  struct Quitting : twisted::basic::LineReceiver {
    std::vector<std::string> lines;
    void lineReceived(std::string_view l) override {
      lines.emplace_back(l);
      if (l == "QUIT") transport->loseConnection();
    }
  };
  for (const auto& split : allSplits("HELO\r\nQUIT\r\nMORE\r\n")) {
    auto proto = std::make_shared<Quitting>();
    auto transport = std::make_shared<StringTransport>();
    proto->makeConnection(transport);
    feed(*proto, split.chunks);
    EXPECT_EQ(proto->lines, (std::vector<std::string>{"HELO", "QUIT"})) << split.name;
    EXPECT_TRUE(transport->disconnecting());
  }
}

TEST(LineReceiver, SendLineAppendsTheDelimiter) {
  struct P : twisted::basic::LineReceiver {
    void lineReceived(std::string_view) override {}
  } proto;
  auto transport = std::make_shared<StringTransport>();
  proto.makeConnection(transport);
  proto.sendLine("hello");
  proto.delimiter = "\n";
  proto.sendLine("");
  EXPECT_EQ(transport->value(), "hello\r\n\n");
}

TEST(LineReceiver, RawDataReceivedNotOverriddenThrows) {
  struct P : twisted::basic::LineReceiver {
    void lineReceived(std::string_view) override {}
  } proto;
  proto.setRawMode();
  EXPECT_THROW(proto.dataReceived("data"), std::logic_error);
}

TEST(LineReceiver, EmptyDelimiterIsAnError) {
  struct P : twisted::basic::LineReceiver {
    void lineReceived(std::string_view) override {}
  } proto;
  proto.delimiter = "";
  EXPECT_THROW(proto.dataReceived("x"), std::logic_error);
}

TEST(LineReceiver, AnExceptionFromLineReceivedKeepsTheRestBuffered) {
  struct Throwing : twisted::basic::LineReceiver {
    std::vector<std::string> lines;
    void lineReceived(std::string_view l) override {
      lines.emplace_back(l);
      if (l == "boom") throw std::runtime_error("boom");
    }
  } proto;
  EXPECT_THROW(proto.dataReceived("a\r\nboom\r\nb\r\nc"), std::runtime_error);
  EXPECT_EQ(proto.bufferedSize(), 4u);  // "b\r\nc"
  proto.dataReceived("\r\n");
  EXPECT_EQ(proto.lines, (std::vector<std::string>{"a", "boom", "b", "c"}));
}

// ---- line length limits ---------------------------------------------------

class LongLines : public twisted::basic::LineReceiver {
 public:
  LongLines() { MAX_LENGTH = 6; }
  std::vector<std::string> lines, longLines;
  void lineReceived(std::string_view l) override { lines.emplace_back(l); }
  void lineLengthExceeded(std::string_view l) override { longLines.emplace_back(l); }
};

TEST(LineReceiverLength, LongUnendedLineIsPassedWhole) {
  LongLines proto;
  std::string excessive(14, 'x');
  proto.dataReceived(excessive);
  EXPECT_EQ(proto.longLines, std::vector<std::string>{excessive});
}

TEST(LineReceiverLength, LongLineAfterShortLine) {
  LongLines proto;
  std::string excessive(14, 'x');
  proto.dataReceived("x\r\n" + excessive);
  EXPECT_EQ(proto.lines, std::vector<std::string>{"x"});
  EXPECT_EQ(proto.longLines, std::vector<std::string>{excessive});
}

TEST(LineReceiverLength, LongLineWithDelimiterPassesEverythingBuffered) {
  LongLines proto;
  std::string excessive = std::string(14, 'x') + "\r\n" + std::string(14, 'x');
  proto.dataReceived(excessive);
  EXPECT_EQ(proto.longLines, std::vector<std::string>{excessive});
  EXPECT_TRUE(proto.lines.empty());
}

// LineReceiverLineLengthExceededTests.test_multipleLongLines
TEST(LineReceiverLength, TwoLongDelimitedLinesArePassedWholeInOneCall) {
  LongLines proto;
  const std::string longLine = std::string(proto.MAX_LENGTH * 2 + 2, 'x') + "\r\n";
  const std::string excessive = longLine + longLine;  // ends with a delimiter
  proto.dataReceived(excessive);
  EXPECT_EQ(proto.longLines, std::vector<std::string>{excessive});
  EXPECT_TRUE(proto.lines.empty());
  EXPECT_EQ(proto.bufferedSize(), 0u);
}

TEST(LineReceiverLength, DefaultClosesTheConnection) {
  struct P : twisted::basic::LineReceiver {
    void lineReceived(std::string_view) override {}
  };
  for (std::string input : {std::string(16385, 'x') + "\r\nr", std::string(16386, 'x')}) {
    P proto;
    auto transport = std::make_shared<StringTransport>();
    proto.makeConnection(transport);
    proto.dataReceived(input);
    EXPECT_TRUE(transport->disconnecting()) << input.size();
    EXPECT_EQ(proto.bufferedSize(), 0u);
  }
}

TEST(LineReceiverLength, LineOfExactlyMaxLengthIsAcceptedInEverySplit) {
  // Also when a partial delimiter pushes the buffer past MAX_LENGTH.
  const std::string input = "xxxxxx\r\nyyyyyy\r\n";
  for (const auto& split : allSplits(input)) {
    LongLines proto;
    feed(proto, split.chunks);
    EXPECT_EQ(proto.lines, (std::vector<std::string>{"xxxxxx", "yyyyyy"})) << split.name;
    EXPECT_TRUE(proto.longLines.empty()) << split.name;
  }
}

TEST(LineReceiverLength, PartialDelimiterAtTheLimitDoesNotDisconnect) {
  struct P : twisted::basic::LineReceiver {
    void lineReceived(std::string_view) override {}
  } proto;
  auto transport = std::make_shared<StringTransport>();
  proto.makeConnection(transport);
  proto.dataReceived(std::string(proto.MAX_LENGTH, 'x') + "\r");
  EXPECT_FALSE(transport->disconnecting());
}

TEST(LineReceiverLength, OneByteOverIsRefusedInEverySplit) {
  const std::string input = "ok\r\nxxxxxxx\r\nafter\r\n";
  for (const auto& split : allSplits(input)) {
    LongLines proto;
    auto transport = std::make_shared<StringTransport>();
    proto.makeConnection(transport);
    feed(proto, split.chunks);
    EXPECT_EQ(proto.lines.front(), "ok") << split.name;
    EXPECT_FALSE(proto.longLines.empty()) << split.name;
    EXPECT_EQ(proto.longLines.front().substr(0, 7), "xxxxxxx") << split.name;
  }
}

TEST(LineReceiverLength, BufferStaysBoundedWithoutADelimiter) {
  struct P : twisted::basic::LineReceiver {
    void lineReceived(std::string_view) override {}
    void lineLengthExceeded(std::string_view) override { ++exceeded; }
    int exceeded = 0;
  } proto;
  proto.MAX_LENGTH = 1000;
  std::string chunk(100, 'x');
  for (int i = 0; i < 10000; ++i) {
    proto.dataReceived(chunk);
    ASSERT_LE(proto.bufferedSize(), 1002u);
  }
  EXPECT_GT(proto.exceeded, 0);
}

TEST(LineReceiverLength, LongLineByteByByteIsNotRescanned) {
  // A 1 MiB line fed one byte at a time: linear, not quadratic, work.
  struct P : twisted::basic::LineReceiver {
    std::size_t got = 0;
    void lineReceived(std::string_view l) override { got = l.size(); }
  } proto;
  proto.MAX_LENGTH = 1 << 20;
  for (std::size_t i = 0; i < proto.MAX_LENGTH; ++i) proto.dataReceived("y");
  proto.dataReceived("\r");
  proto.dataReceived("\n");
  EXPECT_EQ(proto.got, proto.MAX_LENGTH);
}

// ---- LineOnlyReceiver ---------------------------------------------------------

class LineOnlyTester : public twisted::basic::LineOnlyReceiver {
 public:
  LineOnlyTester() { delimiter = "\n"; }
  std::vector<std::string> received;
  void lineReceived(std::string_view l) override {
    received.emplace_back(l);
    if (l == "quit") transport->loseConnection();
  }
};

TEST(LineOnlyReceiver, LinesInEverySplit) {
  const std::string input = "foo\n    bleakness\n    desolation\n    plastic forks\n";
  for (const auto& split : allSplits(input)) {
    LineOnlyTester proto;
    proto.makeConnection(std::make_shared<StringTransport>());
    feed(proto, split.chunks);
    EXPECT_EQ(proto.received, (std::vector<std::string>{"foo", "    bleakness", "    desolation",
                                                        "    plastic forks"}))
        << split.name;
  }
}

TEST(LineOnlyReceiver, StopsAtTheLineThatClosedTheConnection) {
  for (const auto& split : allSplits("a\nquit\nb\n")) {
    LineOnlyTester proto;
    proto.makeConnection(std::make_shared<StringTransport>());
    feed(proto, split.chunks);
    EXPECT_EQ(proto.received, (std::vector<std::string>{"a", "quit"})) << split.name;
  }
}

TEST(LineOnlyReceiver, TooLongLineClosesTheConnectionInEverySplit) {
  std::string input = std::string(16385, 'x') + "\nr";
  for (const auto& split : allSplits(input, 3)) {
    LineOnlyTester proto;
    auto transport = std::make_shared<StringTransport>();
    proto.makeConnection(transport);
    feed(proto, split.chunks);
    EXPECT_TRUE(transport->disconnecting()) << split.name;
    EXPECT_TRUE(proto.received.empty()) << split.name;
  }
}

TEST(LineOnlyReceiver, SendLine) {
  LineOnlyTester proto;
  auto transport = std::make_shared<StringTransport>();
  proto.makeConnection(transport);
  proto.sendLine("abc");
  EXPECT_EQ(transport->value(), "abc\n");
}

}  // namespace

namespace {

// LineReceiverTests.test_lineReceiverAsProducer: a receiver that registers
// itself as its transport's producer in lineReceived, then unregisters,
// still gets every line of the batch.
class ProducingLineTester : public twisted::basic::LineReceiver,
                            public std::enable_shared_from_this<ProducingLineTester> {
 public:
  ProducingLineTester() { delimiter = "\n"; }
  std::vector<std::string> received;
  void lineReceived(std::string_view line) override {
    received.emplace_back(line);
    if (line == "produce") transport->registerProducer(shared_from_this(), true);
    if (line == "unproduce") transport->unregisterProducer();
  }
};

TEST(LineReceiver, RegisteringItselfAsProducerMidBatchLosesNoLine) {
  auto p = std::make_shared<ProducingLineTester>();
  auto t = std::make_shared<StringTransport>();
  p->makeConnection(t);
  p->dataReceived("produce\nhello world\nunproduce\ngoodbye\n");
  EXPECT_EQ(p->received,
            (std::vector<std::string>{"produce", "hello world", "unproduce", "goodbye"}));
  EXPECT_EQ(t->producer(), nullptr);
}

// A receiver that pauses itself after every line, which it writes back
// (Twisted's ConsumingProtocol).
class ConsumingProtocol : public twisted::basic::LineReceiver {
 public:
  void lineReceived(std::string_view line) override {
    sendLine(line);
    pauseProducing();
  }
};

// ProducerTests.test_pauseResume
TEST(LineReceiver, PausingOnEveryLineDeliversOneLinePerResume) {
  using State = StringTransport::ProducerState;
  auto p = std::make_shared<ConsumingProtocol>();
  auto t = std::make_shared<StringTransport>();
  p->makeConnection(t);

  // A partial line: no line, no pause.
  p->dataReceived("hello, ");
  EXPECT_EQ(t->value(), "");
  EXPECT_EQ(t->producerState(), State::Producing);
  EXPECT_FALSE(p->paused());

  // The rest of it: the line is echoed and the protocol pauses.
  p->dataReceived("world\r\n");
  EXPECT_EQ(t->value(), "hello, world\r\n");
  EXPECT_EQ(t->producerState(), State::Paused);
  EXPECT_TRUE(p->paused());

  // Nothing buffered: resuming delivers nothing and stays resumed.
  p->resumeProducing();
  EXPECT_EQ(t->value(), "hello, world\r\n");
  EXPECT_EQ(t->producerState(), State::Producing);
  EXPECT_FALSE(p->paused());

  // Two lines at once: only the first is delivered before the pause.
  p->dataReceived("hello\r\nworld\r\n");
  EXPECT_EQ(t->value(), "hello, world\r\nhello\r\n");
  EXPECT_EQ(t->producerState(), State::Paused);
  EXPECT_TRUE(p->paused());

  // A resume delivers the held line, and the protocol pauses again.
  p->resumeProducing();
  EXPECT_EQ(t->value(), "hello, world\r\nhello\r\nworld\r\n");
  EXPECT_EQ(t->producerState(), State::Paused);
  EXPECT_TRUE(p->paused());

  // A line arriving while paused is held.
  p->dataReceived("goodbye\r\n");
  EXPECT_EQ(t->value(), "hello, world\r\nhello\r\nworld\r\n");
  EXPECT_EQ(t->producerState(), State::Paused);
  EXPECT_TRUE(p->paused());

  // The next resume delivers it, and pauses again.
  p->resumeProducing();
  EXPECT_EQ(t->value(), "hello, world\r\nhello\r\nworld\r\ngoodbye\r\n");
  EXPECT_EQ(t->producerState(), State::Paused);
  EXPECT_TRUE(p->paused());

  // Nothing left: this resume leaves the transport and protocol unpaused.
  p->resumeProducing();
  EXPECT_EQ(t->value(), "hello, world\r\nhello\r\nworld\r\ngoodbye\r\n");
  EXPECT_EQ(t->producerState(), State::Producing);
  EXPECT_FALSE(p->paused());
}

}  // namespace
