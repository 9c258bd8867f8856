// The member functions of StreamTransport (stream_transport.hpp). Included
// by each adapter's .cpp, which instantiates the transport it needs:
//
//   template class twisted::detail::StreamTransport<ITCPTransport, SocketIO>;
#pragma once

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "../hot_path.hpp"
#include "../poller/poller.hpp"
#include "../producer_kind.hpp"
#include "read_buffer.hpp"
#include "stream_transport.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::detail {

namespace stream {
inline const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.abstract");
  return instance;
}
// The failures are built out of line: a template's member functions are
// not split into hot and cold parts by GCC (they live in COMDAT groups), so
// the rare paths are kept small by hand.
[[gnu::cold, gnu::noinline]] inline Failure lostWith(int err) {
  return Failure::of(error::ConnectionLost(std::generic_category().message(err)));
}
[[gnu::cold, gnu::noinline]] inline Failure done() {
  return Failure::of(error::ConnectionDone());
}
inline bool wouldBlock(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}
// The most pieces one gathered send takes; more are queued.
inline constexpr std::size_t kMaxIov = 64;
}  // namespace stream

template <class I, class IO>
StreamTransport<I, IO>::StreamTransport(TransportHost& host)
    : arena_(&host.readArena()), host_(host) {
  // The reactor fetches the first kPrefetchedBytes of a reader before it
  // dispatches (reactor_fdset.cpp): the hot fields must lie inside them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
  static_assert(offsetof(Self, arena_) + sizeof(arena_) <= kPrefetchedBytes - kControlBlock,
                "the transport's hot fields outgrew the reactor's prefetch");
#pragma GCC diagnostic pop
}

template <class I, class IO>
StreamTransport<I, IO>::~StreamTransport() {
  if (fd_ >= 0) {
    if (comp_) {
      try {
        comp_->stopStream(fd_);
      } catch (...) {
        stream::log().failure("Unhandled error stopping a stream", Failure::current());
      }
    }
    IO::close(fd_, true);
  }
}

template <class I, class IO>
void StreamTransport<I, IO>::startConnection(int fd, std::shared_ptr<Protocol> protocol) {
  fd_ = fd;
  protocol_ = std::move(protocol);
  phase_ = Phase::Connected;
  // Bytes only: a receive into provided buffers carries no descriptors, so
  // an IO with ancillary data (UNIX sockets) reads on readiness.
  if constexpr (!kAncillary) {
    if (Completions* c = host_.completions(); c && c->startStream(fd)) comp_ = c;
  }
  startReading();
  protocol_->makeConnection(this->shared_from_this());
}

// Asked by the reactor before every read (Twisted's check for a descriptor
// that went away): kept with the hot code, not wherever the vtable is.
template <class I, class IO>
TWISTED_HOT int StreamTransport<I, IO>::fileno() const {
  return fd_;
}

template <class I, class IO>
typename StreamTransport<I, IO>::Cold& StreamTransport<I, IO>::cold() const {
  if (!cold_) cold_ = makeCold();
  return *cold_;
}

// ---- registration -----------------------------------------------------------

template <class I, class IO>
void StreamTransport<I, IO>::startReading() {
  if ((registered_ & kReading) || fd_ < 0) return;
  host_.fdset().addReader(this->shared_from_this());
  registered_ |= kReading;
}

template <class I, class IO>
void StreamTransport<I, IO>::stopReading() {
  if (!(registered_ & kReading)) return;
  registered_ &= ~kReading;
  host_.fdset().removeReader(*this);
}

template <class I, class IO>
void StreamTransport<I, IO>::startWriting() {
  if ((registered_ & kWriting) || fd_ < 0) return;
  host_.fdset().addWriter(this->shared_from_this());
  registered_ |= kWriting;
}

template <class I, class IO>
void StreamTransport<I, IO>::stopWriting() {
  if (!(registered_ & kWriting)) return;
  registered_ &= ~kWriting;
  host_.fdset().removeWriter(*this);
}

template <class I, class IO>
void StreamTransport<I, IO>::updateReading() {
  if (phase_ == Phase::Connected && closing_ == Closing::None && !readClosed_ && paused_ == 0) {
    startReading();
  } else {
    stopReading();
  }
}

// ---- reading ------------------------------------------------------------------

template <class I, class IO>
TWISTED_HOT IOResult StreamTransport<I, IO>::doRead() {
  if (!live()) return {};
  if (comp_) return readCompleted();
  ReadBuffer buffer(*arena_);
  // With many connections this one's protocol is cold: fetch it while the
  // kernel copies (the reactor has already asked for our own hot lines).
  __builtin_prefetch(protocol_.get());
  ssize_t n = IO::read(fd_, buffer.data(), ReadArena::kSize);
  if (n == 0) [[unlikely]]
    return stream::done();
  if (n < 0) {
    int err = errno;
    if (stream::wouldBlock(err) || err == EINTR) return {};
    return stream::lostWith(err);
  }
  if constexpr (kAncillary) {
    if (IO::ancillaryPending()) {
      ancillaryReceived();  // descriptors before the bytes they came with
      if (!live()) return {};
    }
  }
  deliver(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  if (loseAfterRead_) [[unlikely]]
    return loseAfterRead();
  if (queue_.hasBorrowed()) return sendBorrowed();
  if (!queue_.empty() && !(registered_ & kWriting) && live()) {
    // One send for everything dataReceived wrote; usually it all goes.
    // Done here rather than through flush(): that costs 26 more
    // instructions per message (its IOResult, the loop), measured with
    // bench/echo --callgrind; what is left goes through flush().
    std::string_view pending = queue_.pending();
    ssize_t sent = IO::send(fd_, pending.data(), pending.size());
    if (sent == static_cast<ssize_t>(pending.size())) {
      queue_.consume(pending.size());
      if ((paused_ & kPausedByQueue) || producerPaused_) queueShrank();
      return {};
    }
    if (sent > 0) queue_.consume(static_cast<std::size_t>(sent));
    if (sent < 0 && !stream::wouldBlock(errno) && errno != EINTR) return stream::lostWith(errno);
    if (IOResult failed = flush()) return failed;
    if (!queue_.empty()) startWriting();
  }
  return {};
}

template <class I, class IO>
[[gnu::always_inline]] inline void StreamTransport<I, IO>::deliver(std::string_view bytes) {
  // Writes made inside dataReceived are gathered and sent once it returns.
  std::string_view outerBytes = readBytes_;  // a nested read restores it
  readBytes_ = bytes;
  inRead_ = true;
  try {
    protocol_->dataReceived(readBytes_);
  } catch (...) {
    inRead_ = false;
    readBytes_ = outerBytes;
    loseAfterRead_ = false;                          // the exception ends the connection instead
    if (queue_.hasBorrowed()) queue_.ownBorrowed();  // its bytes die with the buffer
    throw;
  }
  inRead_ = false;
  readBytes_ = outerBytes;
}

template <class I, class IO>
IOResult StreamTransport<I, IO>::loseAfterRead() {
  loseAfterRead_ = false;
  if (queue_.hasBorrowed()) queue_.ownBorrowed();  // its bytes die with the read buffer
  if (phase_ != Phase::Connected || closing_ != Closing::Lose) return {};  // aborted meanwhile
  if (!(registered_ & kWriting)) {
    if (IOResult failed = flush()) return failed;
    // flush may have resumed a producer, which may have aborted.
    if (phase_ != Phase::Connected || closing_ != Closing::Lose) return {};
    if (queue_.empty() && !sendInFlight_ && !producerWantsToWrite()) {
      // All sent: end here, in the reactor's frame as doWrite would, a
      // turn of the loop (and two epoll changes) sooner.
      connectionLost(Failure::of(error::ConnectionDone()));
      return {};
    }
  }
  // What is left goes as it does after a loseConnection outside a read.
  startWriting();
  return {};
}

template <class I, class IO>
[[gnu::always_inline]] inline IOResult StreamTransport<I, IO>::sendBorrowed() {
  if (!canWrite()) {
    queue_.takeBorrowed();  // an abort discards it
    return {};
  }
  if (registered_ & kWriting) {
    // A loseConnection or loseWriteConnection inside dataReceived: doWrite
    // sends it, then closes.
    queue_.ownBorrowed();
    if (writeBufferSize() > highWater_) queueGrew();
    return {};
  }
  // Nothing else is queued (a view is only borrowed then): one send, no copy.
  std::string_view view = queue_.takeBorrowed();
  ssize_t sent = IO::send(fd_, view.data(), view.size());
  if (sent == static_cast<ssize_t>(view.size())) return {};
  if (sent < 0) {
    if (!stream::wouldBlock(errno) && errno != EINTR) return stream::lostWith(errno);
    sent = 0;
  }
  queue_.append(view.substr(static_cast<std::size_t>(sent)));
  if (writeBufferSize() > highWater_) queueGrew();
  startWriting();
  return {};
}

// ---- the completion path --------------------------------------------------------

template <class I, class IO>
IOResult StreamTransport<I, IO>::readCompleted() {
  // Every result waiting, in order, while the transport still reads (a
  // pause or a close inside dataReceived leaves the rest queued).
  while (live() && (registered_ & kReading)) {
    if (sendInFlight_) {
      if (IOResult failed = reapSend()) return failed;
    }
    std::optional<Completions::Received> got = comp_->takeReceived(fd_);
    if (!got) break;
    if (got->result < 0) return stream::lostWith(-got->result);
    if (got->result == 0) {
      // A reset's error goes to whichever call asks first: when the send
      // got it, the receive sees only an end, which is not a clean one.
      if (sendInFlight_) {
        if (IOResult failed = reapSend()) return failed;
      }
      return stream::done();
    }
    try {
      deliver(std::string_view(got->data, static_cast<std::size_t>(got->result)));
    } catch (...) {
      comp_->releaseReceived(got->buffer);
      throw;
    }
    bool lent = false;
    if (queue_.hasBorrowed()) {
      if (!canWrite()) {
        queue_.takeBorrowed();  // an abort discards it
      } else if (!sendInFlight_) {
        // The uncopied echo: sent from the buffer the kernel received it
        // into, which goes back to the ring once the send completes.
        std::string_view view = queue_.takeBorrowed();
        sendingBytes_ = view.size();
        sendInFlight_ = true;
        comp_->sendReceived(fd_, view, got->buffer);
        lent = true;
        watchSend();
      } else {
        queue_.ownBorrowed();  // behind the send in flight
        if (writeBufferSize() > highWater_) queueGrew();
      }
    }
    if (!lent) comp_->releaseReceived(got->buffer);
    if (loseAfterRead_) [[unlikely]] {
      if (IOResult failed = loseAfterRead()) return failed;
      continue;  // no longer reading: the loop ends
    }
    if (!queue_.empty() && live()) {
      if (!sendInFlight_) submitQueued();
      watchSend();
    }
  }
  return {};
}

template <class I, class IO>
void StreamTransport<I, IO>::submitQueued() {
  WriteBuffer& bytes = queue_.owned();
  sendingBytes_ = bytes.size();
  sendInFlight_ = true;
  comp_->send(fd_, bytes);
}

template <class I, class IO>
void StreamTransport<I, IO>::watchSend() {
  if (!queue_.empty() || closing_ != Closing::None || writeSide_ != WriteSide::Open || producer() ||
      (paused_ & kPausedByQueue) || producerPaused_) {
    startWriting();
  }
}

template <class I, class IO>
IOResult StreamTransport<I, IO>::reapSend() {
  std::optional<long> sent = comp_->takeSent(fd_);
  if (!sent) return {};  // still the kernel's
  sendInFlight_ = false;
  sendingBytes_ = 0;
  if (*sent < 0) return stream::lostWith(static_cast<int>(-*sent));
  if ((paused_ & kPausedByQueue) || producerPaused_) queueShrank();
  return {};
}

template <class I, class IO>
IOResult StreamTransport<I, IO>::flushCompleted() {
  if (sendInFlight_) {
    if (IOResult failed = reapSend()) return failed;
    if (sendInFlight_) return {};
  }
  if (!queue_.empty()) submitQueued();
  return {};
}

template <class I, class IO>
void StreamTransport<I, IO>::readConnectionLost(const Failure& reason) {
  registered_ &= ~kReading;  // the reactor has removed us as a reader
  readClosed_ = true;
  auto* halfCloseable = dynamic_cast<IHalfCloseableProtocol*>(protocol_.get());
  if (!halfCloseable) {
    connectionLost(reason);
    return;
  }
  try {
    halfCloseable->readConnectionLost();
  } catch (...) {
    Failure why = Failure::current();
    stream::log().failure("Unhandled error in readConnectionLost", why);
    connectionLost(why);
  }
}

// ---- writing ------------------------------------------------------------------

template <class I, class IO>
TWISTED_HOT void StreamTransport<I, IO>::write(std::string_view data) {
  // The common case of a server: an answer written from dataReceived, sent
  // once it returns. Bytes of the read itself (an echo, a proxy's own side)
  // are not even copied while nothing else is queued. This path is kept
  // free of calls so that it needs no stack frame.
  auto at = reinterpret_cast<std::uintptr_t>(data.data());
  auto begin = reinterpret_cast<std::uintptr_t>(readBytes_.data());
  if (inRead_ && !data.empty() && at >= begin && at + data.size() <= begin + readBytes_.size() &&
      canWrite() && queue_.borrow(data)) {
    return;
  }
  writeCopied(data);
}

template <class I, class IO>
void StreamTransport<I, IO>::writeCopied(std::string_view data) {
  if (inRead_ && canWrite()) {
    queue_.append(data);
    if (writeBufferSize() > highWater_) queueGrew();
    return;
  }
  std::string_view one[1] = {data};
  writeSequence(std::span<const std::string_view>(one));
}

template <class I, class IO>
void StreamTransport<I, IO>::writeSequence(std::span<const std::string_view> data) {
  if (!canWrite()) return;
  if (queue_.empty() && !inRead_ && !(registered_ & kWriting) && !writeFailed_) {
    writeNow(data);
  } else {
    for (std::string_view piece : data) queue_.append(piece);
    // Inside dataReceived the flush after it sends; otherwise wait for the
    // descriptor (already registered when writing).
    if (!inRead_) startWriting();
  }
  if (writeBufferSize() > highWater_) queueGrew();
}

template <class I, class IO>
void StreamTransport<I, IO>::writeNow(std::span<const std::string_view> pieces) {
  if (comp_) {
    // Copied once, and sent with the loop's next wait.
    if (sendInFlight_) {
      if (IOResult failed = reapSend()) {
        cold().writeError = std::move(*failed);  // reported from doWrite, as below
        writeFailed_ = true;
        startWriting();
        return;
      }
    }
    for (std::string_view piece : pieces) queue_.append(piece);
    if (queue_.empty()) return;
    if (!sendInFlight_) submitQueued();
    // Outside a read, always told of the result (doWrite takes it and
    // unregisters): a failure must not wait for a read that may not come.
    startWriting();
    return;
  }
  // Send at once (one system call, no copy): most writes go out whole. What
  // the descriptor does not take is queued for doWrite.
  std::array<iovec, stream::kMaxIov> iov;
  std::size_t count = 0;
  std::size_t total = 0;
  for (std::string_view piece : pieces) {
    if (piece.empty()) continue;
    if (count == stream::kMaxIov) break;
    iov[count++] = iovec{const_cast<char*>(piece.data()), piece.size()};
    total += piece.size();
  }
  if (count == 0) return;
  ssize_t n;
  do {
    if (count == 1) {
      n = IO::send(fd_, static_cast<const char*>(iov[0].iov_base), iov[0].iov_len);
    } else {
      n = IO::sendv(fd_, iov.data(), count);
    }
  } while (n < 0 && errno == EINTR);
  std::size_t sent = 0;
  if (n < 0) {
    int err = errno;
    if (!stream::wouldBlock(err)) {
      // Reported from doWrite, in the reactor's context, not from inside the
      // caller's write().
      cold().writeError = stream::lostWith(err);
      writeFailed_ = true;
      startWriting();
      return;
    }
  } else {
    sent = static_cast<std::size_t>(n);
  }
  if (sent == total && count == pieces.size()) return;
  // Queue the rest, in order.
  std::size_t skip = sent;
  for (std::string_view piece : pieces) {
    if (skip >= piece.size()) {
      skip -= piece.size();
      continue;
    }
    queue_.append(piece.substr(skip));
    skip = 0;
  }
  if (!queue_.empty()) startWriting();
}

template <class I, class IO>
IOResult StreamTransport<I, IO>::sendDescriptors() {
  if constexpr (kAncillary) {
    std::deque<int>* fds = descriptorsToSend();
    if (!fds || fds->empty()) return {};
    // Twisted's rule: a descriptor needs a byte to travel with.
    if (fds->size() > queue_.size()) return Failure::of(error::FileDescriptorOverrun());
    while (!fds->empty()) {
      std::string_view pending = queue_.pending();
      ssize_t n = IO::sendDescriptor(fd_, pending.data(), fds->front());
      if (n < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (stream::wouldBlock(err) || err == ENOBUFS) return {};
        return stream::lostWith(err);
      }
      queue_.consume(1);
      ::close(fds->front());  // the kernel holds its own reference now
      fds->pop_front();
    }
  }
  return {};
}

// Descriptors waiting always keep the transport registered for writing
// (below, and doWrite stays registered while any wait), so every path that
// sends at once, which checks kWriting, leaves the bytes to doWrite: the
// direct paths need no check of their own, and TCP's stay as they were.
template <class I, class IO>
void StreamTransport<I, IO>::descriptorQueued(bool full) {
  if (full) {
    if (IProducer* p = producer(); p && cold_->streaming && !producerPaused_) {
      producerPaused_ = true;
      std::shared_ptr<IProducer> keep = cold_->producer;
      dynamic_cast<IPushProducer&>(*keep).pauseProducing();
    }
  }
  startWriting();
}

template <class I, class IO>
IOResult StreamTransport<I, IO>::flush() {
  if (comp_) return flushCompleted();
  if constexpr (kAncillary) {
    if (IOResult failed = sendDescriptors()) return failed;
    if (descriptorsWaiting()) return {};  // the descriptor is full: later
  }
  while (!queue_.empty()) {
    std::string_view pending = queue_.pending();
    ssize_t n = IO::send(fd_, pending.data(), pending.size());
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (stream::wouldBlock(err)) break;
      return stream::lostWith(err);
    }
    queue_.consume(static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < pending.size()) break;  // descriptor full
  }
  if ((paused_ & kPausedByQueue) || producerPaused_) queueShrank();
  return {};
}

template <class I, class IO>
IOResult StreamTransport<I, IO>::doWrite() {
  if (writeFailed_) {
    writeFailed_ = false;
    Failure why = std::move(*cold_->writeError);
    cold_->writeError.reset();
    return why;
  }
  if (!live()) return {};
  if (IOResult failed = flush()) return failed;
  if (!queue_.empty() || sendInFlight_) return {};
  bool producerWants = producerWantsToWrite();
  // Drained. To close, report ConnectionDone while still registered: the
  // reactor disconnects only what it holds.
  if (closing_ == Closing::Lose && !producerWants) return stream::done();
  stopWriting();
  if (producerWants) {
    // A pull producer (or a paused push producer) supplies more now.
    producerPaused_ = false;
    std::shared_ptr<IProducer> keep = cold_->producer;
    if (auto* pull = dynamic_cast<IPullProducer*>(keep.get()); pull && !cold_->streaming) {
      pull->resumeProducing();
      // Its write may have gone straight out: ask again when writable.
      if (cold_->producer == keep && phase_ == Phase::Connected) startWriting();
    } else if (auto* push = dynamic_cast<IPushProducer*>(keep.get())) {
      push->resumeProducing();
    }
  } else if (writeSide_ == WriteSide::Closing) {
    closeWriteSide();
  }
  return {};
}

template <class I, class IO>
void StreamTransport<I, IO>::closeWriteSide() {
  writeSide_ = WriteSide::Closed;
  IO::shutdownWrite(fd_);
  if (auto* halfCloseable = dynamic_cast<IHalfCloseableProtocol*>(protocol_.get())) {
    halfCloseable->writeConnectionLost();
  }
}

// ---- flow control --------------------------------------------------------------

template <class I, class IO>
void StreamTransport<I, IO>::setWriteBufferLimits(std::size_t high, std::size_t low,
                                                  bool pauseReading) {
  if (low > high) throw std::invalid_argument("setWriteBufferLimits: low water above high water");
  constexpr std::size_t kMost = UINT32_MAX;
  highWater_ = static_cast<std::uint32_t>(std::min(high, kMost));
  lowWater_ = static_cast<std::uint32_t>(std::min(low, kMost));
  pauseReadingWhenFull_ = pauseReading;
  queueGrew();
  queueShrank();
}

template <class I, class IO>
void StreamTransport<I, IO>::queueGrew() {
  if (writeBufferSize() <= highWater_) return;
  if (comp_ && sendInFlight_) startWriting();  // told when the send in flight is done
  if (IProducer* p = producer(); p && cold_->streaming && !producerPaused_) {
    producerPaused_ = true;
    std::shared_ptr<IProducer> keep = cold_->producer;
    dynamic_cast<IPushProducer&>(*keep).pauseProducing();
  }
  if (pauseReadingWhenFull_ && !(paused_ & kPausedByQueue)) {
    paused_ |= kPausedByQueue;
    updateReading();
  }
}

template <class I, class IO>
void StreamTransport<I, IO>::queueShrank() {
  if (writeBufferSize() > lowWater_) return;
  if (paused_ & kPausedByQueue) {
    paused_ &= ~kPausedByQueue;
    updateReading();
  }
  if (producer() && cold_->streaming && producerPaused_) {
    producerPaused_ = false;
    std::shared_ptr<IProducer> keep = cold_->producer;
    dynamic_cast<IPushProducer&>(*keep).resumeProducing();
  }
}

template <class I, class IO>
void StreamTransport<I, IO>::registerProducer(std::shared_ptr<IProducer> producer, bool streaming) {
  if (!producer) throw std::invalid_argument("registerProducer(nullptr)");
  if (this->producer()) {
    throw std::logic_error("registerProducer: a producer is already registered with " +
                           logPrefix());
  }
  checkProducerKind(producer, streaming);
  if (phase_ == Phase::Disconnected) {
    producer->stopProducing();  // as Twisted: nothing will ever be consumed
    return;
  }
  Cold& c = cold();
  c.producer = std::move(producer);
  c.streaming = streaming;
  producerPaused_ = false;
  if (!streaming) {
    // A pull producer is asked for data once the queue is empty.
    startWriting();
  } else if (writeBufferSize() > highWater_) {
    producerPaused_ = true;
    dynamic_cast<IPushProducer&>(*c.producer).pauseProducing();
  }
}

template <class I, class IO>
void StreamTransport<I, IO>::unregisterProducer() {
  if (cold_) cold_->producer.reset();
  producerPaused_ = false;
  // A loseConnection or loseWriteConnection waiting for the producer can
  // finish now.
  if (phase_ == Phase::Connected &&
      (closing_ == Closing::Lose || writeSide_ == WriteSide::Closing)) {
    startWriting();
  }
}

template <class I, class IO>
void StreamTransport<I, IO>::pauseProducing() {
  paused_ |= kPausedByUser;
  updateReading();
}

template <class I, class IO>
void StreamTransport<I, IO>::resumeProducing() {
  paused_ &= ~kPausedByUser;
  updateReading();
}

template <class I, class IO>
void StreamTransport<I, IO>::stopProducing() {
  loseConnection();
}

// ---- closing --------------------------------------------------------------------

template <class I, class IO>
void StreamTransport<I, IO>::loseConnection() {
  if (phase_ != Phase::Connected || closing_ != Closing::None) return;
  closing_ = Closing::Lose;
  if (writeSide_ == WriteSide::Closed) {
    // Our half is already closed, so nothing is left to flush and no write
    // event will come (a writer on a socket shut both ways sees only a
    // hang-up, which means "lost"): end cleanly, on the next turn as an
    // abort does, never inside the caller.
    stopReading();
    stopWriting();
    auto self = this->shared_from_this();
    host_.clock().callLater(0,
                            [self] { self->connectionLost(Failure::of(error::ConnectionDone())); });
    return;
  }
  updateReading();  // nothing more is read, even by a nested iteration
  if (inRead_) {
    // Inside our own dataReceived: doRead sends what it queued and ends the
    // connection once it returns, without waiting for a write event.
    loseAfterRead_ = true;
    return;
  }
  // doWrite sends what is queued, then reports ConnectionDone.
  startWriting();
}

template <class I, class IO>
void StreamTransport<I, IO>::halfClose() {
  if (phase_ != Phase::Connected || closing_ != Closing::None || writeSide_ != WriteSide::Open) {
    return;
  }
  writeSide_ = WriteSide::Closing;
  startWriting();
}

template <class I, class IO>
void StreamTransport<I, IO>::abortConnection() {
  if (phase_ != Phase::Connected || closing_ == Closing::Abort) return;
  closing_ = Closing::Abort;
  stopReading();
  stopWriting();
  // As Twisted: connectionLost on the next turn, never inside the caller.
  auto self = this->shared_from_this();
  host_.clock().callLater(
      0, [self] { self->connectionLost(Failure::of(error::ConnectionAborted())); });
}

template <class I, class IO>
void StreamTransport<I, IO>::closeDescriptor(bool orderly) {
  if (fd_ < 0) return;
  if (comp_) {
    comp_->stopStream(fd_);  // nothing in flight holds the socket after this
    sendInFlight_ = false;
    sendingBytes_ = 0;
  }
  IO::close(fd_, orderly);
  fd_ = -1;
}

template <class I, class IO>
void StreamTransport<I, IO>::connectionLost(const Failure& reason) {
  if (phase_ == Phase::Disconnected) return;
  auto self = this->shared_from_this();  // until we return
  phase_ = Phase::Disconnected;
  stopReading();
  stopWriting();
  if (cold_) {
    if (std::shared_ptr<IProducer> producer = std::move(cold_->producer)) {
      try {
        producer->stopProducing();
      } catch (...) {
        stream::log().failure("Unhandled error in stopProducing", Failure::current());
      }
    }
    cold_->writeError.reset();
  }
  writeFailed_ = false;
  beforeClose();
  // An aborted connection is reset, even when an exception raised after the
  // abort became the reason.
  closeDescriptor(closing_ != Closing::Abort && !reason.check<error::ConnectionAborted>());
  queue_.clear();
  std::shared_ptr<Protocol> protocol = std::move(protocol_);
  if (protocol) {
    protocol->connected = false;
    try {
      protocol->connectionLost(reason);
    } catch (...) {
      stream::log().failure("Unhandled error in {protocol}.connectionLost", Failure::current(),
                            {{"protocol", protocol->logPrefix()}});
    }
  }
  afterConnectionLost(reason);
  host_.untrack(*this);
}

}  // namespace twisted::detail
