// unixsock::Client: connect to a path or an abstract name, then a
// Connection. A non-blocking UNIX connect answers at once (done, refused,
// no such file, or EAGAIN: the server's backlog is full), so there is no
// handshake to wait for.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "../tcp/socket.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"
#include "unix.hpp"

namespace twisted::unixsock {

Client::Client(twisted::detail::TransportHost& host, std::shared_ptr<Connector> connector)
    : Connection(host, "", connector->name()), connector_(std::move(connector)) {
  // As TCP's client: keep reading while the write queue is full, so that two
  // peers that both stopped reading cannot wait on each other forever.
  setWriteBufferLimits(kDefaultHighWater, kDefaultLowWater, /*pauseReading=*/false);
}

void Client::begin() {
  twisted::detail::attemptOnNextTurn(*this, &Client::attempt);
}

void Client::attempt() {
  if (phase() != twisted::detail::Phase::Unconnected || !connector_) return;
  const std::string& name = connector_->name();
  const std::string where = describe(name);
  if (connector_->checkPID() && !isAbstract(name) && !LockFile::isLocked(name + ".lock")) {
    failIfNotConnected(
        Failure::of(error::BadFileError(where + ": no live server holds " + name + ".lock")));
    return;
  }
  SocketAddress sa;
  try {
    sa = toSocketAddress(UNIXAddress{name});
  } catch (const std::invalid_argument& e) {
    failIfNotConnected(Failure::of(error::ConnectError(where + ": " + e.what())));
    return;
  }
  try {
    setFd(tcp::detail::makeSocket(AF_UNIX));
  } catch (const std::system_error& e) {
    failIfNotConnected(
        Failure::of(error::ConnectError(where + ": " + tcp::detail::errnoText(e.code().value()))));
    return;
  }
  int rc;
  do {
    rc = ::connect(fd(), sa.get(), sa.length);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    Failure why = tcp::detail::connectError(err, where);
    if (err == EAGAIN) {
      why = Failure::of(error::ConnectError(where + ": " + tcp::detail::errnoText(err) +
                                            " (the server's backlog is full)"));
    }
    failIfNotConnected(why);
    return;
  }
  std::shared_ptr<Connector> connector = connector_;
  std::shared_ptr<Protocol> protocol;
  try {
    protocol = connector->buildProtocol(UNIXAddress{name});
  } catch (...) {
    // Run from a delayed call, not a dispatch: nobody else would tell the
    // connector (TCP's attempt runs in doWrite, whose failures the reactor
    // turns into connectionLost).
    Failure why = Failure::current();
    log().failure("Unhandled error in {factory}.buildProtocol", why, {{"factory", where}});
    failIfNotConnected(why);
    return;
  }
  if (!protocol) {
    failIfNotConnected(Failure::of(error::NoProtocol()));
    return;
  }
  try {
    startConnection(fd(), std::move(protocol));
  } catch (...) {
    log().failure("Unhandled error in {protocol}.connectionMade", Failure::current(),
                  {{"protocol", logPrefix()}});
    abortConnection();
  }
}

void Client::failIfNotConnected(const Failure& reason) {
  if (phase() != twisted::detail::Phase::Unconnected) return;
  auto self = shared_from_this();
  markDisconnected();
  stopReading();
  stopWriting();
  if (fd() >= 0) closeDescriptor(true);
  if (std::shared_ptr<Connector> connector = std::move(connector_)) {
    connector->connectionFailed(reason);
  }
  host().untrack(*this);
}

void Client::connectionLost(const Failure& reason) {
  if (phase() == twisted::detail::Phase::Unconnected) {
    failIfNotConnected(reason);  // shutdown before the attempt ran
    return;
  }
  Connection::connectionLost(reason);
}

std::string Client::logPrefix() const {
  return protocol() ? protocol()->logPrefix() + ",client" : std::string("UNIXClient");
}

void Client::afterConnectionLost(const Failure& reason) {
  if (std::shared_ptr<Connector> connector = std::move(connector_)) {
    connector->connectionLost(reason);
  }
}

}  // namespace twisted::unixsock
