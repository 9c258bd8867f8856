// DatagramPort: a datagram socket, whatever its address family (the part
// of Twisted's udp.Port that UDP and UNIX datagram ports share).
// Internal. See docs/architecture.md, "Datagram ports".
//
// The base reads in batches (recvmmsg, the batch growing while the socket
// keeps it full, bounded per turn so other descriptors are served), drops
// and reports datagrams longer than maxPacketSize (MSG_TRUNC), delivers
// each to the kind, sends what was written during a batch together
// (sendmmsg; an echo's reply is sent from the buffer it was read into),
// keeps datagrams the kernel cannot take yet in a bounded queue, and closes
// as Twisted does. A kind says how to open its socket, how to deliver and
// report to its protocol, and how to name itself in log lines.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../close_on_next_turn.hpp"
#include "send_queue.hpp"
#include "twisted/internet/address.hpp"
#include "twisted/internet/deferred.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/python/failure.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::detail {

class DatagramPort : public IReadWriteDescriptor,
                     public std::enable_shared_from_this<DatagramPort> {
 public:
  /// Most datagrams waiting in the send queue, and most bytes.
  static constexpr std::size_t kMaxQueuedDatagrams = 1024;
  static constexpr std::size_t kMaxQueuedBytes = 4 << 20;
  /// Most bytes one doRead delivers before other descriptors get a turn
  /// (Twisted's maxThroughput).
  static constexpr std::size_t kMaxThroughput = 256 << 10;
  /// Most datagrams one receive or send call carries.
  static constexpr unsigned kMaxBatch = 64;
  /// The largest maxPacketSize honoured (larger is this): more than any
  /// socket buffer lets one datagram be.
  static constexpr std::size_t kMaxPacketSize = 16 << 20;

  ~DatagramPort() override;

  int fileno() const final { return fd_; }
  IOResult doRead() final;
  IOResult doWrite() final;
  /// A queued ICMP error is the next receive's to report.
  bool readsQueuedErrors() const final { return true; }
  void connectionLost(const Failure& reason) final;

  /// True from a successful open until stopListening or shutdown.
  bool listening() const { return listening_; }
  std::size_t queued() const { return queue_.size(); }
  /// How many datagrams the next receive call asks for (adapts to load).
  unsigned batchSize() const { return batch_; }

 protected:
  DatagramPort(Reactor& reactor, std::size_t maxPacketSize);

  /// Makes, binds (and for a connected kind connects) the socket,
  /// non-blocking and close-on-exec, and returns it.
  /// @throws error::CannotListenError (or what the kind documents)
  virtual int openSocket() = 0;
  /// Logs the line that says where the port now listens.
  virtual void announce() = 0;
  /// What the "(KIND Port NAME Closed)" line names.
  virtual std::string closedName() const = 0;
  /// "UDP", "UNIX": the kind, in log lines.
  virtual const char* kind() const = 0;
  /// Gives the protocol its transport (makeConnection, doStart).
  virtual void protocolStarted() = 0;
  /// Stops the protocol (doStop) and lets go of it.
  virtual void protocolStopped() = 0;
  /// Delivers one datagram from `from`.
  virtual void deliver(std::string_view datagram, const sockaddr* from, socklen_t length) = 0;
  /// A datagram of `size` bytes from `from` was too long and dropped.
  virtual void truncated(std::size_t size, const sockaddr* from, socklen_t length) = 0;
  /// The kernel reported ECONNREFUSED (a connected socket's peer is gone).
  virtual void refused() = 0;
  /// True while the socket is connected to one peer (a send's
  /// ECONNREFUSED is then that peer's, not an earlier datagram's).
  virtual bool isConnected() const { return false; }
  /// A datagram written inside a batch was refused by the kernel.
  virtual void sendFailed(const Failure& reason, const SocketAddress* to) = 0;
  /// Called once the socket is closed (for a UNIX path: unlink it).
  virtual void socketClosed() {}
  /// The protocol's name, for log lines.
  virtual std::string protocolPrefix() const = 0;

  /// Opens the socket, announces it, starts the protocol and reading.
  void start();
  /// Stops reading and closes the socket at once; the protocol is stopped
  /// and the Deferred fired on the next turn.
  Deferred<void> stop();
  /// Sends `datagram` to `to` (nullptr: the connected peer): at once, or
  /// behind what is queued; inside a batch, with the batch.
  /// @throws error::MessageLengthError, error::DatagramBufferFullError,
  ///   error::DatagramSendError (the kernel refused a direct send).
  void send(std::string_view datagram, const SocketAddress* to);
  /// The largest datagram the socket's family can carry at all (a longer
  /// write is refused before any system call).
  void setMaxDatagram(std::size_t n) { maxDatagram_ = n; }

  Reactor& reactor_;
  const std::size_t maxPacketSize_;

 private:
  using Queued = SendQueue::Slot;
  /// The receive side: one buffer of maxPacketSize per datagram of the
  /// batch, and the headers recvmmsg fills. Grown on demand.
  struct Receive;

  void enqueue(std::string_view datagram, const SocketAddress* to, bool borrow);
  /// send() outside a batch with nothing queued: sendto at once.
  [[gnu::noinline]] void sendNow(std::string_view datagram, const SocketAddress* to);
  /// The errors of send and enqueue, out of their way.
  [[noreturn, gnu::noinline, gnu::cold]] void tooLong(std::size_t size) const;
  [[noreturn, gnu::noinline, gnu::cold]] void queueFull() const;
  /// Sends what is queued; what the kernel cannot take stays, and the port
  /// waits to be writable.
  void flush();
  /// Copies every borrowed datagram into the queue's own memory (the
  /// receive buffer is about to be reused).
  void ownQueued();
  /// Empties the socket's pending error and error queue (read with
  /// nothing else to read), so that POLLERR ends.
  void drainErrors();
  /// What a failed send's errno means: the typed error.
  Failure sendError(int err, std::size_t size) const;
  void closeSocket();
  /// Closes and stops the protocol once; returns what a throwing
  /// stopProtocol raised.
  std::optional<Failure> closePort();
  void setWriting(bool on);

  int fd_ = -1;
  std::size_t maxDatagram_ = 65507;
  bool listening_ = false;
  bool started_ = false;      // the protocol was started and not yet stopped
  bool dispatching_ = false;  // inside a batch's deliveries
  bool writing_ = false;      // registered as a writer
  bool flushing_ = false;     // inside flush (a callback may write or stop)
  CloseOnNextTurn closing_;   // stopListening's close, and who waits for it
  bool stopPending_ = false;
  unsigned batch_ = 1;
  std::size_t queuedBytes_ = 0;
  SendQueue queue_;
  std::unique_ptr<Receive> receive_;
};

}  // namespace twisted::detail
