// IReactorFDSet: registration, dispatch, failures, and safe removal.
// Covers twisted/internet/test/test_fdset.py (see docs/conformance.md).
#include <sys/resource.h>

#include <algorithm>

#include "reactor_test.hpp"

namespace twisted::test {
namespace {

class FDSetTest : public ReactorTest {
 protected:
  // Reads whatever is there; reports ConnectionDone at end of file.
  static IOResult drain(int fd) {
    char buf[64];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) continue;
      if (n == 0) return Failure::of(error::ConnectionDone());
      return std::nullopt;
    }
  }
};

TEST_P(FDSetTest, AddReaderCallsDoRead) {
  auto [client, server] = socketPair();
  auto fd = std::make_shared<FakeDescriptor>(client.get());
  fd->onRead = [&]() -> IOResult {
    reactor->removeReader(*fd);
    reactor->stop();
    return std::nullopt;
  };
  reactor->addReader(fd);
  sendByte(server);
  runReactor();
}

TEST_P(FDSetTest, RemovedReaderIsNotCalled) {
  auto [client, server] = socketPair();
  auto fd = std::make_shared<FakeDescriptor>(client.get());
  fd->onRead = [&]() -> IOResult {
    ADD_FAILURE() << "doRead should not be called";
    return std::nullopt;
  };
  reactor->addReader(fd);
  reactor->removeReader(*fd);
  sendByte(server);
  reactor->callLater(0, [&] { reactor->callLater(0, [&] { reactor->stop(); }); });
  runReactor();
}

TEST_P(FDSetTest, AddWriterCallsDoWrite) {
  auto [client, server] = socketPair();
  auto fd = std::make_shared<FakeDescriptor>(client.get());
  fd->onWrite = [&]() -> IOResult {
    reactor->removeWriter(*fd);
    reactor->stop();
    return std::nullopt;
  };
  reactor->addWriter(fd);
  runReactor();
}

TEST_P(FDSetTest, RemovedWriterIsNotCalled) {
  auto [client, server] = socketPair();
  auto fd = std::make_shared<FakeDescriptor>(client.get());
  fd->onWrite = [&]() -> IOResult {
    ADD_FAILURE() << "doWrite should not be called";
    return std::nullopt;
  };
  reactor->addWriter(fd);
  reactor->removeWriter(*fd);
  reactor->callLater(0, [&] { reactor->callLater(0, [&] { reactor->stop(); }); });
  runReactor();
}

TEST_P(FDSetTest, GetReadersAndWritersReflectChanges) {
  auto [client, server] = socketPair();
  auto c = std::make_shared<FakeDescriptor>(client.get());
  auto s = std::make_shared<FakeDescriptor>(server.get());
  EXPECT_TRUE(reactor->getReaders().empty());
  reactor->addReader(c);
  reactor->addWriter(s);
  ASSERT_EQ(reactor->getReaders().size(), 1u);
  EXPECT_EQ(reactor->getReaders()[0], c);
  ASSERT_EQ(reactor->getWriters().size(), 1u);
  EXPECT_EQ(reactor->getWriters()[0], s);
  reactor->removeReader(*c);
  reactor->removeWriter(*s);
  EXPECT_TRUE(reactor->getReaders().empty());
  EXPECT_TRUE(reactor->getWriters().empty());
}

TEST_P(FDSetTest, RemoveAllReturnsEachDescriptorOnce) {
  auto [client, server] = socketPair();
  auto fd = std::make_shared<FakeDescriptor>(client.get());
  fd->onRead = []() -> IOResult {
    ADD_FAILURE() << "doRead should not be called";
    return std::nullopt;
  };
  fd->onWrite = fd->onRead;
  sendByte(server);
  reactor->addReader(fd);
  reactor->addWriter(fd);
  auto removed = reactor->removeAll();
  reactor->callLater(0, [&] { reactor->callLater(0, [&] { reactor->stop(); }); });
  runReactor();
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].get(), static_cast<IFileDescriptor*>(fd.get()));
}

TEST_P(FDSetTest, FilenoNotCalledAfterRemoval) {
  auto [client, server] = socketPair();
  auto fd = std::make_shared<FakeDescriptor>(client.get());
  int reads = 0;
  int callsAtRemoval = -1;
  fd->onRead = [&]() -> IOResult {
    ++reads;
    reactor->removeReader(*fd);
    callsAtRemoval = fd->filenoCalls;
    reactor->stop();
    return std::nullopt;
  };
  reactor->callWhenRunning([&] {
    reactor->addReader(fd);
    sendByte(server);
  });
  runReactor();
  EXPECT_EQ(reads, 1);
  EXPECT_GT(callsAtRemoval, 0) << "the reactor asked for the fileno while it watched it";
  // Nothing asked again once it was removed (and the loop turned at least
  // once more: stop() runs the shutdown on the next turn).
  EXPECT_EQ(fd->filenoCalls, callsAtRemoval);
}

TEST_P(FDSetTest, NegativeOneFilenoDisconnects) {
  auto [client, server] = socketPair();
  auto fd = std::make_shared<FakeDescriptor>(server.get());
  std::string received;
  fd->onRead = [&]() -> IOResult {
    char c;
    if (::read(server.get(), &c, 1) == 1) received += c;
    fd->fd = -1;  // the descriptor lost its fd without telling the reactor
    sendByte(client, 'y');
    return std::nullopt;
  };
  fd->onLost = [&](const Failure&) { reactor->stop(); };
  reactor->addReader(fd);
  sendByte(client, 'x');
  runReactor();
  EXPECT_EQ(received, "x");
  ASSERT_EQ(fd->lost.size(), 1u);
  EXPECT_TRUE(fd->lost[0].check<error::ConnectionFdescWentAway>());
  EXPECT_TRUE(reactor->getReaders().empty());
}

TEST_P(FDSetTest, ConnectionLostOnShutdown) {
  auto [client, server] = socketPair();
  auto fd1 = std::make_shared<FakeDescriptor>(client.get());
  auto fd2 = std::make_shared<FakeDescriptor>(server.get());
  reactor->addReader(fd1);
  reactor->addWriter(fd2);
  reactor->callWhenRunning([&] { reactor->stop(); });
  runReactor();
  ASSERT_EQ(fd1->lost.size(), 1u);
  ASSERT_EQ(fd2->lost.size(), 1u);
  EXPECT_TRUE(fd1->lost[0].check<error::ConnectionLost>());
}

TEST_P(FDSetTest, ReturnedFailureDisconnectsExactlyOnce) {
  auto [client, server] = socketPair();
  auto fd = std::make_shared<FakeDescriptor>(client.get());
  fd->onRead = [&]() -> IOResult { return drain(fd->fd); };
  fd->onLost = [&](const Failure&) { reactor->stop(); };
  reactor->addReader(fd);
  reactor->addWriter(fd);
  server.reset();  // peer closes: doRead reads end of file
  runReactor();
  ASSERT_EQ(fd->lost.size(), 1u);
  EXPECT_TRUE(fd->lost[0].check<error::ConnectionDone>());
  EXPECT_TRUE(reactor->getReaders().empty());
  EXPECT_TRUE(reactor->getWriters().empty());
}

TEST_P(FDSetTest, HangupWithoutDataIsConnectionDone) {
  // A pipe whose writer closed: poll/epoll report a bare hang-up, select a
  // readable fd; either way the reader ends with ConnectionDone.
  auto [r, w] = pipePair();
  auto fd = std::make_shared<FakeDescriptor>(r.get());
  fd->onRead = [&]() -> IOResult { return drain(fd->fd); };
  fd->onLost = [&](const Failure&) { reactor->stop(); };
  reactor->addReader(fd);
  w.reset();
  runReactor();
  ASSERT_EQ(fd->lost.size(), 1u);
  EXPECT_TRUE(fd->lost[0].check<error::ConnectionDone>());
}

class HalfCloseable : public FakeDescriptor, public IHalfCloseableDescriptor {
 public:
  using FakeDescriptor::FakeDescriptor;
  void readConnectionLost(const Failure& reason) override {
    readLost.push_back(reason);
    if (onReadLost) onReadLost();
  }
  std::vector<Failure> readLost;
  std::function<void()> onReadLost;
};

TEST_P(FDSetTest, HalfCloseableGetsReadConnectionLost) {
  auto [client, server] = socketPair();
  auto fd = std::make_shared<HalfCloseable>(client.get());
  fd->onRead = [&]() -> IOResult { return drain(fd->fd); };
  bool stillWritable = false;
  fd->onReadLost = [&] {
    // The write side is still usable after a read-side close.
    stillWritable = ::write(fd->fd, "z", 1) == 1;
    reactor->stop();
  };
  reactor->addReader(fd);
  ::shutdown(server.get(), SHUT_WR);
  runReactor();
  ASSERT_EQ(fd->readLost.size(), 1u);
  EXPECT_TRUE(fd->readLost[0].check<error::ConnectionDone>());
  EXPECT_TRUE(fd->lost.empty()) << "a half-close is not a full disconnect";
  EXPECT_TRUE(reactor->getReaders().empty());
  EXPECT_TRUE(stillWritable);
}

TEST_P(FDSetTest, ThrowingDoReadDisconnectsAndLoopGoesOn) {
  auto [a, b] = socketPair();
  auto [c, d] = socketPair();
  auto bad = std::make_shared<FakeDescriptor>(a.get());
  auto good = std::make_shared<FakeDescriptor>(c.get());
  bad->onRead = []() -> IOResult { throw std::runtime_error("doRead exploded"); };
  int goodReads = 0;
  good->onRead = [&]() -> IOResult {
    drain(good->fd);
    if (++goodReads == 2) {
      reactor->removeReader(*good);
      reactor->stop();
    } else {
      sendByte(d);
    }
    return std::nullopt;
  };
  reactor->addReader(bad);
  reactor->addReader(good);
  sendByte(b);
  sendByte(d);
  runReactor();
  ASSERT_EQ(bad->lost.size(), 1u);
  EXPECT_TRUE(bad->lost[0].check<std::runtime_error>());
  EXPECT_EQ(bad->lost[0].getErrorMessage(), "doRead exploded");
  EXPECT_EQ(goodReads, 2);
  EXPECT_EQ(logs->flushErrors<std::runtime_error>(), 1u);
}

TEST_P(FDSetTest, RemovingAndDestroyingAnotherDescriptorInSameIterationIsSafe) {
  // Both are ready in one wait. Whichever runs first removes the other,
  // drops the last user reference to it, and puts a new descriptor on its
  // fd number. The removed one must not be called, and neither may the new
  // one for the stale event (ASan checks the memory side).
  auto [a, a2] = socketPair();
  auto [b, b2] = socketPair();
  auto [quiet, quiet2] = socketPair();
  std::shared_ptr<FakeDescriptor> first = std::make_shared<FakeDescriptor>(a.get());
  std::shared_ptr<FakeDescriptor> second = std::make_shared<FakeDescriptor>(b.get());
  std::shared_ptr<FakeDescriptor> replacement;
  int calls = 0;
  Fd keepFirstFd;
  auto onRead = [&](std::shared_ptr<FakeDescriptor>& self,
                    std::shared_ptr<FakeDescriptor>& other) -> IOResult {
    ++calls;
    reactor->removeReader(*other);
    int fd = other->fd;
    other.reset();            // the last reference outside the reactor
    ::dup2(quiet.get(), fd);  // a quiet socket now has that fd number
    replacement = std::make_shared<FakeDescriptor>(fd);
    replacement->onRead = [&]() -> IOResult {
      ADD_FAILURE() << "stale event delivered to the replacement";
      return std::nullopt;
    };
    reactor->addReader(replacement);
    reactor->removeReader(*self);
    reactor->callLater(0, [&] { reactor->stop(); });
    return std::nullopt;
  };
  first->onRead = [&]() { return onRead(first, second); };
  second->onRead = [&]() { return onRead(second, first); };
  reactor->addReader(first);
  reactor->addReader(second);
  sendByte(a2);
  sendByte(b2);
  runReactor();
  EXPECT_EQ(calls, 1);
  reactor->removeReader(*replacement);
}

TEST_P(FDSetTest, DescriptorRemovingItselfAndDroppingAllReferencesIsSafe) {
  auto [a, b] = socketPair();
  auto fd = std::make_shared<FakeDescriptor>(a.get());
  std::weak_ptr<FakeDescriptor> weak = fd;
  fd->onRead = [&]() -> IOResult {
    reactor->removeReader(*weak.lock());
    fd.reset();  // only the reactor's graveyard keeps it now
    EXPECT_FALSE(weak.expired()) << "freed while its own doRead runs";
    reactor->stop();
    return std::nullopt;
  };
  reactor->addReader(fd);
  sendByte(b);
  runReactor();
  EXPECT_TRUE(weak.expired()) << "released once the turn is over";
}

TEST_P(FDSetTest, InvalidFilenoIsRefused) {
  auto fd = std::make_shared<FakeDescriptor>(-1);
  EXPECT_THROW(reactor->addReader(fd), std::invalid_argument);
  EXPECT_THROW(reactor->addWriter(fd), std::invalid_argument);
  EXPECT_THROW(reactor->addReader(nullptr), std::invalid_argument);
}

TEST_P(FDSetTest, DescriptorsAboveFdSetSize) {
  // select must refuse (not corrupt memory); poll and epoll must work.
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  const rlimit saved = lim;
  constexpr rlim_t kWanted = FD_SETSIZE + 64;
  if (lim.rlim_cur < kWanted) {
    if (lim.rlim_max < kWanted) GTEST_SKIP() << "RLIMIT_NOFILE hard limit too low";
    lim.rlim_cur = kWanted;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  }
  auto [a, b] = socketPair();
  Fd high(::dup2(a.get(), FD_SETSIZE + 10));
  ASSERT_EQ(high.get(), FD_SETSIZE + 10);
  auto fd = std::make_shared<FakeDescriptor>(high.get());
  if (GetParam() == Backend::Select) {
    EXPECT_THROW(reactor->addReader(fd), error::BackendLimitError);
    EXPECT_TRUE(reactor->getReaders().empty());
  } else {
    fd->onRead = [&]() -> IOResult {
      reactor->removeReader(*fd);
      reactor->stop();
      return std::nullopt;
    };
    reactor->addReader(fd);
    sendByte(b);
    runReactor();
  }
  high.reset();
  ::setrlimit(RLIMIT_NOFILE, &saved);
}

TWISTED_ALL_BACKENDS(FDSetTest);

}  // namespace
}  // namespace twisted::test
