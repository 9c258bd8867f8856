// tcp::Client: resolve, connect without blocking, then a Connection.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "socket.hpp"
#include "tcp.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted::tcp {

Client::Client(twisted::detail::TransportHost& host, std::shared_ptr<Connector> connector)
    : Connection(host), connector_(std::move(connector)) {
  // A client keeps reading while its buffer is full: if both ends of a
  // connection stopped reading, two writers would wait on each other forever.
  setWriteBufferLimits(kDefaultHighWater, kDefaultLowWater, /*pauseReading=*/false);
}

void Client::begin() {
  // Even for a literal address or a resolver that answers at once.
  twisted::detail::attemptOnNextTurn(*this, &Client::resolve);
}

void Client::resolve() {
  if (phase() != twisted::detail::Phase::Unconnected) return;
  const std::string& host = connector_->host();
  int port = connector_->port();
  if (std::optional<Address> literal = detail::literalAddress(host, port)) {
    resolved(*literal);
    return;
  }
  // connectTCP resolves names to IPv4, as Twisted's does; HostnameEndpoint
  // is the way to reach IPv6 by name.
  std::weak_ptr<Client> weak = std::static_pointer_cast<Client>(shared_from_this());
  resolvingActive_ = true;
  resolving_ =
      connector_->reactor().nameResolver().resolveHostName(host, port, AddressFamily::IPv4);
  resolving_.addCallbacks(
      [weak](std::vector<Address> addresses) {
        auto client = weak.lock();
        if (!client || !client->resolvingActive_) return;
        client->resolvingActive_ = false;
        if (addresses.empty()) {
          client->failIfNotConnected(
              Failure::of(error::DNSLookupError("no address for " + client->connector_->host())));
        } else {
          client->resolved(addresses.front());
        }
      },
      [weak](const Failure& why) {
        auto client = weak.lock();
        if (!client || !client->resolvingActive_) return;
        client->resolvingActive_ = false;
        client->failIfNotConnected(why);
      });
}

void Client::resolved(const Address& address) {
  if (phase() != twisted::detail::Phase::Unconnected) return;
  realAddress_ = address;
  setPeer(address);
  SocketAddress sa = toSocketAddress(address);
  const std::string where = detail::describe(connector_->host(), connector_->port());
  try {
    setFd(detail::makeSocket(sa.storage.ss_family));
  } catch (const std::system_error& e) {
    failIfNotConnected(
        Failure::of(error::ConnectError(where + ": " + detail::errnoText(e.code().value()))));
    return;
  }
  if (const std::optional<BindAddress>& bind = connector_->bindAddress()) {
    std::optional<Address> local = detail::literalAddress(
        bind->host.empty() ? (sa.storage.ss_family == AF_INET6 ? "::" : "0.0.0.0") : bind->host,
        bind->port);
    std::string bindWhere = detail::describe(bind->host, bind->port);
    if (!local) {
      failIfNotConnected(Failure::of(error::ConnectBindError(bindWhere + ": not an IP address")));
      return;
    }
    SocketAddress lsa = toSocketAddress(*local);
    int one = 1;
    ::setsockopt(fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd(), reinterpret_cast<const sockaddr*>(&lsa.storage), lsa.length) != 0) {
      int err = errno;
      failIfNotConnected(
          Failure::of(error::ConnectBindError(bindWhere + ": " + detail::errnoText(err))));
      return;
    }
  }
  int rc;
  do {
    rc = ::connect(fd(), reinterpret_cast<const sockaddr*>(&sa.storage), sa.length);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) {
    connectDone();
    return;
  }
  int err = errno;
  if (err == EINPROGRESS || err == EALREADY) {
    startWriting();  // writable once the handshake ends, either way
    return;
  }
  failIfNotConnected(detail::connectError(err, where));
}

IOResult Client::doConnect() {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY) return {};
  if (err != 0)
    return detail::connectError(err, detail::describe(connector_->host(), connector_->port()));
  connectDone();
  return {};
}

void Client::connectDone() {
  stopWriting();
  std::shared_ptr<Connector> connector = connector_;
  std::shared_ptr<Protocol> protocol = connector->buildProtocol(*realAddress_);
  if (!protocol) {
    failIfNotConnected(Failure::of(error::NoProtocol()));
    return;
  }
  startConnection(fd(), std::move(protocol));
}

IOResult Client::doRead() {
  if (phase() == twisted::detail::Phase::Unconnected) return doConnect();
  return Connection::doRead();
}

IOResult Client::doWrite() {
  if (phase() == twisted::detail::Phase::Unconnected) return doConnect();
  return Connection::doWrite();
}

void Client::failIfNotConnected(const Failure& reason) {
  if (phase() != twisted::detail::Phase::Unconnected) return;
  auto self = shared_from_this();
  markDisconnected();
  if (resolvingActive_) {
    resolvingActive_ = false;
    resolving_.cancel();
  }
  stopReading();
  stopWriting();
  closeDescriptor(true);
  if (std::shared_ptr<Connector> connector = std::move(connector_)) {
    connector->connectionFailed(reason);
  }
  host().untrack(*this);
}

void Client::connectionLost(const Failure& reason) {
  if (phase() == twisted::detail::Phase::Unconnected) {
    // A backend may report a failed handshake as a hang-up without calling
    // doWrite; the socket still holds the real reason.
    int err = 0;
    socklen_t len = sizeof err;
    if (fd() >= 0 && ::getsockopt(fd(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
      failIfNotConnected(
          detail::connectError(err, detail::describe(connector_->host(), connector_->port())));
      return;
    }
    failIfNotConnected(reason);
    return;
  }
  Connection::connectionLost(reason);
}

std::string Client::prefixFor(const Protocol& protocol) const {
  return protocol.logPrefix() + ",client";
}

void Client::afterConnectionLost(const Failure& reason) {
  if (std::shared_ptr<Connector> connector = std::move(connector_)) {
    connector->connectionLost(reason);
  }
}

}  // namespace twisted::tcp
