// AdoptedSocket: checks that a caller's descriptor is the socket the call
// needs, and duplicates it.
#include "adopted_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "../tcp/socket.hpp"
#include "twisted/internet/error.hpp"

namespace twisted::detail {

namespace {
std::string familyName(int family) {
  switch (family) {
    case AF_INET:
      return "AF_INET";
    case AF_INET6:
      return "AF_INET6";
    case AF_UNIX:
      return "AF_UNIX";
    default:
      return "family " + std::to_string(family);
  }
}

int socketOption(int fd, int option) {
  int value = 0;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) return -1;
  return value;
}
}  // namespace

AdoptedSocket::AdoptedSocket(int fd, int family, Kind kind, const char* call) : family_(family) {
  std::string what = std::string(call) + ": descriptor " + std::to_string(fd);
  auto refuse = [&](const std::string& why, int err) {
    throw error::CannotAdoptError(what + ": " + why, err);
  };
  if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) refuse(tcp::detail::errnoText(EBADF), EBADF);
  int domain = socketOption(fd, SO_DOMAIN);
  if (domain < 0) {
    int err = errno;
    refuse(err == ENOTSOCK ? "it is not a socket" : tcp::detail::errnoText(err), err);
  }
  if (domain != family) {
    refuse("it is an " + familyName(domain) + " socket, not " + familyName(family), EINVAL);
  }
  int type = socketOption(fd, SO_TYPE);
  bool stream = kind != Kind::Datagram;
  if (type != (stream ? SOCK_STREAM : SOCK_DGRAM)) {
    refuse(type == SOCK_DGRAM ? "it is a datagram socket (SOCK_DGRAM), not a stream socket"
           : type == SOCK_STREAM
               ? "it is a stream socket (SOCK_STREAM), not a datagram socket"
               : "it is neither a stream nor a datagram socket (type " + std::to_string(type) + ")",
           EINVAL);
  }
  int listening = socketOption(fd, SO_ACCEPTCONN);
  if (kind == Kind::ListeningStream && listening != 1) {
    refuse("it is not listening (call listen() first)", EINVAL);
  }
  if (kind == Kind::ConnectedStream && listening == 1) {
    refuse("it is a listening socket, not a connected one (adoptStreamPort serves it)", EINVAL);
  }
  fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) {
    int err = errno;
    refuse("cannot duplicate it: " + tcp::detail::errnoText(err), err);
  }
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    refuse("cannot make it non-blocking: " + tcp::detail::errnoText(err), err);
  }
}

AdoptedSocket::~AdoptedSocket() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace twisted::detail
