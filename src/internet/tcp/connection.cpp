// tcp::Connection: what a TCP connection adds to the shared stream
// transport (socket options, addresses), and the transport's instantiation
// for TCP (Twisted's tcp.Connection over abstract.FileDescriptor).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "../stream/stream_transport_impl.hpp"
#include "socket.hpp"
#include "tcp.hpp"

template class twisted::detail::StreamTransport<twisted::ITCPTransport, twisted::detail::SocketIO>;

namespace twisted::tcp {

std::string Connection::logPrefix() const {
  if (!prefix_.empty()) return prefix_;
  return protocol() ? protocol()->logPrefix() : std::string("Connection");
}

void Connection::beforeClose() {
  if (!host_ && fd() >= 0) host_ = detail::localAddress(fd());
}

Address Connection::getHost() const {
  if (!host_ && fd() >= 0) host_ = detail::localAddress(fd());
  return host_ ? *host_ : Address{IPv4Address{}};
}

Address Connection::getPeer() const {
  if (!peer_ && fd() >= 0) peer_ = detail::remoteAddress(fd());
  return peer_ ? *peer_ : Address{IPv4Address{}};
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
