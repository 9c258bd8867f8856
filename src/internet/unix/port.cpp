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
#include "socket_file.hpp"
#include "twisted/internet/backlog.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/pool.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"
#include "unix.hpp"

namespace twisted::unixsock {

Port::Port(Reactor& reactor, std::string name, std::shared_ptr<Factory> factory, int backlog,
           int mode, bool wantPID)
    : StreamPort(reactor, std::move(factory), backlog),
      name_(std::move(name)),
      mode_(mode),
      wantPID_(wantPID) {}

Port::Port(Reactor& reactor, twisted::detail::AdoptedSocket socket,
           std::shared_ptr<Factory> factory)
    : StreamPort(reactor, std::move(factory), kSystemMaxBacklog),
      mode_(0),
      wantPID_(false),
      adopted_(std::move(socket)),
      isAdopted_(true) {
  if (auto bound = tcp::detail::localAddress(adopted_->fd())) {
    if (const auto* unix_ = std::get_if<UNIXAddress>(&*bound)) name_ = unix_->name;
  }
}

int Port::bindAndListen(int backlog) {
  if (isAdopted_) {
    if (!adopted_) cannotListen(name_, "an adopted port cannot listen again once stopped");
    int fd = adopted_->release();
    adopted_.reset();
    return fd;
  }
  SocketFile::checkName(name_);
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
    file_.bind(fd, name_, mode_);
    if (::listen(fd, backlog) != 0) cannotListen(name_, tcp::detail::errnoText(errno), errno);
  } catch (...) {
    ::close(fd);
    socketClosed();  // the file bind made, if it got that far; the lock
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
  file_.remove();
  lock_.reset();  // unlocks
}

}  // namespace twisted::unixsock
