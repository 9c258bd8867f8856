#include "systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace twisted::application::detail {

std::string notifySystemd(std::string_view state) {
  const char* where = std::getenv("NOTIFY_SOCKET");
  if (!where || !*where) return "";
  std::string_view path = where;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return "NOTIFY_SOCKET is too long";
  if (path[0] != '/' && path[0] != '@') {
    return "NOTIFY_SOCKET is neither a path nor an abstract socket (@name)";
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  if (path[0] == '@') address.sun_path[0] = '\0';  // the abstract namespace
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  // Never block the loop (systemd's queue may be full): a lost notification
  // is reported, not waited for.
  ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                          reinterpret_cast<const sockaddr*>(&address), length);
  int err = errno;
  ::close(fd);
  if (sent < 0) return std::string(where) + ": " + std::strerror(err);
  return "";
}

}  // namespace twisted::application::detail
