// SocketFile: binding a UNIX socket's name with its mode, and removing
// only our own file.
#include "socket_file.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "../tcp/socket.hpp"
#include "twisted/internet/address.hpp"
#include "twisted/internet/error.hpp"
#include "unix.hpp"

namespace twisted::unixsock {

namespace {
constexpr std::size_t kMaxPath = sizeof(sockaddr_un::sun_path) - 1;

int bindTo(int fd, const std::string& name) {
  SocketAddress sa = toSocketAddress(UNIXAddress{name});
  return ::bind(fd, sa.get(), sa.length) == 0 ? 0 : errno;
}
}  // namespace

void cannotListen(const std::string& name, const std::string& why, int err) {
  throw error::CannotListenError(describe(name) + ": " + why, err);
}

void SocketFile::checkName(const std::string& name) {
  if (name.empty()) cannotListen(name, "an empty name (use a path, or a leading NUL byte)");
  if (name.size() > kMaxPath) {
    cannotListen(name, "too long (" + std::to_string(name.size()) + " bytes, at most " +
                           std::to_string(kMaxPath) + ")");
  }
}

void SocketFile::bind(int fd, const std::string& name, int mode) {
  if (isAbstract(name)) {
    if (int err = bindTo(fd, name)) cannotListen(name, tcp::detail::errnoText(err), err);
    return;
  }
  // Linux makes the socket file with the socket's own mode, less the
  // umask: so the mode is set on the socket before bind, and the file is
  // never, even briefly, more open than asked (at most less, by the umask,
  // until the chmod below widens it to exactly `mode`).
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    cannotListen(name, "cannot set its mode: " + tcp::detail::errnoText(errno), errno);
  }
  if (int err = bindTo(fd, name)) cannotListen(name, tcp::detail::errnoText(err), err);
  path_ = name;
  struct stat st {};
  if (::lstat(name.c_str(), &st) == 0) made_ = std::make_pair(st.st_dev, st.st_ino);
  if ((st.st_mode & 07777) != static_cast<mode_t>(mode) &&
      ::chmod(name.c_str(), static_cast<mode_t>(mode)) != 0) {
    int err = errno;
    cannotListen(name, "cannot set its mode: " + tcp::detail::errnoText(err), err);
  }
}

void SocketFile::remove() {
  // Our file only: a server that replaced it since (after a crash, or by
  // hand) keeps its own.
  struct stat st {};
  if (made_ && ::lstat(path_.c_str(), &st) == 0 && st.st_dev == made_->first &&
      st.st_ino == made_->second) {
    ::unlink(path_.c_str());
  }
  made_.reset();
}

}  // namespace twisted::unixsock
