// udp::Port: binding, addresses, connected mode and broadcast (Twisted's
// udp.Port). Reading, sending and closing are the shared DatagramPort's.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "../tcp/socket.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"
#include "udp.hpp"

namespace twisted::udp {

namespace {

const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.udp");
  return instance;
}

// The largest UDP payload of each family (65535 less the IP and UDP
// headers): a longer write is refused before any system call.
constexpr std::size_t kMaxIPv4Datagram = 65507;
constexpr std::size_t kMaxIPv6Datagram = 65527;

Address asUDP(Address a) {
  if (auto* v4 = std::get_if<IPv4Address>(&a)) v4->type = Transport::UDP;
  if (auto* v6 = std::get_if<IPv6Address>(&a)) v6->type = Transport::UDP;
  return a;
}

// The numeric address `host` names, or InvalidAddressError as Twisted says it.
Address numeric(std::string_view host, int port, const char* why) {
  std::optional<Address> a = tcp::detail::literalAddress(host, port);
  if (!a) throw error::InvalidAddressError(std::string(host) + ": " + why);
  return asUDP(std::move(*a));
}

}  // namespace

Port::Port(Reactor& reactor, int port, std::shared_ptr<DatagramProtocol> protocol,
           std::string interface, std::size_t maxPacketSize, bool listenMultiple)
    : ProtocolPort(reactor, std::move(protocol), maxPacketSize),
      requestedPort_(port),
      interface_(std::move(interface)),
      listenMultiple_(listenMultiple) {
  // Twisted's rule: "" is every IPv4 address; otherwise a numeric address
  // whose family is the port's.
  if (interface_.empty() || isIPAddress(interface_)) {
    family_ = AF_INET;
  } else if (isIPv6Address(interface_)) {
    family_ = AF_INET6;
  } else {
    throw error::InvalidAddressError(interface_ + ": not an IPv4 or IPv6 address");
  }
  if (port < 0 || port > 65535) {
    throw std::invalid_argument("listenUDP: port " + std::to_string(port) + " is not 0..65535");
  }
  setMaxDatagram(family_ == AF_INET ? kMaxIPv4Datagram : kMaxIPv6Datagram);
}

Port::Port(Reactor& reactor, twisted::detail::AdoptedSocket socket,
           std::shared_ptr<DatagramProtocol> protocol, std::size_t maxPacketSize)
    : ProtocolPort(reactor, std::move(protocol), maxPacketSize),
      requestedPort_(0),
      family_(socket.family()),
      listenMultiple_(false),
      adopted_(std::move(socket)),
      isAdopted_(true) {
  setBound(adopted_->fd());
  requestedPort_ = realPort_;
  interface_ = std::visit(
      [](const auto& a) -> std::string {
        if constexpr (requires { a.host; }) {
          return a.host;
        } else {
          return "";
        }
      },
      getHost());
  setMaxDatagram(family_ == AF_INET ? kMaxIPv4Datagram : kMaxIPv6Datagram);
}

void Port::setBound(int fd) {
  std::optional<Address> bound = tcp::detail::localAddress(fd);
  if (!bound) return;
  host_ = asUDP(*bound);
  realPort_ = std::visit(
      [](const auto& a) -> int {
        if constexpr (requires { a.port; }) {
          return a.port;
        } else {
          return 0;
        }
      },
      *host_);
}

int Port::openSocket() {
  std::string where = tcp::detail::describe(interface_, requestedPort_);
  if (isAdopted_) {
    if (!adopted_) {
      throw error::CannotListenError(where + ": an adopted port cannot listen again once stopped");
    }
    int fd = adopted_->release();
    adopted_.reset();
    connectedTo_.reset();
    return fd;
  }
  int fd = ::socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    throw error::CannotListenError(where + ": " + tcp::detail::errnoText(err), err);
  }
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    throw error::CannotListenError(where + ": " + what + tcp::detail::errnoText(err), err);
  };
  int on = 1;
  if (listenMultiple_) {
    // Several sockets, of this process or others, on one group's port.
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
      fail("cannot share the port: ");
    }
  }
  SocketAddress sa = toSocketAddress(numeric(interface_.empty() ? "0.0.0.0" : interface_,
                                             requestedPort_, "not an IPv4 or IPv6 address"));
  if (::bind(fd, sa.get(), sa.length) != 0) fail("");
  if (!tcp::detail::localAddress(fd)) fail("getsockname: ");
  setBound(fd);
  connectedTo_.reset();
  return fd;
}

void Port::announce() {
  // Twisted's line, which also tells the port a port 0 got.
  log().info("{protocol} starting on {port}",
             {{"protocol", protocolPrefix()}, {"port", realPort_}});
}

Address Port::getHost() const {
  if (host_) return *host_;
  std::string host = interface_.empty() ? "0.0.0.0" : interface_;
  if (family_ == AF_INET6) return IPv6Address{Transport::UDP, host, 0};
  return IPv4Address{Transport::UDP, host, 0};
}

void Port::deliver(std::string_view datagram, const sockaddr* from, socklen_t length) {
  protocol_->datagramReceived(datagram, cache_.fromSockaddr(from, length, Transport::UDP));
}

void Port::truncated(std::size_t size, const sockaddr* from, socklen_t length) {
  protocol_->datagramTruncated(size, cache_.fromSockaddr(from, length, Transport::UDP));
}

void Port::refused() {
  // Unconnected, "port unreachable" tells nothing useful (Twisted's rule).
  if (connectedTo_ && protocol_) protocol_->connectionRefused();
}

void Port::sendFailed(const Failure& reason, const SocketAddress* to) {
  if (!protocol_) return;
  Address where = to ? fromSocketAddress(to->get(), to->length, Transport::UDP)
                     : connectedTo_.value_or(getHost());
  protocol_->writeFailed(reason, where);
}

const SocketAddress& Port::destination(const Address& to) {
  bool v4 = std::holds_alternative<IPv4Address>(to);
  bool v6 = std::holds_alternative<IPv6Address>(to);
  if (!v4 && !v6) throw error::InvalidAddressError(toString(to) + ": not an IP address");
  if (v4 && family_ == AF_INET6) {
    throw error::InvalidAddressError(toString(to) +
                                     ": IPv6 port write() called with IPv4 or broadcast address");
  }
  if (v6 && family_ == AF_INET) {
    throw error::InvalidAddressError(toString(to) + ": IPv4 port write() called with IPv6 address");
  }
  try {
    return cache_.toSockaddr(to);
  } catch (const std::invalid_argument& e) {
    throw error::InvalidAddressError(toString(to) + ": " + e.what());
  }
}

void Port::write(std::string_view datagram, const Address& to) {
  if (connectedTo_) {
    writeConnected(datagram, to);
  } else if (const SocketAddress* sa = cache_.handedOut(to)) {
    // A reply to a sender, with the Address datagramReceived gave: its
    // sockaddr is at hand, and of this port's family.
    send(datagram, sa);
  } else {
    send(datagram, &destination(to));
  }
}

void Port::writeConnected(std::string_view datagram, const Address& to) {
  // Twisted: a connected port writes only to its peer.
  if (asUDP(to) != *connectedTo_) {
    throw error::InvalidAddressError(toString(to) + ": the port is connected to " +
                                     toString(*connectedTo_));
  }
  send(datagram, nullptr);
}

void Port::write(std::string_view datagram, std::string_view host, std::uint16_t port) {
  if (host == "<broadcast>") {
    if (family_ == AF_INET6) {
      throw error::InvalidAddressError(
          "<broadcast>: IPv6 port write() called with IPv4 or broadcast address");
    }
    write(datagram, IPv4Address{Transport::UDP, "255.255.255.255", port});
    return;
  }
  if (isIPAddress(host)) {
    write(datagram, IPv4Address{Transport::UDP, std::string(host), port});
  } else if (isIPv6Address(host) && host.find('%') == std::string_view::npos) {
    write(datagram, IPv6Address{Transport::UDP, std::string(host), port});
  } else {
    write(datagram, numeric(host, port, "write() only accepts IP addresses, not hostnames"));
  }
}

void Port::write(std::string_view datagram) {
  if (!connectedTo_) {
    throw std::logic_error("write() without an address on a UDP port that is not connected");
  }
  send(datagram, nullptr);
}

void Port::writeSequence(std::span<const std::string_view> parts, const Address& to) {
  std::string joined;
  for (std::string_view p : parts) joined += p;
  write(joined, to);
}

void Port::connect(std::string_view host, std::uint16_t port) {
  if (connectedTo_) {
    throw std::logic_error("already connected, reconnecting is not currently supported");
  }
  Address peer = numeric(host, port, "not an IPv4 or IPv6 address.");
  const SocketAddress& sa = destination(peer);
  if (fileno() < 0) throw error::NotListeningError("connect() on a UDP port that is not listening");
  if (::connect(fileno(), sa.get(), sa.length) != 0) {
    int err = errno;
    throw error::ConnectError(tcp::detail::describe(host, port) + ": " +
                              tcp::detail::errnoText(err));
  }
  // Recorded only once the kernel agreed, so a failed connect leaves the
  // port as it was.
  connectedTo_ = std::move(peer);
}

void Port::setBroadcastAllowed(bool enabled) {
  int on = enabled ? 1 : 0;
  if (fileno() < 0 || ::setsockopt(fileno(), SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0) {
    throw error::NotListeningError("setBroadcastAllowed on a UDP port that is not listening");
  }
}

bool Port::getBroadcastAllowed() const {
  int on = 0;
  socklen_t len = sizeof on;
  if (fileno() < 0 || ::getsockopt(fileno(), SOL_SOCKET, SO_BROADCAST, &on, &len) != 0)
    return false;
  return on != 0;
}

}  // namespace twisted::udp
