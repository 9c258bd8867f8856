// tcp::Connection: what a TCP connection adds to the shared stream
// transport (socket options, addresses), and the transport's instantiation
// for TCP (Twisted's tcp.Connection over abstract.FileDescriptor).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "../stream/stream_transport_impl.hpp"
#include "socket.hpp"
#include "tcp.hpp"

template class twisted::detail::StreamTransport<twisted::ITCPTransport, twisted::detail::SocketIO>;

namespace twisted::tcp {

std::string Connection::logPrefix() const {
  TcpCold& c = tcpCold();
  if (c.prefix.empty() && protocol()) c.prefix = prefixFor(*protocol());
  return c.prefix.empty() ? std::string("Connection") : c.prefix;
}

void Connection::beforeClose() {
  (void)getHost();  // answers after close
}

Address Connection::getHost() const {
  TcpCold& c = tcpCold();
  if (!c.host && fd() >= 0) c.host = detail::localAddress(fd());
  return c.host ? *c.host : Address{IPv4Address{}};
}

void Connection::setPeer(const Address& address) {
  SocketAddress sa = toSocketAddress(address);
  std::memcpy(&peer_, &sa.storage, std::min<std::size_t>(sa.length, sizeof peer_));
}

Address Connection::getPeer() const {
  if (peer_.sa.sa_family == AF_UNSPEC && fd() >= 0) {
    socklen_t length = sizeof peer_;
    if (::getpeername(fd(), &peer_.sa, &length) != 0) peer_.sa.sa_family = AF_UNSPEC;
  }
  if (peer_.sa.sa_family == AF_INET) return fromSocketAddress(&peer_.sa, sizeof peer_.v4);
  if (peer_.sa.sa_family == AF_INET6) return fromSocketAddress(&peer_.sa, sizeof peer_.v6);
  return Address{IPv4Address{}};
}

namespace {
bool getFlag(int fd, int level, int option) {
  int value = 0;
  socklen_t len = sizeof value;
  if (fd < 0 || ::getsockopt(fd, level, option, &value, &len) != 0) return false;
  return value != 0;
}
void setFlag(int fd, int level, int option, bool enabled) {
  int value = enabled ? 1 : 0;
  if (fd >= 0) ::setsockopt(fd, level, option, &value, sizeof value);
}
}  // namespace

bool Connection::getTcpNoDelay() const {
  return getFlag(fd(), IPPROTO_TCP, TCP_NODELAY);
}
void Connection::setTcpNoDelay(bool enabled) {
  setFlag(fd(), IPPROTO_TCP, TCP_NODELAY, enabled);
}
bool Connection::getTcpKeepAlive() const {
  return getFlag(fd(), SOL_SOCKET, SO_KEEPALIVE);
}
void Connection::setTcpKeepAlive(bool enabled) {
  setFlag(fd(), SOL_SOCKET, SO_KEEPALIVE, enabled);
}

}  // namespace twisted::tcp
