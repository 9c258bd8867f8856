// unixsock::DatagramPort and ConnectedDatagramPort: what is UNIX's own in
// a datagram port (the name, its mode and removal, the connection to one
// peer). Reading, sending and closing are the shared DatagramPort's.
#include "datagram.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <limits>
#include <stdexcept>

#include "../tcp/socket.hpp"
#include "twisted/internet/error.hpp"
#include "unix.hpp"

namespace twisted::unixsock {

namespace {

// A new datagram socket bound to `name` (if any), with `file` owning the
// path it made. @throws error::CannotListenError
int boundSocket(const std::string& name, int mode, SocketFile& file) {
  if (!name.empty()) SocketFile::checkName(name);
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    cannotListen(name, tcp::detail::errnoText(err), err);
  }
  try {
    if (!name.empty()) file.bind(fd, name, mode);
  } catch (...) {
    ::close(fd);
    file.remove();
    throw;
  }
  return fd;
}

// The sender's address: an unnamed socket's comes with no name at all.
const Address& senderOf(twisted::detail::AddressCache& cache, const sockaddr* from,
                        socklen_t length) {
  static const Address unnamed = UNIXAddress{};
  if (length <= offsetof(sockaddr_un, sun_path)) return unnamed;
  return cache.fromSockaddr(from, length, Transport::UDP);
}

std::string joined(std::span<const std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out += p;
  return out;
}

}  // namespace

// ---- DatagramPort ---------------------------------------------------------------------------

DatagramPort::DatagramPort(Reactor& reactor, std::string name,
                           std::shared_ptr<DatagramProtocol> protocol, std::size_t maxPacketSize,
                           int mode)
    : ProtocolPort(reactor, std::move(protocol), maxPacketSize),
      name_(std::move(name)),
      mode_(mode) {
  // How long a UNIX datagram may be is the socket buffer's say: the
  // kernel's EMSGSIZE, not a fixed limit.
  setMaxDatagram(std::numeric_limits<std::size_t>::max());
}

int DatagramPort::openSocket() {
  if (name_.empty()) SocketFile::checkName(name_);  // a listening port needs a name
  return boundSocket(name_, mode_, file_);
}

void DatagramPort::announce() {
  log().info("{protocol} starting on '{where}'",
             {{"protocol", protocolPrefix()}, {"where", describe(name_)}, {"path", name_}});
}

std::string DatagramPort::closedName() const {
  return describe(name_);
}

void DatagramPort::write(std::string_view datagram, const Address& to) {
  const auto* unix_ = std::get_if<UNIXAddress>(&to);
  if (!unix_) throw error::InvalidAddressError(toString(to) + ": not a UNIX address");
  const SocketAddress* sa = nullptr;
  try {
    sa = &cache_.toSockaddr(to);
  } catch (const std::invalid_argument& e) {
    throw error::InvalidAddressError(describe(unix_->name) + ": " + e.what());
  }
  send(datagram, sa);
}

void DatagramPort::writeSequence(std::span<const std::string_view> parts, const Address& to) {
  write(joined(parts), to);
}

void DatagramPort::deliver(std::string_view datagram, const sockaddr* from, socklen_t length) {
  protocol_->datagramReceived(datagram, senderOf(cache_, from, length));
}

void DatagramPort::truncated(std::size_t size, const sockaddr* from, socklen_t length) {
  protocol_->datagramTruncated(size, senderOf(cache_, from, length));
}

void DatagramPort::sendFailed(const Failure& reason, const SocketAddress* to) {
  if (!protocol_) return;
  protocol_->writeFailed(reason, to ? fromSocketAddress(to->get(), to->length) : UNIXAddress{});
}

// ---- ConnectedDatagramPort -------------------------------------------------------------------

ConnectedDatagramPort::ConnectedDatagramPort(Reactor& reactor, std::string peer,
                                             std::shared_ptr<ConnectedDatagramProtocol> protocol,
                                             std::size_t maxPacketSize, int mode,
                                             std::string bindName)
    : ProtocolPort(reactor, std::move(protocol), maxPacketSize),
      peer_(std::move(peer)),
      mode_(mode),
      bindName_(std::move(bindName)) {
  setMaxDatagram(std::numeric_limits<std::size_t>::max());
}

void ConnectedDatagramPort::startListening() {
  std::shared_ptr<ConnectedDatagramProtocol> protocol = protocol_;
  try {
    ProtocolPort::startListening();
  } catch (...) {
    // Twisted's rule: whatever went wrong binding or connecting is the
    // protocol's connectionFailed, and the port stays closed.
    if (!protocol) throw;
    protocol->connectionFailed(Failure::current());
  }
}

int ConnectedDatagramPort::openSocket() {
  int fd = boundSocket(bindName_, mode_, file_);
  SocketAddress sa;
  try {
    sa = toSocketAddress(UNIXAddress{peer_});
  } catch (const std::invalid_argument& e) {
    ::close(fd);
    file_.remove();
    throw error::ConnectError(describe(peer_) + ": " + e.what());
  }
  if (::connect(fd, sa.get(), sa.length) != 0) {
    int err = errno;
    ::close(fd);
    file_.remove();
    tcp::detail::connectError(err, describe(peer_)).raiseException();
  }
  return fd;
}

void ConnectedDatagramPort::announce() {
  log().info("{protocol} connected to '{where}'",
             {{"protocol", protocolPrefix()}, {"where", describe(peer_)}, {"path", peer_}});
}

std::string ConnectedDatagramPort::closedName() const {
  return describe(bindName_.empty() ? peer_ : bindName_);
}

void ConnectedDatagramPort::writeSequence(std::span<const std::string_view> parts) {
  write(joined(parts));
}

void ConnectedDatagramPort::deliver(std::string_view datagram, const sockaddr*, socklen_t) {
  protocol_->datagramReceived(datagram);
}

void ConnectedDatagramPort::truncated(std::size_t size, const sockaddr*, socklen_t) {
  protocol_->datagramTruncated(size, UNIXAddress{peer_});
}

void ConnectedDatagramPort::refused() {
  if (protocol_) protocol_->connectionRefused();
}

void ConnectedDatagramPort::sendFailed(const Failure& reason, const SocketAddress*) {
  if (protocol_) protocol_->writeFailed(reason, UNIXAddress{peer_});
}

}  // namespace twisted::unixsock
