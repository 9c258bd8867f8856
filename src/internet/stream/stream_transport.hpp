// The shared stream transport (Twisted's abstract.FileDescriptor): one
// connected descriptor that a protocol reads from and writes to. Every
// stream transport (TCP now; UNIX sockets, pipes next) is a small adapter
// over it: docs/architecture.md, "The stream transport layer".
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "transport_host.hpp"
#include "twisted/internet/address.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"
#include "write_queue.hpp"

namespace twisted::detail {

/// How far the reactor reads ahead into a reader before dispatching to it
/// (reactor_fdset.cpp prefetches this many bytes from the object's start).
inline constexpr std::size_t kPrefetchedBytes = 192;
/// Where a pooled transport lies in its 64-byte-aligned block: after
/// shared_ptr's control block (allocate_shared). Every field a read or an
/// echo touches ends within kPrefetchedBytes - kControlBlock of the
/// object's start, so that they are the block's first three cache lines.
inline constexpr std::size_t kControlBlock = 16;

/// The lifecycle of a stream transport.
enum class Phase : std::uint8_t {
  Unconnected,   // made, not yet connected (a client still connecting)
  Connected,     // makeConnection has been called
  Disconnected,  // connectionLost has begun: nothing more is read or sent
};
/// What the user asked for, kept once asked.
enum class Closing : std::uint8_t {
  None,
  Lose,   // loseConnection: send what is queued, then close
  Abort,  // abortConnection: close now, drop what is queued
};
/// The write half (loseWriteConnection).
enum class WriteSide : std::uint8_t {
  Open,
  Closing,  // shut down once the queue drains
  Closed,
};

/// `Interface`: the public transport interface it implements (ITCPTransport
/// for TCP). `IO`: the I/O primitive, static read/send/sendv/shutdownWrite/
/// close (socket_io.hpp). The member functions are in
/// stream_transport_impl.hpp; each adapter instantiates its own.
template <class Interface, class IO>
class StreamTransport : public IReadWriteDescriptor,
                        public IHalfCloseableDescriptor,
                        public Interface,
                        public std::enable_shared_from_this<StreamTransport<Interface, IO>> {
 public:
  static constexpr std::size_t kDefaultHighWater = 64 * 1024;
  static constexpr std::size_t kDefaultLowWater = 16 * 1024;

  ~StreamTransport() override;
  StreamTransport(const StreamTransport&) = delete;
  StreamTransport& operator=(const StreamTransport&) = delete;

  // ---- ITransport ------------------------------------------------------------
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  using ITransport::writeSequence;
  void loseConnection() override;
  void abortConnection() override;
  bool disconnecting() const override { return closing_ != Closing::None; }
  void setWriteBufferLimits(std::size_t high, std::size_t low, bool pauseReading = true) override;
  std::size_t writeBufferSize() const override { return queue_.size() + sendingBytes_; }
  /// The reactor's clock.
  IReactorTime* clock() const override { return &host_.clock(); }
  /// Half-close (an adapter's loseWriteConnection): shuts the write side
  /// once the queue has drained.
  void halfClose();

  // ---- IConsumer ---------------------------------------------------------------
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override;
  void unregisterProducer() override;

  // ---- IPushProducer: the data this transport reads ------------------------
  /// Stops calling dataReceived until resumeProducing.
  void pauseProducing() override;
  void resumeProducing() override;
  /// Closes the connection (Twisted's stopProducing on a transport).
  void stopProducing() override;

  // ---- the reactor's side ------------------------------------------------------
  int fileno() const override;
  IOResult doRead() override;
  IOResult doWrite() override;
  void connectionLost(const Failure& reason) override;
  void readConnectionLost(const Failure& reason) override;

  /// The protocol; null after connectionLost.
  const std::shared_ptr<Protocol>& protocol() const { return protocol_; }
  /// Gives the connection to `next` (replaceProtocol, protocol_switch.hpp);
  /// returns the protocol it had.
  std::shared_ptr<Protocol> swapProtocol(std::shared_ptr<Protocol> next) {
    protocol_.swap(next);
    return next;
  }
  /// The reactor, as transports see it.
  TransportHost& host() const { return host_; }
  Phase phase() const { return phase_; }
  bool connected() const { return phase_ == Phase::Connected; }
  bool disconnected() const { return phase_ == Phase::Disconnected; }

 protected:
  /// State of the rarely used features, allocated on first use so that an
  /// idle connection does not carry it. An adapter extends it with its own
  /// (makeCold) rather than adding fields to every connection.
  struct Cold {
    virtual ~Cold() = default;
    std::shared_ptr<IProducer> producer;
    bool streaming = false;
    std::optional<Failure> writeError;  // a failed direct write, reported by doWrite
  };
  /// The cold block, made on first use.
  Cold& cold() const;
  /// Makes the cold block: an adapter returns its extension of Cold.
  virtual std::unique_ptr<Cold> makeCold() const { return std::make_unique<Cold>(); }

  explicit StreamTransport(TransportHost& host);
  /// Takes `fd` (connected, non-blocking) and `protocol`; registers as a
  /// reader and calls protocol->makeConnection.
  void startConnection(int fd, std::shared_ptr<Protocol> protocol);
  /// Closes the descriptor; `orderly` false resets a socket.
  void closeDescriptor(bool orderly);
  void startReading();
  void stopReading();
  void startWriting();
  void stopWriting();
  /// Before the descriptor closes in connectionLost: an adapter caches what
  /// must answer after close (its addresses).
  virtual void beforeClose() {}
  /// After the protocol's connectionLost: the adapter's own bookkeeping (a
  /// client tells its connector).
  virtual void afterConnectionLost(const Failure& reason) { (void)reason; }
  /// Marks a transport that never connected as done (a failed connect).
  void markDisconnected() { phase_ = Phase::Disconnected; }
  void setFd(int fd) { fd_ = fd; }
  int fd() const { return fd_; }
  /// True while bytes may still be written (connected, not aborted, the
  /// write side open).
  bool writable() const { return canWrite(); }

  // ---- ancillary data: only with an IO that has it (UNIX sockets'
  // descriptors, UnixSocketIO); TCP's transport compiles none of it ------------
  static constexpr bool kAncillary = requires { requires IO::kAncillary; };
  /// The descriptors waiting to go out, each with one of the next bytes
  /// sent, owned (closed once sent) by the adapter; null when there are none.
  virtual std::deque<int>* descriptorsToSend() { return nullptr; }
  /// After a read that brought ancillary data, before its dataReceived.
  virtual void ancillaryReceived() {}
  /// The adapter queued a descriptor: it is sent through doWrite (with the
  /// bytes queued, in order), and `full` pauses a streaming producer.
  void descriptorQueued(bool full);

 private:
  using Self = StreamTransport<Interface, IO>;
  // Why reading is paused; reading happens when none holds.
  enum PauseReason : std::uint8_t { kPausedByUser = 1, kPausedByQueue = 2 };
  // What the transport is registered for in the FD set.
  enum Registered : std::uint8_t { kReading = 1, kWriting = 2 };

  // True while the transport may still read and send.
  bool live() const { return phase_ == Phase::Connected && closing_ != Closing::Abort; }
  bool canWrite() const { return live() && writeSide_ != WriteSide::Closed; }
  IProducer* producer() const { return cold_ ? cold_->producer.get() : nullptr; }
  // A pull producer, or a push producer the queue paused: it writes once the queue drains.
  bool producerWantsToWrite() const { return producer() && (!cold_->streaming || producerPaused_); }

  // Sends what is queued; a failure if the descriptor is gone.
  IOResult flush();
  // Descriptors are queued: every send goes through doWrite.
  bool descriptorsWaiting() {
    if constexpr (kAncillary) {
      std::deque<int>* fds = descriptorsToSend();
      return fds && !fds->empty();
    } else {
      return false;
    }
  }
  // Sends the queued descriptors, one with each of the next queued bytes.
  IOResult sendDescriptors();
  // Sends `pieces` directly when nothing is queued; queues the rest.
  void writeNow(std::span<const std::string_view> pieces);
  // Pauses or resumes producer and reading after the queue size changed.
  void queueGrew();
  void queueShrank();
  void updateReading();
  void closeWriteSide();
  // dataReceived(bytes), the writes it makes gathered for after it; an
  // exception leaves the transport's read state as it was, and goes on.
  void deliver(std::string_view bytes);
  // After dataReceived: sends or queues a borrowed view.
  IOResult sendBorrowed();
  // ---- the completion path (comp_ set): the kernel received the bytes and
  // sends them; see docs/architecture.md, "How completions reach a transport".
  // doRead: dataReceived for each result waiting.
  IOResult readCompleted();
  // After a finished send, or with none: submits what is queued.
  IOResult flushCompleted();
  // Gives the queued bytes to the poller as the next send job.
  void submitQueued();
  // Takes the result of the send in flight, if it is done.
  IOResult reapSend();
  // After a send submitted inside dataReceived: registers for writing if
  // something waits for it to finish (more bytes, a close, a producer);
  // else the poller reports its end as readable and the read takes its
  // result, and a plain echo never changes its registration.
  void watchSend();
  // After dataReceived, when it called loseConnection: sends what is
  // queued and, if that is all, ends the connection at once.
  [[gnu::noinline]] IOResult loseAfterRead();
  // write() when the bytes cannot be borrowed; out of line, so that write's
  // own path needs no stack frame.
  [[gnu::noinline]] void writeCopied(std::string_view data);

  // ---- hot: every read and write (docs/performance.md); the prefetch
  // static_assert in stream_transport_impl.hpp pins where they end.
  int fd_ = -1;
  Phase phase_ = Phase::Unconnected;
  Closing closing_ = Closing::None;
  WriteSide writeSide_ = WriteSide::Open;
  bool readClosed_ = false;
  std::uint8_t paused_ = 0;      // PauseReason bits
  std::uint8_t registered_ = 0;  // Registered bits
  bool inRead_ = false;          // inside dataReceived: writes wait for the flush after it
  bool pauseReadingWhenFull_ = true;
  bool producerPaused_ = false;  // a streaming producer paused by a full queue
  bool writeFailed_ = false;     // cold_->writeError holds a failed direct write
  bool loseAfterRead_ =
      false;                   // loseConnection inside dataReceived: doRead ends it after the flush
  bool sendInFlight_ = false;  // completions: a send job is the poller's
  std::shared_ptr<Protocol> protocol_;
  WriteQueue queue_;
  // Inside dataReceived: the bytes just read. A write of some of them made
  // while nothing else is queued (an echo) is borrowed by the queue, not
  // copied, and sent once dataReceived returns.
  std::string_view readBytes_;
  std::uint32_t highWater_ = kDefaultHighWater;
  std::uint32_t lowWater_ = kDefaultLowWater;
  ReadArena* arena_;  // the reactor's read buffer
  // The backend's completions, when the kernel receives and sends for this
  // transport (iouring); null when it reads and sends on readiness.
  Completions* comp_ = nullptr;
  std::size_t sendingBytes_ = 0;  // completions: the bytes of the send job in flight

  // ---- cold
  TransportHost& host_;
  mutable std::unique_ptr<Cold> cold_;
};

}  // namespace twisted::detail
