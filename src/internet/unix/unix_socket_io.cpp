#include "unix_socket_io.hpp"

#include <cstring>

namespace twisted::unixsock {

namespace {
thread_local UnixSocketIO::Received t_received;
thread_local bool t_pending = false;
}  // namespace

bool& UnixSocketIO::pending() {
  return t_pending;
}

ssize_t UnixSocketIO::read(int fd, char* data, std::size_t size) {
  // Room for the most descriptors a message carries and for credentials
  // (SO_PASSCRED), so that credentials never crowd descriptors out.
  alignas(
      cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxDescriptors) + CMSG_SPACE(sizeof(ucred))];
  iovec iov{data, size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  // Close-on-exec from the start: no window in which a fork could leak them.
  ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0 || (msg.msg_controllen == 0 && !(msg.msg_flags & MSG_CTRUNC))) return n;
  t_pending = true;
  if (msg.msg_flags & MSG_CTRUNC) t_received.truncated = true;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        t_received.descriptors.push_back(received);
      }
    } else {
      t_received.unsupported.emplace_back(c->cmsg_level, c->cmsg_type);
    }
  }
  return n;
}

ssize_t UnixSocketIO::sendDescriptor(int fd, const char* byte, int descriptor) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<char*>(byte), 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &descriptor, sizeof(int));
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
}

UnixSocketIO::Received UnixSocketIO::take() {
  t_pending = false;
  return std::exchange(t_received, Received{});
}

}  // namespace twisted::unixsock
