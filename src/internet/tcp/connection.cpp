// tcp::Connection: reading, writing, flow control and closing of one
// connected socket (Twisted's abstract.FileDescriptor + tcp.Connection).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "../direct_syscall.hpp"
#include "../hot_path.hpp"
#include "../reactor_impl.hpp"
#include "socket.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/internet/tcp.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::tcp {

namespace {

const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.tcp");
  return instance;
}

// A read goes into the reactor's buffer (ReadArena); one nested in another
// read gets its own. Its bytes are dead once dataReceived returns.
class ReadBuffer {
 public:
  using Arena = twisted::detail::ReadArena;
  [[gnu::always_inline]] explicit ReadBuffer(Arena& arena) {
    if (arena.busy) [[unlikely]] {
      useOwn();
      return;
    }
    if (arena.data.empty()) [[unlikely]]
      allocate(arena);
    data_ = arena.data.data();
    busy_ = &arena.busy;
    arena.busy = true;
  }
  [[gnu::always_inline]] ~ReadBuffer() {
    if (busy_) *busy_ = false;
  }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  char* data() const { return data_; }

 private:
  [[gnu::cold, gnu::noinline]] static void allocate(Arena& arena) {
    arena.data.resize(Arena::kSize);
  }
  [[gnu::cold, gnu::noinline]] void useOwn() {
    own_ = std::make_unique<char[]>(Arena::kSize);
    data_ = own_.get();
  }
  char* data_ = nullptr;
  bool* busy_ = nullptr;
  std::unique_ptr<char[]> own_;
};

Failure lostWith(int err) {
  return Failure::of(error::ConnectionLost(detail::errnoText(err)));
}

bool wouldBlock(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

// The most pieces one sendmsg takes here; more are queued.
constexpr std::size_t kMaxIov = 64;

}  // namespace

Connection::Connection(Reactor& reactor) : arena_(&reactor.impl_->readArena), reactor_(reactor) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::startConnection(int fd, std::shared_ptr<Protocol> protocol) {
  fd_ = fd;
  protocol_ = std::move(protocol);
  connected_ = true;
  startReading();
  protocol_->makeConnection(shared_from_this());
}

// Asked by the reactor before every read (Twisted's check for a descriptor
// that went away): kept with the hot code, not wherever the vtable is.
TWISTED_HOT int Connection::fileno() const {
  return fd_;
}

std::string Connection::logPrefix() const {
  if (!prefix_.empty()) return prefix_;
  return protocol_ ? protocol_->logPrefix() : std::string("Connection");
}

// ---- registration -----------------------------------------------------------

void Connection::startReading() {
  if (reading_ || fd_ < 0) return;
  reactor_.addReader(shared_from_this());
  reading_ = true;
}

void Connection::stopReading() {
  if (!reading_) return;
  reading_ = false;
  reactor_.removeReader(*this);
}

void Connection::startWriting() {
  if (writing_ || fd_ < 0) return;
  reactor_.addWriter(shared_from_this());
  writing_ = true;
}

void Connection::stopWriting() {
  if (!writing_) return;
  writing_ = false;
  reactor_.removeWriter(*this);
}

void Connection::updateReading() {
  bool want = connected_ && !disconnecting_ && !aborting_ && !readDisconnected_ &&
              !readPausedByUser_ && !readPausedByBuffer_;
  if (want) {
    startReading();
  } else {
    stopReading();
  }
}

// ---- reading ------------------------------------------------------------------

TWISTED_HOT IOResult Connection::doRead() {
  if (!connected_ || aborting_) return {};
  ReadBuffer buffer(*arena_);
  // With many connections this one's protocol is cold: fetch it while the
  // kernel copies (the reactor has already asked for our own hot lines).
  __builtin_prefetch(protocol_.get());
  ssize_t n = twisted::detail::sys::read(fd_, buffer.data(), twisted::detail::ReadArena::kSize);
  if (n == 0) return Failure::of(error::ConnectionDone());
  if (n < 0) {
    int err = errno;
    if (wouldBlock(err) || err == EINTR) return {};
    return lostWith(err);
  }
  // Writes made inside dataReceived are gathered and sent once it returns.
  std::string_view outerBytes = readBytes_;  // a nested read restores it
  readBytes_ = std::string_view(buffer.data(), static_cast<std::size_t>(n));
  inRead_ = true;
  try {
    protocol_->dataReceived(readBytes_);
  } catch (...) {
    inRead_ = false;
    readBytes_ = outerBytes;
    spillReadView();
    throw;
  }
  inRead_ = false;
  readBytes_ = outerBytes;
  if (!readView_.empty()) return sendReadView();
  if (!buffer_.empty() && !writing_ && !aborting_ && connected_) {
    // One send for everything dataReceived wrote; usually it all goes.
    // Done here rather than through flush(): that costs 26 more
    // instructions per message (its IOResult, the loop), measured with
    // bench/echo --callgrind; what is left goes through flush().
    std::string_view pending = buffer_.pending();
    ssize_t sent = twisted::detail::sys::send(fd_, pending.data(), pending.size(), MSG_NOSIGNAL);
    if (sent == static_cast<ssize_t>(pending.size())) {
      buffer_.consume(pending.size());
      if (readPausedByBuffer_ || producerPaused_) bufferShrank();
      return {};
    }
    if (sent > 0) buffer_.consume(static_cast<std::size_t>(sent));
    if (sent < 0 && !wouldBlock(errno) && errno != EINTR) return lostWith(errno);
    if (IOResult failed = flush()) return failed;
    if (!buffer_.empty()) startWriting();
  }
  return {};
}

[[gnu::always_inline]] inline IOResult Connection::sendReadView() {
  std::string_view view = std::exchange(readView_, {});
  if (aborting_ || !connected_ || writeDisconnected_) return {};  // abort discards it
  if (writing_) {
    // A loseConnection or loseWriteConnection inside dataReceived: doWrite
    // sends it, then closes.
    buffer_.append(view);
    if (buffer_.size() > highWater_) bufferGrew();
    return {};
  }
  // Nothing else is queued (the view is only taken then): one send, no copy.
  ssize_t sent = twisted::detail::sys::send(fd_, view.data(), view.size(), MSG_NOSIGNAL);
  if (sent == static_cast<ssize_t>(view.size())) return {};
  if (sent < 0) {
    if (!wouldBlock(errno) && errno != EINTR) return lostWith(errno);
    sent = 0;
  }
  buffer_.append(view.substr(static_cast<std::size_t>(sent)));
  if (buffer_.size() > highWater_) bufferGrew();
  startWriting();
  return {};
}

void Connection::spillReadView() {
  if (readView_.empty()) return;
  buffer_.append(readView_);
  readView_ = {};
  if (buffer_.size() > highWater_) bufferGrew();
}

void Connection::readConnectionLost(const Failure& reason) {
  reading_ = false;  // the reactor has removed us as a reader
  readDisconnected_ = true;
  auto* halfCloseable = dynamic_cast<IHalfCloseableProtocol*>(protocol_.get());
  if (!halfCloseable) {
    connectionLost(reason);
    return;
  }
  try {
    halfCloseable->readConnectionLost();
  } catch (...) {
    Failure why = Failure::current();
    log().failure("Unhandled error in readConnectionLost", why);
    connectionLost(why);
  }
}

// ---- writing ------------------------------------------------------------------

TWISTED_HOT void Connection::write(std::string_view data) {
  // The common case of a server: an answer written from dataReceived, sent
  // once it returns. Bytes of the read itself (an echo, a proxy's own side)
  // are not even copied while nothing else is queued. This path is kept
  // free of calls so that it needs no stack frame.
  auto at = reinterpret_cast<std::uintptr_t>(data.data());
  auto begin = reinterpret_cast<std::uintptr_t>(readBytes_.data());
  if (inRead_ && readView_.empty() && buffer_.empty() && !data.empty() && at >= begin &&
      at + data.size() <= begin + readBytes_.size() && connected_ && !writeDisconnected_ &&
      !aborting_) {
    readView_ = data;
    return;
  }
  writeCopied(data);
}

void Connection::writeCopied(std::string_view data) {
  if (inRead_ && connected_ && !writeDisconnected_ && !aborting_) {
    spillReadView();
    buffer_.append(data);
    if (buffer_.size() > highWater_) bufferGrew();
    return;
  }
  std::string_view one[1] = {data};
  writeSequence(std::span<const std::string_view>(one));
}

void Connection::writeSequence(std::span<const std::string_view> data) {
  if (!connected_ || writeDisconnected_ || aborting_) return;
  spillReadView();
  if (buffer_.empty() && !inRead_ && !writing_ && !writeError_) {
    writeNow(data);
  } else {
    for (std::string_view piece : data) buffer_.append(piece);
    // Inside dataReceived the flush after it sends; otherwise wait for the
    // socket (already registered when writing_).
    if (!inRead_) startWriting();
  }
  if (buffer_.size() > highWater_) bufferGrew();
}

void Connection::writeNow(std::span<const std::string_view> pieces) {
  // Send at once (one system call, no copy): most writes go out whole. What
  // the socket does not take is queued for doWrite.
  std::array<iovec, kMaxIov> iov;
  std::size_t count = 0;
  std::size_t total = 0;
  for (std::string_view piece : pieces) {
    if (piece.empty()) continue;
    if (count == kMaxIov) break;
    iov[count++] = iovec{const_cast<char*>(piece.data()), piece.size()};
    total += piece.size();
  }
  if (count == 0) return;
  ssize_t n;
  do {
    if (count == 1) {
      n = twisted::detail::sys::send(fd_, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    } else {
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = count;
      n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    }
  } while (n < 0 && errno == EINTR);
  std::size_t sent = 0;
  if (n < 0) {
    int err = errno;
    if (!wouldBlock(err)) {
      // Reported from doWrite, in the reactor's context, not from inside the
      // caller's write().
      writeError_ = lostWith(err);
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
    buffer_.append(piece.substr(skip));
    skip = 0;
  }
  if (!buffer_.empty()) startWriting();
}

IOResult Connection::flush() {
  while (!buffer_.empty()) {
    std::string_view pending = buffer_.pending();
    ssize_t n = twisted::detail::sys::send(fd_, pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (wouldBlock(err)) break;
      return lostWith(err);
    }
    buffer_.consume(static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < pending.size()) break;  // socket full
  }
  if (readPausedByBuffer_ || producerPaused_) bufferShrank();
  return {};
}

IOResult Connection::doWrite() {
  if (writeError_) {
    Failure why = std::move(*writeError_);
    writeError_.reset();
    return why;
  }
  if (!connected_ || aborting_) return {};
  if (IOResult failed = flush()) return failed;
  if (!buffer_.empty()) return {};
  // Drained. To close, report ConnectionDone while still registered: the
  // reactor disconnects only what it holds.
  if (disconnecting_ && !(producer_ && (!streamingProducer_ || producerPaused_))) {
    return Failure::of(error::ConnectionDone());
  }
  stopWriting();
  if (producer_ && (!streamingProducer_ || producerPaused_)) {
    // A pull producer (or a paused push producer) supplies more now.
    producerPaused_ = false;
    std::shared_ptr<IProducer> keep = producer_;
    if (auto* pull = dynamic_cast<IPullProducer*>(keep.get()); pull && !streamingProducer_) {
      pull->resumeProducing();
      // Its write may have gone straight out: ask again when writable.
      if (producer_ == keep && connected_) startWriting();
    } else if (auto* push = dynamic_cast<IPushProducer*>(keep.get())) {
      push->resumeProducing();
    }
  } else if (writeDisconnecting_ && !writeDisconnected_) {
    closeWriteSide();
  }
  return {};
}

void Connection::closeWriteSide() {
  writeDisconnected_ = true;
  ::shutdown(fd_, SHUT_WR);
  if (auto* halfCloseable = dynamic_cast<IHalfCloseableProtocol*>(protocol_.get())) {
    halfCloseable->writeConnectionLost();
  }
}

// ---- flow control --------------------------------------------------------------

void Connection::setWriteBufferLimits(std::size_t high, std::size_t low, bool pauseReading) {
  if (low > high) throw std::invalid_argument("setWriteBufferLimits: low water above high water");
  highWater_ = high;
  lowWater_ = low;
  pauseReadingWhenFull_ = pauseReading;
  spillReadView();
  bufferGrew();
  bufferShrank();
}

void Connection::bufferGrew() {
  if (buffer_.size() <= highWater_) return;
  if (producer_ && streamingProducer_ && !producerPaused_) {
    producerPaused_ = true;
    std::shared_ptr<IProducer> keep = producer_;
    dynamic_cast<IPushProducer&>(*keep).pauseProducing();
  }
  if (pauseReadingWhenFull_ && !readPausedByBuffer_) {
    readPausedByBuffer_ = true;
    updateReading();
  }
}

void Connection::bufferShrank() {
  if (buffer_.size() > lowWater_) return;
  if (readPausedByBuffer_) {
    readPausedByBuffer_ = false;
    updateReading();
  }
  if (producer_ && streamingProducer_ && producerPaused_) {
    producerPaused_ = false;
    std::shared_ptr<IProducer> keep = producer_;
    dynamic_cast<IPushProducer&>(*keep).resumeProducing();
  }
}

void Connection::registerProducer(std::shared_ptr<IProducer> producer, bool streaming) {
  if (!producer) throw std::invalid_argument("registerProducer(nullptr)");
  if (producer_) {
    throw std::logic_error("registerProducer: a producer is already registered with " +
                           logPrefix());
  }
  if (streaming ? dynamic_cast<IPushProducer*>(producer.get()) == nullptr
                : dynamic_cast<IPullProducer*>(producer.get()) == nullptr) {
    throw std::logic_error(streaming
                               ? "registerProducer: a streaming producer must be an IPushProducer"
                               : "registerProducer: a pull producer must be an IPullProducer");
  }
  if (disconnected_) {
    producer->stopProducing();  // as Twisted: nothing will ever be consumed
    return;
  }
  spillReadView();  // counted against the high-water mark below
  producer_ = std::move(producer);
  streamingProducer_ = streaming;
  producerPaused_ = false;
  if (!streaming) {
    // A pull producer is asked for data once the buffer is empty.
    startWriting();
  } else if (buffer_.size() > highWater_) {
    producerPaused_ = true;
    dynamic_cast<IPushProducer&>(*producer_).pauseProducing();
  }
}

void Connection::unregisterProducer() {
  producer_.reset();
  producerPaused_ = false;
  // A loseConnection waiting for the producer can finish now.
  if (connected_ && disconnecting_) startWriting();
}

void Connection::pauseProducing() {
  readPausedByUser_ = true;
  updateReading();
}

void Connection::resumeProducing() {
  readPausedByUser_ = false;
  updateReading();
}

void Connection::stopProducing() {
  loseConnection();
}

// ---- closing --------------------------------------------------------------------

void Connection::loseConnection() {
  if (!connected_ || disconnecting_ || aborting_) return;
  disconnecting_ = true;
  if (writeDisconnected_) {
    // Our half is already closed, so nothing is left to flush and no write
    // event will come (a writer on a socket shut both ways sees only a
    // hang-up, which means "lost"): end cleanly, on the next turn as an
    // abort does, never inside the caller.
    stopReading();
    stopWriting();
    std::shared_ptr<Connection> self = shared_from_this();
    reactor_.callLater(0, [self] { self->connectionLost(Failure::of(error::ConnectionDone())); });
    return;
  }
  updateReading();
  // doWrite sends what is queued, then reports ConnectionDone.
  startWriting();
}

void Connection::loseWriteConnection() {
  if (!connected_ || disconnecting_ || writeDisconnecting_ || aborting_) return;
  writeDisconnecting_ = true;
  startWriting();
}

void Connection::abortConnection() {
  if (!connected_ || disconnected_ || aborting_) return;
  aborting_ = true;
  stopReading();
  stopWriting();
  // As Twisted: connectionLost on the next turn, never inside the caller.
  std::shared_ptr<Connection> self = shared_from_this();
  reactor_.callLater(0, [self] { self->connectionLost(Failure::of(error::ConnectionAborted())); });
}

void Connection::closeSocket(bool orderly) {
  if (fd_ < 0) return;
  if (!orderly) {
    linger abort{1, 0};  // close sends a reset, not a FIN
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  }
  ::close(fd_);
  fd_ = -1;
}

void Connection::connectionLost(const Failure& reason) {
  if (disconnected_) return;
  std::shared_ptr<Connection> self = shared_from_this();  // until we return
  disconnected_ = true;
  stopReading();
  stopWriting();
  if (std::shared_ptr<IProducer> producer = std::move(producer_)) {
    try {
      producer->stopProducing();
    } catch (...) {
      log().failure("Unhandled error in stopProducing", Failure::current());
    }
  }
  if (!host_ && fd_ >= 0) host_ = detail::localAddress(fd_);  // getHost answers after close
  closeSocket(!reason.check<error::ConnectionAborted>());
  connected_ = false;
  buffer_.clear();
  readView_ = {};
  writeError_.reset();
  std::shared_ptr<Protocol> protocol = std::move(protocol_);
  if (protocol) {
    protocol->connected = false;
    try {
      protocol->connectionLost(reason);
    } catch (...) {
      log().failure("Unhandled error in {protocol}.connectionLost", Failure::current(),
                    {{"protocol", protocol->logPrefix()}});
    }
  }
  afterConnectionLost(reason);
  reactor_.untrack(*this);
}

// ---- addresses and options --------------------------------------------------------

Address Connection::getHost() const {
  if (!host_ && fd_ >= 0) host_ = detail::localAddress(fd_);
  return host_ ? *host_ : Address{IPv4Address{}};
}

Address Connection::getPeer() const {
  if (!peer_ && fd_ >= 0) peer_ = detail::remoteAddress(fd_);
  return peer_ ? *peer_ : Address{IPv4Address{}};
}

namespace {
bool getFlag(int fd, int level, int option) {
  int value = 0;
  socklen_t len = sizeof value;
  if (fd < 0 || ::getsockopt(fd, level, option, &value, &len) != 0) return false;
  return value != 0;
}
void setFlag(int fd, int level, int option, bool enabled) {
  int value = enabled ? 1 : 0;
  if (fd >= 0) ::setsockopt(fd, level, option, &value, sizeof value);
}
}  // namespace

bool Connection::getTcpNoDelay() const {
  return getFlag(fd_, IPPROTO_TCP, TCP_NODELAY);
}
void Connection::setTcpNoDelay(bool enabled) {
  setFlag(fd_, IPPROTO_TCP, TCP_NODELAY, enabled);
}
bool Connection::getTcpKeepAlive() const {
  return getFlag(fd_, SOL_SOCKET, SO_KEEPALIVE);
}
void Connection::setTcpKeepAlive(bool enabled) {
  setFlag(fd_, SOL_SOCKET, SO_KEEPALIVE, enabled);
}

}  // namespace twisted::tcp
