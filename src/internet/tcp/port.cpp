// tcp::Port: a listening socket that accepts connections in adaptive
// batches and survives running out of descriptors.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "../build_protocol.hpp"
#include "socket.hpp"
#include "tcp.hpp"
#include "twisted/internet/backlog.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/pool.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::tcp {

namespace {
const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.tcp");
  return instance;
}

// How long accepting pauses when the kernel cannot give us a descriptor or
// memory and the reserve cannot help.
constexpr double kAcceptBackoff = 0.1;
}  // namespace

Port::Port(Reactor& reactor, int port, std::shared_ptr<Factory> factory, int backlog,
           std::string interface)
    : reactor_(reactor),
      port_(port),
      factory_(std::move(factory)),
      backlog_(backlog),
      interface_(std::move(interface)) {}

Port::~Port() {
  if (fd_ >= 0) ::close(fd_);
}

std::string Port::logPrefix() const {
  return factory_ ? factory_->logPrefix() + " (TCP)" : std::string("Port");
}

void Port::startListening() {
  if (listening_) return;
  if (stopPending_) {
    // The close that stopListening began would close the new socket too.
    throw std::logic_error(
        "startListening before stopListening has finished: restart once "
        "its Deferred has fired");
  }
  std::string where = detail::describe(interface_.empty() ? "0.0.0.0" : interface_, port_);
  if (port_ < 0 || port_ > 65535) {
    throw error::CannotListenError(where + ": port out of range 0-65535");
  }
  std::optional<Address> address =
      detail::literalAddress(interface_.empty() ? "0.0.0.0" : interface_, port_);
  if (!address) {
    throw error::CannotListenError(where + ": the interface must be an IPv4 or IPv6 address");
  }
  SocketAddress sa = toSocketAddress(*address);
  int fd = -1;
  try {
    fd = detail::makeSocket(sa.storage.ss_family);
  } catch (const std::system_error& e) {
    throw error::CannotListenError(where + ": " + detail::errnoText(e.code().value()),
                                   e.code().value());
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // An IPv6 port is IPv6 only, whatever net.ipv6.bindv6only says, so that
  // one port number can be listened on for each family (tcp:8000 and
  // tcp6:8000) as nginx and Go's "tcp6" do; on Debian's default (0) the
  // IPv6 socket would claim IPv4 too and the second listen fail.
  if (sa.storage.ss_family == AF_INET6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  int backlog = backlog_ < 0 ? systemMaxBacklog() : backlog_;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa.storage), sa.length) != 0 ||
      ::listen(fd, backlog) != 0) {
    int err = errno;
    ::close(fd);
    throw error::CannotListenError(where + ": " + detail::errnoText(err), err);
  }
  fd_ = fd;
  family_ = sa.storage.ss_family;
  bound_ = detail::localAddress(fd_);
  // The one line per port that names the address actually bound, so that a
  // port 0 can be discovered from the log (also by `twist`'s users).
  int realPort = 0;
  std::string host;
  if (const auto* v4 = std::get_if<IPv4Address>(&*bound_)) {
    realPort = v4->port;
    host = v4->host;
  }
  if (const auto* v6 = std::get_if<IPv6Address>(&*bound_)) {
    realPort = v6->port;
    host = v6->host;
  }
  realPort_ = realPort;
  bool v6 = host.find(':') != std::string::npos;
  log().info("{factory} starting on {where}",
             {{"factory", factory_->logPrefix()},
              {"where", (v6 ? "[" + host + "]" : host) + ":" + std::to_string(realPort)},
              {"host", host},
              {"port", realPort},
              {"address", toString(*bound_)}});
  factory_->doStart();
  factoryStarted_ = true;
  listening_ = true;
  numberAccepts_ = 100;
  detail::ReservedFd::addUser();
  reactor_.track(shared_from_this());
  reactor_.addReader(shared_from_this());
}

IOResult Port::doRead() {
  int accepted = 0;
  while (accepted < numberAccepts_ && listening_) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      // The connection died in the backlog, or a firewall refused it.
      if (err == EINTR || err == ECONNABORTED || err == EPERM || err == EPROTO) continue;
      acceptFailed(err);
      break;
    }
    ++accepted;
    loggedAcceptError_ = false;
    Address peer = fromSocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
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
    auto server = makePooled<Server>(twisted::detail::transportHost(reactor_), factory_,
                                     std::move(peer), sessionno_++);
    try {
      server->start(fd, std::move(protocol));
    } catch (...) {
      log().failure("Unhandled error in {protocol}.connectionMade", Failure::current(),
                    {{"protocol", server->logPrefix()}});
      server->abortConnection();
    }
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

void Port::acceptFailed(int err) {
  if ((err == EMFILE || err == ENFILE) && detail::ReservedFd::release()) {
    // Free one descriptor, accept and close what waits in the backlog (its
    // clients see the connection closed rather than hanging), take the
    // descriptor back. Work is bounded by the backlog, so nothing spins.
    int closed = 0;
    for (int i = 0; i < backlog_ + numberAccepts_; ++i) {
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == ECONNABORTED || errno == EINTR) continue;
        break;
      }
      ::close(fd);
      ++closed;
    }
    detail::ReservedFd::restore();
    if (!loggedAcceptError_) {
      loggedAcceptError_ = true;
      log().error(
          "{port}: out of file descriptors ({error}); closing new connections until some are "
          "freed",
          {{"port", logPrefix()}, {"error", detail::errnoText(err)}, {"closed", closed}});
    }
    return;
  }
  // No reserve to spend (or no memory): stop accepting for a moment so the
  // loop does not spin on a readable listening socket.
  if (!loggedAcceptError_) {
    loggedAcceptError_ = true;
    log().error("{port}: could not accept a connection ({error}); pausing accepts",
                {{"port", logPrefix()}, {"error", detail::errnoText(err)}});
  }
  reactor_.removeReader(*this);
  std::weak_ptr<Port> weak = weak_from_this();
  backoff_ = reactor_.callLater(kAcceptBackoff, [weak] {
    if (auto port = weak.lock()) port->resumeAccepting();
  });
}

void Port::resumeAccepting() {
  backoff_.reset();
  // A reserve that could not be opened (the process was at its limit when
  // the port started, or when it was reopened after use) is tried again,
  // so the next EMFILE episode can drain the backlog instead of pausing.
  detail::ReservedFd::restore();
  if (listening_) reactor_.addReader(shared_from_this());
}

Deferred<void> Port::stopListening() {
  Deferred<void> done;
  if (!listening_) {
    done.callback();
    return done;
  }
  listening_ = false;
  stopPending_ = true;
  reactor_.removeReader(*this);
  // Close now so the port number is free at once; the factory is stopped
  // and the Deferred fired on the next turn, as Twisted does.
  ::close(fd_);
  fd_ = -1;
  std::shared_ptr<Port> self = shared_from_this();
  reactor_.callLater(0, [self, done]() mutable {
    // A stopFactory that throws fails this Deferred, as in Twisted; the
    // port is closed and may listen again either way.
    if (std::optional<Failure> failed = self->closePort()) {
      done.errback(std::move(*failed));
    } else {
      done.callback();
    }
  });
  return done;
}

void Port::connectionLost(const Failure&) {
  // At shutdown (or when the reactor drops the port) nobody waits on a
  // Deferred: the stopFactory error is logged, and shutdown goes on.
  if (std::optional<Failure> failed = closePort()) {
    log().failure("Unhandled error in {factory}.stopFactory", *failed,
                  {{"factory", factory_->logPrefix()}});
  }
}

std::optional<Failure> Port::closePort() {
  stopPending_ = false;
  if (!factoryStarted_ && fd_ < 0) return std::nullopt;  // already closed
  listening_ = false;
  if (backoff_ && backoff_->active()) backoff_->cancel();
  backoff_.reset();
  reactor_.removeReader(*this);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  std::optional<Failure> failed;
  if (factoryStarted_) {
    factoryStarted_ = false;
    // Twisted's line, so that logs read the same: the start line names the
    // port, this one says it is free again.
    log().info("({type} Port {port} Closed)", {{"type", "TCP"}, {"port", realPort_}});
    detail::ReservedFd::removeUser();
    try {
      factory_->doStop();
    } catch (...) {
      failed = Failure::current();
    }
  }
  reactor_.untrack(*this);
  return failed;
}

Address Port::getHost() const {
  if (bound_) return *bound_;
  return IPv4Address{Transport::TCP, interface_.empty() ? "0.0.0.0" : interface_,
                     static_cast<std::uint16_t>(port_)};
}

}  // namespace twisted::tcp
