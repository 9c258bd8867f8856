// StandardIO end to end, on every backend: the process's "stdin" and
// "stdout" are given as descriptors of each kind (pipes, a socket pair, a
// terminal, regular files, /dev/null), with the ends, half-close,
// producers, and the descriptors left as they were found.
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "iterate_until.hpp"
#include "reactor_test.hpp"
#include "temp_dir.hpp"
#include "twisted/internet/stdio.hpp"
#include "twisted/protocols/file_sender.hpp"

namespace twisted::test {
namespace {

// Echoes, records, and ends as asked.
class Echo : public Protocol {
 public:
  std::string received;
  std::optional<Failure> lost;
  bool echo = true;
  void dataReceived(std::string_view data) override {
    received.append(data);
    if (echo) transport->write(data);
  }
  void connectionLost(const Failure& reason) override { lost = reason; }
};

class HalfCloseable : public Echo, public IHalfCloseableProtocol {
 public:
  std::vector<std::string> events;
  void readConnectionLost() override {
    events.push_back("read lost");
    transport->write("after eof");
    static_cast<StandardIO&>(*transport).loseWriteConnection();
  }
  void writeConnectionLost() override { events.push_back("write lost"); }
  void connectionLost(const Failure& reason) override {
    events.push_back("lost");
    Echo::connectionLost(reason);
  }
};

// Everything `fd` gives until its end (blocking).
std::string readAll(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

void writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    ASSERT_GT(n, 0);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool nonBlocking(int fd) {
  return ::fcntl(fd, F_GETFL) & O_NONBLOCK;
}

class StandardIOTest : public ReactorTest {
 protected:
  void waitLost(const Echo& p) {
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return p.lost.has_value(); }, "connectionLost"));
  }
};

// Twisted's StandardInputOutputTests.test_loseConnection and
// test_readConnectionLost: bytes from stdin reach the protocol, what it
// writes reaches stdout; at stdin's end (a protocol that is not
// half-closeable) what it wrote is flushed, then connectionLost
// (ConnectionDone), and stdout's reader sees the end. The descriptors are
// still open, and blocking again as they were found.
TEST_P(StandardIOTest, PipesCarryBothWaysAndStdinsEndEndsTheConnection) {
  auto [inRead, inWrite] = pipePair();
  auto [outRead, outWrite] = pipePair();
  for (int fd : {inRead.get(), outWrite.get(), outRead.get()}) ::fcntl(fd, F_SETFL, 0);
  auto echo = std::make_shared<Echo>();
  auto stdio = StandardIO::create(*reactor, echo, inRead.get(), outWrite.get());
  EXPECT_TRUE(nonBlocking(inRead.get()));  // while served
  EXPECT_EQ(stdio->getPeer(), Address(PipeAddress{}));
  EXPECT_EQ(stdio->getHost(), Address(PipeAddress{}));
  writeAll(inWrite.get(), "hello stdio");
  inWrite.reset();  // end of file
  waitLost(*echo);
  EXPECT_TRUE(echo->lost->check<error::ConnectionDone>()) << echo->lost->brief();
  EXPECT_EQ(echo->received, "hello stdio");
  EXPECT_EQ(readAll(outRead.get()), "hello stdio");  // and then the end
  EXPECT_GE(::fcntl(inRead.get(), F_GETFL), 0);
  EXPECT_GE(::fcntl(outWrite.get(), F_GETFL), 0);
  EXPECT_FALSE(nonBlocking(inRead.get()));
  EXPECT_FALSE(nonBlocking(outWrite.get()));
}

// test_readConnectionLost with IHalfCloseableProtocol: the end of stdin is
// readConnectionLost; the protocol writes on, then loseWriteConnection is
// writeConnectionLost... and with both directions over, connectionLost.
TEST_P(StandardIOTest, AHalfCloseableProtocolWritesAfterStdinsEnd) {
  auto [a, b] = socketPair();
  auto [outRead, outWrite] = pipePair();
  auto p = std::make_shared<HalfCloseable>();
  p->echo = false;
  StandardIO::create(*reactor, p, a.get(), outWrite.get());
  writeAll(b.get(), "question");
  ::shutdown(b.get(), SHUT_WR);
  waitLost(*p);
  EXPECT_EQ(p->events, (std::vector<std::string>{"read lost", "lost"}));
  EXPECT_TRUE(p->lost->check<error::ConnectionDone>());
  EXPECT_EQ(p->received, "question");
  EXPECT_EQ(readAll(outRead.get()), "after eof");
}

// A socket as stdout: loseConnection shuts it down, so the peer reads the
// end although the descriptor stays open (pointed at /dev/null).
TEST_P(StandardIOTest, LoseConnectionOnASocketGivesItsPeerTheEnd) {
  auto [inRead, inWrite] = pipePair();
  auto [a, b] = socketPair();
  auto echo = std::make_shared<Echo>();
  auto stdio = StandardIO::create(*reactor, echo, inRead.get(), a.get());
  stdio->write("bye");
  stdio->loseConnection();
  waitLost(*echo);
  EXPECT_TRUE(echo->lost->check<error::ConnectionDone>());
  EXPECT_EQ(readAll(b.get()), "bye");
  EXPECT_GE(::fcntl(a.get(), F_GETFL), 0);
}

// Regular files cannot be polled (epoll refuses them): 1 MiB is read from
// one a chunk a turn and written to another, every byte.
TEST_P(StandardIOTest, RegularFilesAreServedWithoutPolling) {
  TemporaryDirectory tmp{"twisted-stdio"};
  std::string data;
  for (int i = 0; data.size() < (1 << 20); ++i) data += std::to_string(i) + ",";
  { std::ofstream(tmp.path() + "/in") << data; }
  Fd in(::open((tmp.path() + "/in").c_str(), O_RDONLY | O_CLOEXEC));
  Fd out(::open((tmp.path() + "/out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  auto echo = std::make_shared<Echo>();
  StandardIO::create(*reactor, echo, in.get(), out.get());
  waitLost(*echo);
  EXPECT_TRUE(echo->lost->check<error::ConnectionDone>()) << echo->lost->brief();
  std::ifstream written(tmp.path() + "/out");
  std::string copy((std::istreambuf_iterator<char>(written)), std::istreambuf_iterator<char>());
  EXPECT_EQ(copy.size(), data.size());
  EXPECT_TRUE(copy == data);
}

// /dev/null as stdin is an empty file: the end at once; as stdout, it takes
// everything.
TEST_P(StandardIOTest, DevNullIsAnEmptyStdinAndABottomlessStdout) {
  Fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd out(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  auto p = std::make_shared<HalfCloseable>();
  StandardIO::create(*reactor, p, in.get(), out.get());
  waitLost(*p);
  EXPECT_EQ(p->events, (std::vector<std::string>{"read lost", "lost"}));
}

// A terminal: a line typed on it arrives (canonical mode), what is written
// appears on it, and its flags are as before once the connection is over
// (a shell sharing it is not left non-blocking).
TEST_P(StandardIOTest, ATerminalReadsALineAndIsLeftAsItWasFound) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  Fd m(master), in(slave), out(::dup(slave));
  int before = ::fcntl(in.get(), F_GETFL);
  auto echo = std::make_shared<Echo>();
  echo->echo = false;
  auto stdio = StandardIO::create(*reactor, echo, in.get(), out.get());
  writeAll(m.get(), "typed line\n");
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return echo->received.find('\n') != std::string::npos; }, "the line"));
  EXPECT_EQ(echo->received, "typed line\n");
  stdio->write("shown");
  stdio->loseConnection();
  waitLost(*echo);
  std::string seen;
  char buf[256];
  while (seen.find("shown") == std::string::npos) {
    ssize_t n = ::read(m.get(), buf, sizeof buf);
    ASSERT_GT(n, 0);
    seen.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(::fcntl(in.get(), F_GETFL), before);
  EXPECT_EQ(::fcntl(out.get(), F_GETFL), before);
}

// Stdout's reader gone: the write fails (EPIPE) and the connection is lost
// with ConnectionLost, not ConnectionDone.
TEST_P(StandardIOTest, StdoutsReaderGoneIsConnectionLost) {
  auto [inRead, inWrite] = pipePair();
  auto [outRead, outWrite] = pipePair();
  auto echo = std::make_shared<Echo>();
  auto stdio = StandardIO::create(*reactor, echo, inRead.get(), outWrite.get());
  outRead.reset();
  ::signal(SIGPIPE, SIG_IGN);
  stdio->write("nobody reads this");
  waitLost(*echo);
  EXPECT_FALSE(echo->lost->check<error::ConnectionDone>()) << echo->lost->brief();
  EXPECT_TRUE(echo->lost->check<error::ConnectionLost>()) << echo->lost->brief();
}

// A streaming producer is paused when stdout's queue passes the high
// water mark and resumed when it drains below the low one; pausing the
// transport stops reading stdin, and what was sent waits in the pipe.
TEST_P(StandardIOTest, ProducersArePausedByAFullStdoutAndStdinByPausing) {
  struct Producer : IPushProducer {
    int paused = 0, resumed = 0, stopped = 0;
    void pauseProducing() override { ++paused; }
    void resumeProducing() override { ++resumed; }
    void stopProducing() override { ++stopped; }
  };
  auto [inRead, inWrite] = pipePair();
  auto [outRead, outWrite] = pipePair();
  auto echo = std::make_shared<Echo>();
  echo->echo = false;
  auto stdio = StandardIO::create(*reactor, echo, inRead.get(), outWrite.get());
  auto producer = std::make_shared<Producer>();
  stdio->registerProducer(producer, true);
  std::string chunk(256 * 1024, 'x');  // more than the pipe and the high water mark
  stdio->write(chunk);
  EXPECT_EQ(producer->paused, 1);
  EXPECT_GT(stdio->writeBufferSize(), 0u);
  std::string drained;
  char buf[65536];
  while (drained.size() < chunk.size()) {
    reactor->iterate(0);
    ssize_t n = ::read(outRead.get(), buf, sizeof buf);
    if (n > 0) drained.append(buf, static_cast<std::size_t>(n));
  }
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return producer->resumed == 1; }, "resumeProducing"));
  EXPECT_EQ(drained, chunk);
  stdio->unregisterProducer();

  stdio->pauseProducing();
  writeAll(inWrite.get(), "held");
  for (int i = 0; i < 5; ++i) reactor->iterate(0);
  EXPECT_EQ(echo->received, "");
  stdio->resumeProducing();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return echo->received == "held"; }, "the held bytes"));
  stdio->loseConnection();
  waitLost(*echo);
}

TEST_P(StandardIOTest, TheSameDescriptorTwiceOrAClosedOneIsRefused) {
  auto [a, b] = socketPair();
  EXPECT_THROW(StandardIO::create(*reactor, std::make_shared<Echo>(), a.get(), a.get()),
               std::invalid_argument);
  EXPECT_THROW(StandardIO::create(*reactor, std::make_shared<Echo>(), a.get(), 900),
               std::invalid_argument);
}

// StandardInputOutputTests.test_writeSequence: the pieces reach stdout in
// order, then the end.
TEST_P(StandardIOTest, WriteSequenceReachesStdoutInOrder) {
  auto [inRead, inWrite] = pipePair();
  auto [outRead, outWrite] = pipePair();
  auto echo = std::make_shared<Echo>();
  auto stdio = StandardIO::create(*reactor, echo, inRead.get(), outWrite.get());
  stdio->writeSequence({"o", "k", "!"});
  stdio->loseConnection();
  waitLost(*echo);
  EXPECT_TRUE(echo->lost->check<error::ConnectionDone>()) << echo->lost->brief();
  outWrite.reset();  // (lent: StandardIO pointed it at /dev/null, not closed it)
  ::fcntl(outRead.get(), F_SETFL, 0);
  EXPECT_EQ(readAll(outRead.get()), "ok!");
}

// StandardInputOutputTests.test_consumer: a pull producer (FileSender, as
// Twisted's test uses) sends a file through stdout, a pipe read as it goes
// and a regular file (which takes every write whole, so the producer is
// asked again on the next turn, not at a queue's end that never comes).
TEST_P(StandardIOTest, AFileSenderSendsAFileThroughStdout) {
  TemporaryDirectory tmp{"twisted-stdio-consumer"};
  std::string data;
  for (int i = 0; data.size() < (1 << 20); ++i) data += std::to_string(i) + ";";
  { std::ofstream(tmp.path() + "/in") << data; }
  for (bool toFile : {false, true}) {
    SCOPED_TRACE(toFile ? "a regular file" : "a pipe");
    auto [inRead, inWrite] = pipePair();
    auto [outRead, outWrite] = pipePair();
    Fd file(::open((tmp.path() + "/out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    auto echo = std::make_shared<Echo>();
    auto stdio =
        StandardIO::create(*reactor, echo, inRead.get(), toFile ? file.get() : outWrite.get());
    auto sender = std::make_shared<basic::FileSender>();
    std::optional<Outcome<std::string>> sent;
    sender->beginFileTransfer(std::filesystem::path(tmp.path() + "/in"), *stdio)
        .addBoth([&](Outcome<std::string> o) { sent = std::move(o); });
    std::string copy;
    ASSERT_TRUE(iterateUntil(
        *reactor,
        [&] {
          char buf[65536];
          ssize_t n;
          while (!toFile && (n = ::read(outRead.get(), buf, sizeof buf)) > 0) {
            copy.append(buf, static_cast<std::size_t>(n));
          }
          return sent.has_value() && (toFile || copy.size() == data.size());
        },
        "the whole file"));
    ASSERT_TRUE(sent->succeeded()) << sent->failure().getErrorMessage();
    stdio->loseConnection();
    waitLost(*echo);
    if (toFile) {
      std::ifstream written(tmp.path() + "/out");
      copy.assign(std::istreambuf_iterator<char>(written), std::istreambuf_iterator<char>());
    }
    EXPECT_EQ(copy.size(), data.size());
    EXPECT_TRUE(copy == data);
  }
}

// Beyond Twisted's StdioFilesTests.test_removeReader: a regular file as
// stdin (read a chunk a turn, not polled) holds its data while the
// transport is paused, and gives all of it once resumed.
TEST_P(StandardIOTest, APausedRegularFileStdinHoldsItsData) {
  TemporaryDirectory tmp{"twisted-stdio-paused"};
  std::string data(300000, 'p');
  { std::ofstream(tmp.path() + "/in") << data; }
  Fd in(::open((tmp.path() + "/in").c_str(), O_RDONLY | O_CLOEXEC));
  Fd out(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  auto echo = std::make_shared<Echo>();
  echo->echo = false;
  auto stdio = StandardIO::create(*reactor, echo, in.get(), out.get());
  stdio->pauseProducing();
  for (int i = 0; i < 5; ++i) reactor->iterate(0);
  EXPECT_EQ(echo->received.size(), 0u);
  stdio->resumeProducing();
  waitLost(*echo);
  EXPECT_EQ(echo->received, data);
  EXPECT_TRUE(echo->lost->check<error::ConnectionDone>());
}

TWISTED_ALL_BACKENDS(StandardIOTest);

// A regular file given to the reactor itself (Twisted's StdioFilesTests):
// epoll refuses it, so it is reported ready every turn, as select and poll
// report it; it is among the readers or writers while added, and not after.
class RegularFileFDSetTest : public ReactorTest {
 protected:
  TemporaryDirectory tmp{"twisted-fdset-file"};
  Fd file{::open((tmp.path() + "/f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};

  // A descriptor on the file that counts its doRead and doWrite calls.
  std::shared_ptr<FakeDescriptor> counting(int& reads, int& writes) {
    auto d = std::make_shared<FakeDescriptor>(file.get());
    d->onRead = [&reads]() -> IOResult {
      ++reads;
      return std::nullopt;
    };
    d->onWrite = [&writes]() -> IOResult {
      ++writes;
      return std::nullopt;
    };
    return d;
  }
};

TEST_P(RegularFileFDSetTest, AReaderAndAWriterOnARegularFileAreCalled) {
  ASSERT_GE(file.get(), 0);
  int reads = 0, writes = 0;
  auto d = counting(reads, writes);
  reactor->addReader(d);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return reads >= 3; }, "doRead"));
  EXPECT_EQ(reactor->getReaders().size(), 1u);
  reactor->addWriter(d);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return writes >= 3; }, "doWrite"));
  EXPECT_EQ(reactor->getWriters().size(), 1u);
  reactor->removeReader(*d);
  int readsThen = reads;
  for (int i = 0; i < 3; ++i) reactor->iterate(0);
  EXPECT_EQ(reads, readsThen);
  EXPECT_TRUE(reactor->getReaders().empty());
  reactor->removeAll();
  int writesThen = writes;
  for (int i = 0; i < 3; ++i) reactor->iterate(0);
  EXPECT_EQ(writes, writesThen);
  EXPECT_TRUE(reactor->getWriters().empty());
}

// StdioFilesTests.test_removeWriter, test_removeAll: removeWriter alone
// stops a regular file's doWrite and leaves its reader; removeAll returns
// the descriptor it removed.
TEST_P(RegularFileFDSetTest, RemoveWriterAndRemoveAllOnARegularFile) {
  ASSERT_GE(file.get(), 0);
  int reads = 0, writes = 0;
  auto d = counting(reads, writes);
  reactor->addReader(d);
  reactor->addWriter(d);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return writes >= 2 && reads >= 2; }, "doRead and doWrite"));
  reactor->removeWriter(*d);
  EXPECT_TRUE(reactor->getWriters().empty());
  int writesThen = writes, readsThen = reads;
  for (int i = 0; i < 3; ++i) reactor->iterate(0);
  EXPECT_EQ(writes, writesThen) << "no doWrite once removed";
  EXPECT_GT(reads, readsThen) << "the reader stays";
  auto removed = reactor->removeAll();
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(std::dynamic_pointer_cast<FakeDescriptor>(removed[0]).get(), d.get());
  EXPECT_TRUE(reactor->getReaders().empty());
  readsThen = reads;
  for (int i = 0; i < 3; ++i) reactor->iterate(0);
  EXPECT_EQ(reads, readsThen);
}

TWISTED_ALL_BACKENDS(RegularFileFDSetTest);

}  // namespace
}  // namespace twisted::test
