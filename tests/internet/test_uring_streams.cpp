// The io_uring poller's stream operations (Completions: startStream and
// what follows), driven directly over a real loopback TCP connection: the
// order of what the kernel received into the provided buffers, recovery
// from a ring with no buffer free, zero-copy for large sends, an echo held
// in its received buffer until sent, and a stop with a send in flight. The
// transports built on them run the whole suite on iouring.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "internet/poller/poller.hpp"
#include "internet/uring/buffer_ring.hpp"
#include "internet/uring/streams.hpp"
#include "reactor_test.hpp"

namespace twisted::test {
namespace {

using detail::Completions;
using detail::FiredList;
using detail::Poller;
using detail::WriteBuffer;

// A connected pair on 127.0.0.1, both non-blocking: `ours` for the poller,
// `peer` for the test to read and write directly.
struct Pair {
  int ours = -1, peer = -1;
  Pair() {
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener, 1) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(listener);
      return;
    }
    peer = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = ::connect(peer, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc != 0 && errno != EINPROGRESS) return;
    ours = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ::close(listener);
  }
  ~Pair() {
    if (ours >= 0) ::close(ours);
    if (peer >= 0) ::close(peer);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;
};

// The stream: a real io_uring poller with `fd` started and watched for
// reading; null (the test skips) where the kernel cannot.
struct Streamed {
  std::unique_ptr<Poller> poller;
  Completions* ops = nullptr;
  int fd;
  explicit Streamed(int fd) : fd(fd) {
    std::string whyNot;
    poller = detail::makeUringPoller(whyNot);
    if (!poller) return;
    ops = poller->completions();
    if (!ops->startStream(fd)) {
      ops = nullptr;
      return;
    }
    poller->update(fd, 0, detail::kRead);
  }
  // Turns of the poller until `done` (bounded: about 20 s at most, never
  // decided by the clock alone); each turn's events are handed to `onEvent`.
  bool turnUntil(const std::function<bool()>& done,
                 const std::function<void(unsigned)>& onEvent = {}) {
    for (int turn = 0; turn < 2000; ++turn) {
      if (done()) return true;
      FiredList fired;
      poller->poll(10, fired);
      for (const detail::FiredEvent& e : fired) {
        if (e.fd == fd && onEvent) onEvent(e.events);
      }
    }
    return done();
  }
};

// Each test: a connection, our side started as a stream.
class UringStreams : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(pair.ours, 0);
    streamed = std::make_unique<Streamed>(pair.ours);
    if (!streamed->ops) {
      GTEST_SKIP()
          << "this kernel or profile has no io_uring streams (multishot receive: Linux 6.0)";
    }
  }
  Pair pair;
  std::unique_ptr<Streamed> streamed;
};

std::string pattern(std::size_t size, std::size_t from = 0) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (from + i) % 23);
  return out;
}

// Reads what the peer socket has, without blocking.
void drain(int fd, std::string& into) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    into.append(buf, static_cast<std::size_t>(n));
  }
}

TEST_F(UringStreams, ReceivesInOrderIntoProvidedBuffersThenTheEnd) {
  Streamed& s = *streamed;
  std::size_t freeAtStart = s.ops->counters().buffersFree;
  ASSERT_EQ(::write(pair.peer, "hello ", 6), 6);
  ASSERT_EQ(::write(pair.peer, "world", 5), 5);
  ::shutdown(pair.peer, SHUT_WR);
  std::string got;
  bool ended = false;
  bool readable = false;
  ASSERT_TRUE(s.turnUntil([&] { return ended; },
                          [&](unsigned events) {
                            readable = readable || (events & detail::kRead);
                            while (auto r = s.ops->takeReceived(s.fd)) {
                              if (r->result <= 0) {
                                EXPECT_EQ(r->result, 0) << std::strerror(-r->result);
                                ended = true;
                                break;
                              }
                              got.append(r->data, static_cast<std::size_t>(r->result));
                              s.ops->releaseReceived(r->buffer);
                            }
                          }));
  EXPECT_TRUE(readable);
  EXPECT_EQ(got, "hello world");
  EXPECT_EQ(s.ops->counters().buffersFree, freeAtStart) << "every buffer given back";
}

TEST_F(UringStreams, AReceiveStarvedOfBuffersResumesWhenOneComesBack) {
  // Keep every buffer the kernel fills: once none is free the receive ends
  // with ENOBUFS. Giving them back arms it again, and every byte the peer
  // wrote arrives, in order.
  Streamed& s = *streamed;
  constexpr std::size_t kTotal =
      (detail::uring::BufferRing::kCount + 64) * detail::uring::BufferRing::kSize;
  std::size_t written = 0;
  std::vector<Completions::Received> held;
  std::string got;
  auto take = [&](unsigned) {
    while (auto r = s.ops->takeReceived(s.fd)) {
      ASSERT_GT(r->result, 0);
      held.push_back(*r);
    }
  };
  auto feed = [&] {
    while (written < kTotal) {
      std::string chunk = pattern(std::min<std::size_t>(65536, kTotal - written), written);
      ssize_t n = ::write(pair.peer, chunk.data(), chunk.size());
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
  };
  ASSERT_TRUE(s.turnUntil(
      [&] {
        feed();
        return s.ops->counters().starvations > 0;
      },
      take))
      << "the ring never ran out: " << held.size() << " buffers held";
  EXPECT_EQ(s.ops->counters().buffersFree, 0u);
  // With none free, an echo of received bytes is copied and its buffer
  // given back at once, rather than held by a send to a peer that may not read.
  ASSERT_FALSE(held.empty());
  Completions::Received first = held.front();
  held.erase(held.begin());
  got.append(first.data, static_cast<std::size_t>(first.result));
  s.ops->sendReceived(s.fd, std::string_view(first.data, static_cast<std::size_t>(first.result)),
                      first.buffer);
  EXPECT_EQ(s.ops->counters().copiedEchoes, 1u);
  EXPECT_EQ(s.ops->counters().buffersFree, 1u);
  for (const Completions::Received& r : held) {
    got.append(r.data, static_cast<std::size_t>(r.result));
    s.ops->releaseReceived(r.buffer);
  }
  held.clear();
  std::string echoed;
  ASSERT_TRUE(s.turnUntil(
      [&] {
        feed();
        drain(pair.peer, echoed);
        return written == kTotal && got.size() == kTotal;
      },
      [&](unsigned) {
        while (auto r = s.ops->takeReceived(s.fd)) {
          ASSERT_GT(r->result, 0);
          got.append(r->data, static_cast<std::size_t>(r->result));
          s.ops->releaseReceived(r->buffer);
        }
      }))
      << got.size() << " of " << written << " bytes received";
  EXPECT_TRUE(got == pattern(kTotal)) << "the bytes arrive whole and in order";
  ASSERT_TRUE(s.turnUntil([&] {
    drain(pair.peer, echoed);
    return echoed.size() == static_cast<std::size_t>(first.result);
  }));
  EXPECT_EQ(echoed, got.substr(0, echoed.size()));
  auto sent = s.ops->takeSent(s.fd);
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(*sent, first.result);
}

TEST_F(UringStreams, AStreamThatStopsReadingGivesItsBuffersBackToAStarvedOne) {
  // Stream A receives and takes nothing: at kMostWaiting results its
  // receive stops (a fair share of the ring), then it stops reading (a
  // paused transport). Stream B takes and keeps every buffer until the ring
  // is empty and its receive starves. A's waiting bytes are then copied and
  // its buffers given back, so B receives again; A, reading again, gets
  // every byte in order.
  Streamed& a = *streamed;
  Pair other;
  ASSERT_GE(other.ours, 0);
  ASSERT_TRUE(a.ops->startStream(other.ours));
  a.poller->update(other.ours, 0, detail::kRead);
  constexpr std::size_t kTotal =
      (detail::uring::Streams::kMostWaiting + 8) * detail::uring::BufferRing::kSize;
  std::string sent = pattern(kTotal);
  ASSERT_EQ(::write(pair.peer, sent.data(), kTotal), static_cast<ssize_t>(kTotal));
  ASSERT_TRUE(a.turnUntil([&] {
    return a.ops->counters().buffersFree <=
           detail::uring::BufferRing::kCount - detail::uring::Streams::kMostWaiting;
  }));
  a.poller->update(a.fd, detail::kRead, 0);  // A stops reading
  // B: keep every buffer, feeding until its receive finds none.
  std::vector<Completions::Received> held;
  std::size_t fed = 0;
  std::string chunk = pattern(65536);
  auto takeB = [&] {
    while (auto r = a.ops->takeReceived(other.ours)) {
      ASSERT_GT(r->result, 0);
      held.push_back(*r);
    }
  };
  ASSERT_TRUE(a.turnUntil([&] {
    takeB();
    while (fed < (64u << 20)) {
      ssize_t n = ::write(other.peer, chunk.data(), chunk.size());
      if (n <= 0) break;
      fed += static_cast<std::size_t>(n);
    }
    return a.ops->counters().parkedCopies > 0;
  })) << "A never gave its buffers back: "
      << a.ops->counters().starvations << " starvations";
  EXPECT_GT(a.ops->counters().starvations, 0u);
  for (const Completions::Received& r : held) a.ops->releaseReceived(r.buffer);
  held.clear();
  a.poller->update(other.ours, detail::kRead, 0);
  a.poller->update(a.fd, 0, detail::kRead);  // A reads again
  std::string got;
  ASSERT_TRUE(a.turnUntil([&] { return got.size() == kTotal; },
                          [&](unsigned) {
                            while (auto r = a.ops->takeReceived(a.fd)) {
                              ASSERT_GT(r->result, 0);
                              got.append(r->data, static_cast<std::size_t>(r->result));
                              a.ops->releaseReceived(r->buffer);
                            }
                          }))
      << got.size() << " of " << kTotal;
  EXPECT_TRUE(got == sent) << "copied or not, the bytes come whole and in order";
  a.ops->stopStream(other.ours);
  while (auto r = a.ops->takeReceived(a.fd)) a.ops->releaseReceived(r->buffer);
}

TEST_F(UringStreams, LargeSendsAreZeroCopySmallOnesAreNot) {
  Streamed& s = *streamed;
  for (std::size_t size : {std::size_t{1000}, std::size_t{4} << 20}) {
    std::size_t zcBefore = s.ops->counters().zeroCopySends;
    WriteBuffer bytes;
    bytes.append(pattern(size));
    s.ops->send(s.fd, bytes);
    EXPECT_TRUE(bytes.empty()) << "the poller holds the bytes in flight";
    std::string got;
    std::optional<long> sent;
    ASSERT_TRUE(s.turnUntil([&] {
      drain(pair.peer, got);
      if (!sent) sent = s.ops->takeSent(s.fd);
      return sent && got.size() == size;
    }));
    EXPECT_EQ(*sent, static_cast<long>(size));
    EXPECT_TRUE(got == pattern(size));
    if (size >= detail::uring::Streams::kZeroCopyFrom) {
      EXPECT_GT(s.ops->counters().zeroCopySends, zcBefore);
    } else {
      EXPECT_EQ(s.ops->counters().zeroCopySends, zcBefore);
    }
  }
}

TEST_F(UringStreams, AnEchoHoldsItsReceivedBufferUntilSent) {
  Streamed& s = *streamed;
  std::size_t freeAtStart = s.ops->counters().buffersFree;
  ASSERT_EQ(::write(pair.peer, "echo me", 7), 7);
  std::optional<Completions::Received> got;
  ASSERT_TRUE(s.turnUntil([&] {
    if (!got) got = s.ops->takeReceived(s.fd);
    return got.has_value();
  }));
  ASSERT_EQ(got->result, 7);
  EXPECT_EQ(s.ops->counters().buffersFree, freeAtStart - 1);
  s.ops->sendReceived(s.fd, std::string_view(got->data, 7), got->buffer);
  EXPECT_EQ(s.ops->counters().copiedEchoes, 0u) << "sent from where it was received";
  EXPECT_EQ(s.ops->counters().buffersFree, freeAtStart - 1) << "held by the send";
  std::string echoed;
  std::optional<long> sent;
  ASSERT_TRUE(s.turnUntil([&] {
    drain(pair.peer, echoed);
    if (!sent) sent = s.ops->takeSent(s.fd);
    return sent.has_value();
  }));
  EXPECT_EQ(*sent, 7);
  ASSERT_TRUE(s.turnUntil([&] {
    drain(pair.peer, echoed);
    return echoed.size() == 7;
  }));
  EXPECT_EQ(echoed, "echo me");
  EXPECT_EQ(s.ops->counters().buffersFree, freeAtStart) << "given back once sent";
}

TEST_F(UringStreams, AStopWithASendInFlightHoldsItsBytesUntilTheKernelLetsGo) {
  // The peer reads nothing, so a large send cannot finish; the stream is
  // stopped and the socket closed. The bytes stay the poller's (an orphan)
  // until the cancelled send's last completion, then are freed: nothing is
  // read after free (ASan) and nothing leaks.
  Streamed& s = *streamed;
  WriteBuffer bytes;
  bytes.append(pattern(64u << 20));
  s.ops->send(s.fd, bytes);
  for (int i = 0; i < 5; ++i) {
    FiredList fired;
    s.poller->poll(0, fired);
  }
  ASSERT_FALSE(s.ops->takeSent(s.fd).has_value()) << "64 MiB fit in the socket buffers?";
  s.ops->stopStream(s.fd);
  EXPECT_EQ(s.ops->counters().orphans, 1u);
  ::close(pair.ours);
  pair.ours = -1;
  // Zero-copy pages queued in the socket are the kernel's until the
  // connection lets them go: the peer's close ends it.
  ::close(pair.peer);
  pair.peer = -1;
  ASSERT_TRUE(s.turnUntil([&] { return s.ops->counters().orphans == 0; }))
      << "the cancelled send never completed";
}

}  // namespace
}  // namespace twisted::test
