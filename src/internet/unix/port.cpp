// unixsock::Port: what is UNIX's own in a listening port: the name (a path
// or an abstract name), the file's mode, its removal, the lock file.
// Accepting and closing are the shared StreamPort's.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <system_error>

#include "../tcp/socket.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/pool.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"
#include "unix.hpp"

namespace twisted::unixsock {

namespace {

constexpr std::size_t kMaxPath = sizeof(sockaddr_un::sun_path) - 1;

[[noreturn]] void cannotListen(const std::string& name, const std::string& why, int err = 0) {
  throw error::CannotListenError(describe(name) + ": " + why, err);
}

int bindTo(int fd, const std::string& path) {
  SocketAddress sa = toSocketAddress(UNIXAddress{path});
  return ::bind(fd, sa.get(), sa.length) == 0 ? 0 : errno;
}

}  // namespace

Port::Port(Reactor& reactor, std::string name, std::shared_ptr<Factory> factory, int backlog,
           int mode, bool wantPID)
    : StreamPort(reactor, std::move(factory), backlog),
      name_(std::move(name)),
      mode_(mode),
      wantPID_(wantPID) {}

void Port::bindPath(int fd) {
  // Linux makes the socket file with the socket's own mode, less the
  // umask: so the mode is set on the socket before bind, and the file is
  // never, even briefly, more open than asked (at most less, by the umask,
  // until the chmod below widens it to exactly `mode`).
  if (::fchmod(fd, static_cast<mode_t>(mode_)) != 0) {
    cannotListen(name_, "cannot set its mode: " + tcp::detail::errnoText(errno), errno);
  }
  if (int err = bindTo(fd, name_)) cannotListen(name_, tcp::detail::errnoText(err), err);
  struct stat st {};
  if (::lstat(name_.c_str(), &st) == 0) made_ = std::make_pair(st.st_dev, st.st_ino);
  if ((st.st_mode & 07777) != static_cast<mode_t>(mode_) &&
      ::chmod(name_.c_str(), static_cast<mode_t>(mode_)) != 0) {
    int err = errno;
    cannotListen(name_, "cannot set its mode: " + tcp::detail::errnoText(err), err);
  }
}

int Port::bindAndListen(int backlog) {
  if (name_.empty()) cannotListen(name_, "an empty name (use a path, or a leading NUL byte)");
  if (name_.size() > kMaxPath) {
    cannotListen(name_, "too long (" + std::to_string(name_.size()) + " bytes, at most " +
                            std::to_string(kMaxPath) + ")");
  }
  bool path = !isAbstract(name_);
  // The abstract namespace has no stale sockets (a name dies with its
  // socket), so wantPID concerns paths only.
  if (wantPID_ && path) {
    lock_.emplace(name_ + ".lock");
    bool locked = false;
    try {
      locked = lock_->lock();
    } catch (const std::system_error& e) {
      lock_.reset();
      cannotListen(name_, "cannot lock: " + std::string(e.what()), e.code().value());
    }
    if (!locked) {
      pid_t holder = lock_->holder();
      lock_.reset();
      cannotListen(name_, "Cannot acquire lock (" + name_ + ".lock is held by live process " +
                              std::to_string(holder) + ")");
    }
    struct stat st {};
    if (!lock_->clean() && ::lstat(name_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      ::unlink(name_.c_str());  // the dead server's socket
    }
  }
  // A failure here is an errno, not an exception: the common case of it is
  // a process at its descriptor limit, which is no time to unwind.
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    lock_.reset();
    cannotListen(name_, tcp::detail::errnoText(err), err);
  }
  try {
    if (path) {
      bindPath(fd);
    } else if (int err = bindTo(fd, name_)) {
      cannotListen(name_, tcp::detail::errnoText(err), err);
    }
    if (::listen(fd, backlog) != 0) cannotListen(name_, tcp::detail::errnoText(errno), errno);
  } catch (...) {
    ::close(fd);
    socketClosed();  // the file bindPath made, if it got that far; the lock
    throw;
  }
  return fd;
}

void Port::announce() {
  // Twisted's line quotes the name ("Factory starting on '/run/app.sock'").
  log().info("{factory} starting on '{where}'",
             {{"factory", factory_->logPrefix()}, {"where", describe(name_)}, {"path", name_}});
}

void Port::serve(int fd, Address peer, std::shared_ptr<Protocol> protocol) {
  auto server = makePooled<Server>(twisted::detail::transportHost(reactor_), factory_, name_,
                                   std::get<UNIXAddress>(peer).name, sessionno_++);
  serveWith(server, fd, std::move(protocol));
}

void Port::socketClosed() {
  // Our file only: a server that replaced it since (after a crash, or by
  // hand) keeps its own.
  struct stat st {};
  if (made_ && ::lstat(name_.c_str(), &st) == 0 && st.st_dev == made_->first &&
      st.st_ino == made_->second) {
    ::unlink(name_.c_str());
  }
  made_.reset();
  lock_.reset();  // unlocks
}

}  // namespace twisted::unixsock
