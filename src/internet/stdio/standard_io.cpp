// StandardIO: stdin and stdout as one transport, over two pipe ends
// (process/pipes.hpp), as Twisted's _posixstdio is over ProcessReader and
// ProcessWriter. docs/architecture.md, "Child processes".
#include "twisted/internet/stdio.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../process/pipes.hpp"
#include "../process/producer_slot.hpp"
#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted {

namespace {

const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.stdio");
  return instance;
}

// Whether poll can watch `fd`: epoll refuses (EPERM) what is always ready,
// regular files and devices such as /dev/null, and so would any backend
// be wrong to wait for them.
bool pollable(int fd, std::uint32_t events) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return true;
  epoll_event ev{};
  ev.events = events;
  bool ok = ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 || errno != EPERM;
  ::close(ep);
  return ok;
}

bool isDone(const Failure& reason) {
  return reason.check<error::ConnectionDone>();
}

class StandardIOTransport final : public StandardIO,
                                  public IFileDescriptor,
                                  public process::PipeOwner,
                                  public std::enable_shared_from_this<StandardIOTransport> {
 public:
  static constexpr int kIn = 0, kOut = 1;

  StandardIOTransport(Reactor& reactor, std::shared_ptr<Protocol> protocol)
      : reactor_(reactor), protocol_(std::move(protocol)) {}

  void start(int stdinFd, int stdoutFd) {
    std::weak_ptr<StandardIOTransport> self = weak_from_this();
    reader_ = std::make_shared<process::ChildReader>(
        self, kIn, stdinFd, process::PipeOptions{pollable(stdinFd, EPOLLIN), false});
    writer_ = std::make_shared<process::ChildWriter>(
        self, kOut, stdoutFd, process::PipeOptions{pollable(stdoutFd, EPOLLOUT), false});
    reactor_.track(shared_from_this());
    writer_->begin(reactor_);
    reader_->begin(reactor_);
    protocol_->makeConnection(shared_from_this());
  }

  // ---- ITransport ------------------------------------------------------------
  void write(std::string_view data) override {
    if (disconnected_ || !writer_ || !writer_->open()) return;
    auto self = shared_from_this();  // a failed write can end the connection
    writer_->write(data);
    stdoutProducer_.wrote();
  }
  void writeSequence(std::span<const std::string_view> data) override {
    for (auto part : data) write(part);
  }
  using ITransport::writeSequence;

  void loseConnection() override {
    if (disconnected_ || disconnecting_) return;
    disconnecting_ = true;
    // Stdin is not closed (that would SIGPIPE whoever writes it), only no
    // longer read.
    if (reader_) reader_->pause();
    if (writer_ && writer_->open()) {
      writer_->close();  // its end, once flushed, ends the connection
    } else {
      connectionLost(Failure::of(error::ConnectionDone()));
    }
  }
  void loseWriteConnection() override {
    if (writer_ && writer_->open()) writer_->close();
  }
  Deferred<void> whenLost() override {
    if (disconnected_) return succeed();
    Deferred<void> d;
    waiters_.push_back(d);
    return d;
  }
  void abortConnection() override {
    if (!disconnected_) connectionLost(Failure::of(error::ConnectionAborted()));
  }
  bool disconnecting() const override { return disconnecting_; }
  Address getPeer() const override { return PipeAddress{}; }
  Address getHost() const override { return PipeAddress{}; }
  void setWriteBufferLimits(std::size_t high, std::size_t low, bool) override {
    stdoutProducer_.setLimits(high, low);
  }
  std::size_t writeBufferSize() const override { return writer_ ? writer_->queued() : 0; }
  IReactorTime* clock() const override { return &reactor_; }

  // ---- IConsumer -----------------------------------------------------------------
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override {
    stdoutProducer_.registerProducer(std::move(producer), streaming,
                                     disconnected_ ? nullptr : writer_);
  }
  void unregisterProducer() override { stdoutProducer_.unregisterProducer(); }

  // ---- IPushProducer: what stdin gives ---------------------------------------
  void pauseProducing() override {
    if (reader_) reader_->pause();
  }
  void resumeProducing() override {
    if (reader_ && !disconnecting_) reader_->resume();
  }
  void stopProducing() override { loseConnection(); }

  // ---- IFileDescriptor: tracked, never watched ----------------------------
  int fileno() const override { return -1; }
  std::string logPrefix() const override { return "StandardIO"; }

  /// The end, once (also the reactor's, at shutdown).
  void connectionLost(const Failure& reason) override {
    if (disconnected_) return;
    disconnected_ = true;
    auto self = shared_from_this();
    if (reader_) reader_->abort();
    if (writer_) writer_->abort();
    reader_.reset();
    writer_.reset();
    stdoutProducer_.ended();
    reactor_.untrack(*this);
    std::shared_ptr<Protocol> protocol = std::move(protocol_);
    try {
      protocol->connectionLost(reason);
    } catch (...) {
      log().failure("Unhandled error in {protocol}.connectionLost", Failure::current(),
                    {{"protocol", protocol->logPrefix()}});
    }
    for (auto& d : std::exchange(waiters_, {})) d.callback();
  }

  // ---- PipeOwner ---------------------------------------------------------------------
  void pipeDataReceived(int, std::string_view data) override {
    if (disconnected_ || disconnecting_) return;
    try {
      protocol_->dataReceived(data);
    } catch (...) {
      log().failure("Unhandled error in {protocol}.dataReceived", Failure::current(),
                    {{"protocol", protocol_->logPrefix()}});
      connectionLost(Failure::current());
    }
  }

  void pipeQueueShrank(int, std::size_t queued) override { stdoutProducer_.shrank(queued); }

  void pipeConnectionLost(int name, const Failure& reason) override {
    if (disconnected_) return;
    if (!isDone(reason)) {
      connectionLost(reason);
      return;
    }
    auto* halfCloseable = dynamic_cast<IHalfCloseableProtocol*>(protocol_.get());
    if (name == kIn) {
      readEnded_ = true;
      if (!halfCloseable) {
        loseConnection();  // what is written is flushed first
      } else if (writeEnded_) {
        connectionLost(reason);
      } else {
        notify([&] { halfCloseable->readConnectionLost(); });
      }
      return;
    }
    writeEnded_ = true;
    stdoutProducer_.ended();  // nothing more will be consumed
    if (disconnecting_ || readEnded_ || !halfCloseable) {
      connectionLost(reason);
    } else {
      notify([&] { halfCloseable->writeConnectionLost(); });
    }
  }

 private:
  template <class F>
  void notify(F f) {
    try {
      f();
    } catch (...) {
      log().failure("Unhandled error in {protocol}", Failure::current(),
                    {{"protocol", protocol_->logPrefix()}});
      connectionLost(Failure::current());
    }
  }

  Reactor& reactor_;
  std::shared_ptr<Protocol> protocol_;
  std::shared_ptr<process::ChildReader> reader_;
  std::shared_ptr<process::ChildWriter> writer_;
  std::vector<Deferred<void>> waiters_;             // whenLost
  process::ProducerSlot stdoutProducer_{reactor_};  // IConsumer of stdout
  bool disconnecting_ = false;
  bool disconnected_ = false;
  bool readEnded_ = false;
  bool writeEnded_ = false;
};

}  // namespace

std::shared_ptr<StandardIO> StandardIO::create(Reactor& reactor, std::shared_ptr<Protocol> protocol,
                                               int stdinFd, int stdoutFd) {
  if (!protocol) throw std::invalid_argument("StandardIO needs a protocol");
  if (stdinFd == stdoutFd) {
    throw std::invalid_argument("StandardIO: stdin and stdout must be different descriptors");
  }
  for (int fd : {stdinFd, stdoutFd}) {
    if (::fcntl(fd, F_GETFL) < 0) {
      throw std::invalid_argument("StandardIO: descriptor " + std::to_string(fd) + " is not open");
    }
  }
  auto transport = std::make_shared<StandardIOTransport>(reactor, std::move(protocol));
  transport->start(stdinFd, stdoutFd);
  return transport;
}

}  // namespace twisted
