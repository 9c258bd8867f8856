// StreamPort: accepting in adaptive batches, surviving EMFILE, closing as
// Twisted's ports do.
#include "stream_port.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "../build_protocol.hpp"
#include "../errno_text.hpp"
#include "../poller/poller.hpp"
#include "reserved_fd.hpp"
#include "transport_host.hpp"
#include "twisted/internet/backlog.hpp"
#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::detail {

namespace {
const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.port");
  return instance;
}

// How long accepting pauses when the kernel cannot give us a descriptor or
// memory and the reserve cannot help.
constexpr double kAcceptBackoff = 0.1;
}  // namespace

StreamPort::StreamPort(Reactor& reactor, std::shared_ptr<Factory> factory, int backlog)
    : reactor_(reactor), factory_(std::move(factory)), backlog_(backlog) {}

StreamPort::~StreamPort() {
  if (fd_ >= 0) ::close(fd_);
}

std::string StreamPort::logPrefix() const {
  return factory_ ? factory_->logPrefix() + " (" + kind() + ")" : std::string("Port");
}

void StreamPort::logConnectionMadeFailure(const std::string& prefix) {
  log().failure("Unhandled error in {protocol}.connectionMade", Failure::current(),
                {{"protocol", prefix}});
}

void StreamPort::startListening() {
  if (listening_) return;
  if (stopPending_) {
    // The close that stopListening began would close the new socket too.
    throw std::logic_error(
        "startListening before stopListening has finished: restart once "
        "its Deferred has fired");
  }
  fd_ = bindAndListen(backlog_ < 0 ? systemMaxBacklog() : backlog_);
  try {
    // The one line per port that names the address actually bound, so that
    // a port 0 can be discovered from the log (also by `twist`'s users).
    announce();
    factory_->doStart();
  } catch (...) {
    closeSocket();  // a startFactory that throws: nothing is left bound
    throw;
  }
  factoryStarted_ = true;
  listening_ = true;
  numberAccepts_ = 100;
  ReservedFd::addUser();
  reactor_.track(shared_from_this());
  watch();
  // Where the backend accepts in the kernel (io_uring), it does, and this
  // port takes the sockets it accepted instead of calling accept. Not for
  // a socket other reactors accept from: a ring's accept takes connections
  // whether or not its loop is busy, and a shared socket is for the free.
  Completions* c = exclusive_ ? nullptr : transportHost(reactor_).completions();
  if (c && c->startAccepting(fd_)) {
    completions_ = c;
  }
}

void StreamPort::watch() {
  if (exclusive_) {
    transportHost(reactor_).addExclusiveReader(shared_from_this());
  } else {
    reactor_.addReader(shared_from_this());
  }
}

IOResult StreamPort::doRead() {
  int accepted = 0;
  while (accepted < numberAccepts_ && listening_) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd;
    int err = 0;
    if (completions_) {
      std::optional<int> taken = completions_->takeAccepted(fd_);
      if (!taken) break;
      fd = *taken;
      if (fd < 0) {
        err = -fd;
      } else if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        ::close(fd);  // reset before it was taken: as a connection that died in the backlog
        continue;
      }
    } else {
      fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) err = errno;
    }
    if (fd < 0) {
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      // The connection died in the backlog, or a firewall refused it.
      if (err == EINTR || err == ECONNABORTED || err == EPERM || err == EPROTO) continue;
      acceptFailed(err);
      break;
    }
    ++accepted;
    loggedAcceptError_ = false;
    Address peer = peerAddress(reinterpret_cast<sockaddr*>(&ss), len);
    std::shared_ptr<Protocol> protocol;
    try {
      protocol = twisted::detail::buildProtocol(*factory_, peer);
    } catch (...) {
      log().failure("Unhandled error in {factory}.buildProtocol", Failure::current(),
                    {{"factory", factory_->logPrefix()}});
    }
    if (!protocol) {  // refused
      ::close(fd);
      continue;
    }
    serve(fd, std::move(peer), std::move(protocol));
  }
  // Twisted's adaptive batch: grow after a full one, else shrink to what
  // was just accepted.
  if (accepted == numberAccepts_) {
    numberAccepts_ += 20;
  } else {
    numberAccepts_ = std::max(1, accepted);
  }
  return {};
}

void StreamPort::acceptFailed(int err) {
  if ((err == EMFILE || err == ENFILE) && ReservedFd::release()) {
    // Free one descriptor, accept and close what waits in the backlog (its
    // clients see the connection closed rather than hanging), take the
    // descriptor back. Work is bounded by the backlog, so nothing spins.
    int closed = 0;
    int backlog = backlog_ < 0 ? systemMaxBacklog() : backlog_;
    for (int i = 0; i < backlog + numberAccepts_; ++i) {
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == ECONNABORTED || errno == EINTR) continue;
        break;
      }
      ::close(fd);
      ++closed;
    }
    ReservedFd::restore();
    if (!loggedAcceptError_) {
      loggedAcceptError_ = true;
      log().error(
          "{port}: out of file descriptors ({error}); closing new connections until some are "
          "freed",
          {{"port", logPrefix()}, {"error", errnoText(err)}, {"closed", closed}});
    }
    return;
  }
  // No reserve to spend (or no memory): stop accepting for a moment so the
  // loop does not spin on a readable listening socket.
  if (!loggedAcceptError_) {
    loggedAcceptError_ = true;
    log().error("{port}: could not accept a connection ({error}); pausing accepts",
                {{"port", logPrefix()}, {"error", errnoText(err)}});
  }
  reactor_.removeReader(*this);
  std::weak_ptr<StreamPort> weak = weak_from_this();
  backoff_ = reactor_.callLater(kAcceptBackoff, [weak] {
    if (auto port = weak.lock()) port->resumeAccepting();
  });
}

void StreamPort::resumeAccepting() {
  backoff_.reset();
  // A reserve that could not be opened (the process was at its limit when
  // the port started, or when it was reopened after use) is tried again,
  // so the next EMFILE episode can drain the backlog instead of pausing.
  ReservedFd::restore();
  if (listening_) watch();
}

void StreamPort::closeSocket() {
  if (fd_ < 0) return;
  if (completions_) {
    completions_->stopAccepting(fd_);  // the kernel's accept lets go of the socket first
    completions_ = nullptr;
  }
  socketClosed();  // while the socket still holds its file's inode
  ::close(fd_);
  fd_ = -1;
}

Deferred<void> StreamPort::stopListening() {
  // A second stop while the first is pending fires when it completes.
  if (!listening_) return closing_.join();
  listening_ = false;
  stopPending_ = true;
  reactor_.removeReader(*this);
  // Close now so the address is free at once; the factory is stopped and
  // the Deferred fired on the next turn, as Twisted does. A stopFactory
  // that throws fails it, as in Twisted; the port is closed and may listen
  // again either way.
  closeSocket();
  return closing_.begin(reactor_, [self = shared_from_this()] { return self->closePort(); });
}

void StreamPort::connectionLost(const Failure&) {
  // At shutdown (or when the reactor drops the port) nobody waits on a
  // Deferred: the stopFactory error is logged, and shutdown goes on.
  if (std::optional<Failure> failed = closePort()) {
    log().failure("Unhandled error in {factory}.stopFactory", *failed,
                  {{"factory", factory_->logPrefix()}});
  }
}

std::optional<Failure> StreamPort::closePort() {
  stopPending_ = false;
  if (!factoryStarted_ && fd_ < 0) return std::nullopt;  // already closed
  listening_ = false;
  if (backoff_ && backoff_->active()) backoff_->cancel();
  backoff_.reset();
  reactor_.removeReader(*this);
  closeSocket();
  std::optional<Failure> failed;
  if (factoryStarted_) {
    factoryStarted_ = false;
    // Twisted's line, so that logs read the same: the start line names the
    // port, this one says it is free again.
    log().info("({type} Port {port} Closed)", {{"type", kind()}, {"port", closedName()}});
    ReservedFd::removeUser();
    try {
      factory_->doStop();
    } catch (...) {
      failed = Failure::current();
    }
  }
  reactor_.untrack(*this);
  return failed;
}

}  // namespace twisted::detail
