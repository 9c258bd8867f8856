#include "socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "twisted/internet/error.hpp"

namespace twisted::tcp::detail {

int makeSocket(int family) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  return fd;
}

Failure connectError(int err, const std::string& where) {
  std::string detail = where + ": " + errnoText(err);
  switch (err) {
    case ECONNREFUSED:
      return Failure::of(error::ConnectionRefusedError(detail));
    case ETIMEDOUT:
      return Failure::of(error::TCPTimedOutError(detail));
    case ENETUNREACH:
    case EHOSTUNREACH:
      return Failure::of(error::NoRouteError(detail));
    default:
      return Failure::of(error::ConnectError(detail));
  }
}

std::optional<Address> localAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return fromSocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
}

std::optional<Address> remoteAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return fromSocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
}

std::optional<Address> literalAddress(std::string_view host, int port) {
  if (port < 0 || port > 65535) return std::nullopt;
  auto p = static_cast<std::uint16_t>(port);
  if (isIPAddress(host)) return IPv4Address{Transport::TCP, std::string(host), p};
  if (!isIPv6Address(host)) return std::nullopt;
  // getaddrinfo with AI_NUMERICHOST never blocks, and understands "%scope".
  addrinfo hints{};
  hints.ai_family = AF_INET6;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string h(host);
  std::string service = std::to_string(port);
  if (::getaddrinfo(h.c_str(), service.c_str(), &hints, &res) != 0 || !res) return std::nullopt;
  Address out = fromSocketAddress(res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return out;
}

std::string describe(std::string_view host, int port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

}  // namespace twisted::tcp::detail
