// The I/O primitive of a stream transport over a connected socket (TCP,
// UNIX): read, send without SIGPIPE, gather-send, half-close and close.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstddef>

#include "../direct_syscall.hpp"

namespace twisted::detail {

struct SocketIO {
  [[gnu::always_inline]] static ssize_t read(int fd, char* data, std::size_t size) {
    return sys::read(fd, data, size);
  }
  [[gnu::always_inline]] static ssize_t send(int fd, const char* data, std::size_t size) {
    return sys::send(fd, data, size, MSG_NOSIGNAL);
  }
  static ssize_t sendv(int fd, iovec* iov, std::size_t count) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  }
  static void shutdownWrite(int fd) { ::shutdown(fd, SHUT_WR); }
  /// `orderly` false sends a reset rather than a FIN (SO_LINGER 0).
  static void close(int fd, bool orderly) {
    if (!orderly) {
      linger abort{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
    ::close(fd);
  }
};

}  // namespace twisted::detail
