// DatagramPort: batched receives and sends, the bounded send queue, and
// closing as Twisted's datagram ports do.
#include "datagram_port.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "../errno_text.hpp"
#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::detail {

namespace {
const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.datagram");
  return instance;
}
}  // namespace

struct DatagramPort::Receive {
  static constexpr std::size_t kLine = 64;
  std::vector<char> buffers;
  std::vector<mmsghdr> headers;
  std::vector<iovec> iov;
  std::vector<sockaddr_storage> from;
  unsigned capacity = 0;

  void grow(unsigned n, std::size_t packet) {
    if (n <= capacity) return;
    // Each buffer starts on a cache line (the kernel copies into it, and
    // an echo is sent from it: misaligned, 1,400-byte datagrams cost 7%
    // more), and is longer than a datagram may be, so that the buffers of
    // an empty maxPacketSize are still distinct.
    std::size_t stride = (packet + 1 + kLine - 1) & ~(kLine - 1);
    buffers.assign(n * stride + kLine, 0);
    auto misalign = reinterpret_cast<std::uintptr_t>(buffers.data()) % kLine;
    char* base = buffers.data() + (misalign ? kLine - misalign : 0);
    headers.assign(n, mmsghdr{});
    iov.assign(n, iovec{});
    from.assign(n, sockaddr_storage{});
    for (unsigned i = 0; i < n; ++i) {
      iov[i] = {base + i * stride, packet};
      headers[i].msg_hdr.msg_iov = &iov[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_name = &from[i];
    }
    capacity = n;
  }
  bool holds(std::string_view bytes) const {
    const char* begin = buffers.data();
    return !buffers.empty() && bytes.data() >= begin &&
           bytes.data() + bytes.size() <= begin + buffers.size();
  }
};

DatagramPort::DatagramPort(Reactor& reactor, std::size_t maxPacketSize)
    : reactor_(reactor), maxPacketSize_(std::min(maxPacketSize, kMaxPacketSize)) {}

DatagramPort::~DatagramPort() {
  if (fd_ >= 0) ::close(fd_);
}

void DatagramPort::start() {
  if (listening_) return;
  if (stopPending_) {
    // The close that stop() began would stop the protocol just started.
    throw std::logic_error(
        "startListening before stopListening has finished: restart once its Deferred has "
        "fired");
  }
  fd_ = openSocket();
  listening_ = true;
  started_ = true;
  try {
    announce();
    protocolStarted();
  } catch (...) {
    // A startProtocol that throws: nothing is left bound or tracked.
    listening_ = false;
    started_ = false;
    closeSocket();
    throw;
  }
  // startProtocol may have stopped the port already.
  if (!listening_) return;
  reactor_.track(shared_from_this());
  reactor_.addReader(shared_from_this());
}

IOResult DatagramPort::doRead() {
  // A reactor iterated from inside datagramReceived (or a flush callback)
  // must not read into the batch being delivered or sent.
  if (dispatching_ || flushing_) return {};
  std::size_t delivered = 0;
  bool readAny = false;
  while (listening_ && delivered < kMaxThroughput) {
    if (!receive_) receive_ = std::make_unique<Receive>();
    // A batch never holds more than one turn's worth of bytes.
    unsigned most = static_cast<unsigned>(
        std::clamp<std::size_t>(kMaxThroughput / (maxPacketSize_ + 1), 1, kMaxBatch));
    unsigned want = std::min(batch_, most);
    receive_->grow(want, maxPacketSize_);
    for (unsigned i = 0; i < want; ++i)
      receive_->headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    // MSG_TRUNC: each msg_len is the datagram's real length, so a cut one
    // is reported with its size.
    int n = ::recvmmsg(fd_, receive_->headers.data(), want, MSG_TRUNC, nullptr);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        // Woken with nothing to read: an error queue (IP_RECVERR) keeps
        // the socket in POLLERR until it is emptied, or the loop spins.
        if (!readAny) drainErrors();
        break;
      }
      if (err == ECONNREFUSED) {
        refused();
        break;
      }
      // An error the kernel queued for the socket (an ICMP answer to an
      // earlier send): this read consumed it. Reported, and the port goes on.
      log().warn("{port}: receive failed: {error}",
                 {{"port", logPrefix()}, {"error", errnoText(err)}});
      break;
    }
    readAny = true;
    dispatching_ = true;
    for (int i = 0; i < n && listening_; ++i) {
      const mmsghdr& h = receive_->headers[static_cast<unsigned>(i)];
      std::size_t size = h.msg_len;
      auto* from = static_cast<const sockaddr*>(h.msg_hdr.msg_name);
      socklen_t fromLength = h.msg_hdr.msg_namelen;
      // Counted as at least 256 bytes: tiny datagrams too leave room for
      // other descriptors within a turn (at most 1,024 of them).
      delivered += std::max<std::size_t>(std::min(size, maxPacketSize_), 256);
      try {
        if ((h.msg_hdr.msg_flags & MSG_TRUNC) || size > maxPacketSize_) {
          truncated(size, from, fromLength);
        } else {
          deliver(std::string_view(static_cast<const char*>(h.msg_hdr.msg_iov->iov_base), size),
                  from, fromLength);
        }
      } catch (...) {
        // One bad datagram (or handler) does not stop the port.
        log().failure("Unhandled error in {protocol}.datagramReceived", Failure::current(),
                      {{"protocol", protocolPrefix()}});
      }
    }
    dispatching_ = false;
    // The batch's answers, together, while the bytes they borrow are valid.
    if (!queue_.empty()) flush();
    if (static_cast<unsigned>(n) < want) break;  // drained for now
    if (batch_ < most) batch_ = std::min(batch_ * 2, most);
  }
  return {};
}

IOResult DatagramPort::doWrite() {
  flush();
  return {};
}

void DatagramPort::send(std::string_view datagram, const SocketAddress* to) {
  if (fd_ < 0) return;  // a closed port: ignored, as a closed stream's write
  if (datagram.size() > maxDatagram_) [[unlikely]]
    tooLong(datagram.size());
  if (dispatching_) {
    // With the batch being delivered; an echo's bytes are borrowed from
    // the receive buffer until the batch is sent.
    enqueue(datagram, to, receive_ && receive_->holds(datagram));
  } else if (!queue_.empty()) {
    enqueue(datagram, to, false);  // behind what waits
    setWriting(true);
  } else {
    sendNow(datagram, to);
  }
}

void DatagramPort::sendNow(std::string_view datagram, const SocketAddress* to) {
  bool retried = false;
  for (;;) {
    ssize_t r =
        to ? ::sendto(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL, to->get(), to->length)
           : ::send(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL);
    if (r >= 0) return;
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      // The kernel's buffer is full: the datagram waits its turn.
      enqueue(datagram, to, false);
      setWriting(true);
      return;
    }
    if (err == ECONNREFUSED && !retried) {
      // Connected, the peer is gone: connectionRefused, and the datagram
      // is dropped (Twisted's rule). Unconnected, the error is an earlier
      // datagram's "port unreachable", cleared by this call: this one was
      // not sent and goes again (a second refusal is its own, and typed).
      refused();
      if (isConnected() || fd_ < 0) return;
      retried = true;
      continue;
    }
    sendError(err, datagram.size()).raiseException();
  }
}

void DatagramPort::tooLong(std::size_t size) const {
  throw error::MessageLengthError(std::to_string(size) + " bytes, at most " +
                                  std::to_string(maxDatagram_));
}

void DatagramPort::queueFull() const {
  throw error::DatagramBufferFullError(std::to_string(queue_.size()) + " datagrams, " +
                                       std::to_string(queuedBytes_) + " bytes wait");
}

void DatagramPort::enqueue(std::string_view datagram, const SocketAddress* to, bool borrow) {
  if (queue_.size() >= kMaxQueuedDatagrams || queuedBytes_ + datagram.size() > kMaxQueuedBytes)
      [[unlikely]]
    queueFull();
  queue_.push_back(datagram, to, borrow);
  queuedBytes_ += datagram.size();
}

void DatagramPort::ownQueued() {
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    Queued& q = queue_[i];
    if (!q.isBorrowed) continue;
    q.own(q.borrowed);
    q.isBorrowed = false;
  }
}

void DatagramPort::flush() {
  if (flushing_) return;
  flushing_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{flushing_};
  bool retried = false;
  while (!queue_.empty() && fd_ >= 0) {
    mmsghdr msgs[kMaxBatch];
    iovec iov[kMaxBatch];
    unsigned n = static_cast<unsigned>(std::min<std::size_t>(queue_.size(), kMaxBatch));
    for (unsigned i = 0; i < n; ++i) {
      Queued& q = queue_[i];
      std::string_view bytes = q.view();
      iov[i] = {const_cast<char*>(bytes.data()), bytes.size()};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      if (q.hasTo) {
        msgs[i].msg_hdr.msg_name = q.to.get();
        msgs[i].msg_hdr.msg_namelen = q.to.length;
      }
    }
    int sent = ::sendmmsg(fd_, msgs, n, MSG_NOSIGNAL);
    if (sent < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break;
      if (err == ECONNREFUSED && !retried) {
        // As in send(): connected, the head is dropped; unconnected, it
        // goes again.
        ownQueued();
        try {
          refused();
        } catch (...) {
          log().failure("Unhandled error in {protocol}.connectionRefused", Failure::current(),
                        {{"protocol", protocolPrefix()}});
        }
        if (isConnected() && !queue_.empty()) {
          queuedBytes_ -= queue_.front().view().size();
          queue_.pop_front();
        } else {
          retried = true;
        }
        continue;
      }
      retried = false;
      // The head datagram is refused; the ones behind it still go. The
      // callback may write, stop the port or turn the reactor: what waits
      // owns its bytes first, and what it throws is logged.
      ownQueued();
      Queued head = std::move(queue_.front());
      std::size_t size = head.view().size();
      queue_.pop_front();
      queuedBytes_ -= size;
      try {
        sendFailed(sendError(err, size), head.hasTo ? &head.to : nullptr);
      } catch (...) {
        log().failure("Unhandled error in {protocol}.writeFailed", Failure::current(),
                      {{"protocol", protocolPrefix()}});
      }
      continue;
    }
    retried = false;
    for (int i = 0; i < sent; ++i) queuedBytes_ -= iov[i].iov_len;
    queue_.pop_front(static_cast<std::size_t>(sent));
  }
  flushing_ = false;
  if (queue_.empty()) {
    setWriting(false);
    queue_.shrink();  // a burst's ring is given back (a batch needs at most 64)
  } else if (fd_ >= 0) {
    ownQueued();  // the receive buffer will be read into before they go
    setWriting(true);
  }
}

void DatagramPort::drainErrors() {
  int pending = 0;
  socklen_t len = sizeof pending;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &pending, &len);  // reads and clears it
  if (pending == ECONNREFUSED) refused();
  char control[512];
  for (int i = 0; i < 64; ++i) {  // bounded: the queue holds what arrived so far
    msghdr m{};
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    if (::recvmsg(fd_, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
  }
}

Failure DatagramPort::sendError(int err, std::size_t size) const {
  if (err == EMSGSIZE) {
    return Failure::of(error::MessageLengthError(std::to_string(size) + " bytes"));
  }
  return Failure::of(error::DatagramSendError(errnoText(err), err));
}

void DatagramPort::setWriting(bool on) {
  if (on == writing_ || (on && fd_ < 0)) return;
  writing_ = on;
  if (on) {
    reactor_.addWriter(shared_from_this());
  } else {
    reactor_.removeWriter(*this);
  }
}

void DatagramPort::closeSocket() {
  if (fd_ < 0) return;
  reactor_.removeReader(*this);
  setWriting(false);
  // What was written before the close goes if the kernel takes it now;
  // the rest is dropped, and said so.
  if (!queue_.empty()) {
    flush();
    if (!queue_.empty()) {
      log().warn("{port}: closed with {count} datagrams not sent",
                 {{"port", logPrefix()}, {"count", queue_.size()}});
      queue_.clear();
      queuedBytes_ = 0;
    }
  }
  setWriting(false);
  socketClosed();
  ::close(fd_);
  fd_ = -1;
}

Deferred<void> DatagramPort::stop() {
  // A second stop while the first is pending fires when it completes.
  if (!listening_) return closing_.join();
  listening_ = false;
  stopPending_ = true;
  // The address is free at once; the protocol is stopped and the Deferred
  // fired on the next turn, as Twisted does.
  closeSocket();
  return closing_.begin(reactor_, [self = shared_from_this()] { return self->closePort(); });
}

void DatagramPort::connectionLost(const Failure&) {
  if (std::optional<Failure> failed = closePort()) {
    log().failure("Unhandled error in {protocol}.stopProtocol", *failed,
                  {{"protocol", protocolPrefix()}});
  }
}

std::optional<Failure> DatagramPort::closePort() {
  stopPending_ = false;
  listening_ = false;
  closeSocket();
  std::optional<Failure> failed;
  if (started_) {
    started_ = false;
    log().info("({type} Port {port} Closed)", {{"type", kind()}, {"port", closedName()}});
    try {
      protocolStopped();
    } catch (...) {
      failed = Failure::current();
    }
  }
  reactor_.untrack(*this);
  return failed;
}

}  // namespace twisted::detail
