// tcp::Port: what is TCP's own in a listening port (IPv4/IPv6 binding, the
// start line); accepting and closing are the shared StreamPort's.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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
}  // namespace

Port::Port(Reactor& reactor, int port, std::shared_ptr<Factory> factory, int backlog,
           std::string interface)
    : StreamPort(reactor, std::move(factory), backlog),
      port_(port),
      interface_(std::move(interface)) {}

Port::Port(Reactor& reactor, twisted::detail::AdoptedSocket socket,
           std::shared_ptr<Factory> factory)
    : StreamPort(reactor, std::move(factory), kSystemMaxBacklog),
      port_(0),
      adopted_(std::move(socket)),
      isAdopted_(true) {}

void Port::setBound(int fd) {
  bound_ = detail::localAddress(fd);
  realPort_ = 0;
  if (!bound_) return;
  if (const auto* v4 = std::get_if<IPv4Address>(&*bound_)) realPort_ = v4->port;
  if (const auto* v6 = std::get_if<IPv6Address>(&*bound_)) realPort_ = v6->port;
}

int Port::bindAndListen(int backlog) {
  if (isAdopted_) {
    if (!adopted_) {
      throw error::CannotListenError(toString(getHost()) +
                                     ": an adopted port cannot listen again once stopped");
    }
    int fd = adopted_->release();
    adopted_.reset();
    setBound(fd);
    return fd;
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
  if (reusePort_) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // An IPv6 port is IPv6 only, whatever net.ipv6.bindv6only says, so that
  // one port number can be listened on for each family (tcp:8000 and
  // tcp6:8000) as nginx and Go's "tcp6" do; on Debian's default (0) the
  // IPv6 socket would claim IPv4 too and the second listen fail.
  if (sa.storage.ss_family == AF_INET6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa.storage), sa.length) != 0 ||
      ::listen(fd, backlog) != 0) {
    int err = errno;
    ::close(fd);
    throw error::CannotListenError(where + ": " + detail::errnoText(err), err);
  }
  setBound(fd);
  return fd;
}

void Port::announce() {
  std::string host;
  if (const auto* v4 = std::get_if<IPv4Address>(&*bound_)) host = v4->host;
  if (const auto* v6 = std::get_if<IPv6Address>(&*bound_)) host = v6->host;
  bool v6 = host.find(':') != std::string::npos;
  log().info("{factory} starting on {where}",
             {{"factory", factory_->logPrefix()},
              {"where", (v6 ? "[" + host + "]" : host) + ":" + std::to_string(realPort_)},
              {"host", host},
              {"port", realPort_},
              {"address", toString(*bound_)}});
}

void Port::serve(int fd, Address peer, std::shared_ptr<Protocol> protocol) {
  auto server = makePooled<Server>(twisted::detail::transportHost(reactor_), factory_,
                                   std::move(peer), sessionno_++);
  serveWith(server, fd, std::move(protocol));
}

Address Port::getHost() const {
  if (bound_) return *bound_;
  return IPv4Address{Transport::TCP, interface_.empty() ? "0.0.0.0" : interface_,
                     static_cast<std::uint16_t>(port_)};
}

}  // namespace twisted::tcp
