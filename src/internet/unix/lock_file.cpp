#include "lock_file.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>

namespace twisted::unixsock {

namespace {
enum class Link { Missing, Owner, NotALock };

// What `path` holds: no link, a lock naming `pid`, or something else (a
// regular file, a link that is not a pid).
Link readOwner(const std::string& path, pid_t& pid) {
  char buf[32];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return errno == ENOENT ? Link::Missing : Link::NotALock;
  if (n == static_cast<ssize_t>(sizeof buf)) return Link::NotALock;  // too long for a pid
  auto [end, ec] = std::from_chars(buf, buf + n, pid);
  if (ec != std::errc() || end != buf + n || pid <= 0) return Link::NotALock;
  return Link::Owner;
}

// kill(pid, 0): alive unless ESRCH (EPERM is another user's live process).
bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}
}  // namespace

LockFile::~LockFile() {
  if (locked_) unlock();
}

bool LockFile::lock() {
  const std::string me = std::to_string(::getpid());
  // Bounded: each pass either takes the lock, finds a live holder, or
  // removes a dead one's link (which another process may re-create).
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::symlink(me.c_str(), path_.c_str()) == 0) {
      locked_ = true;
      return true;
    }
    if (errno != EEXIST) throw std::system_error(errno, std::generic_category(), path_);
    pid_t owner = 0;
    Link link = readOwner(path_, owner);
    if (link == Link::Missing) continue;  // released meanwhile: try again
    if (link == Link::NotALock) {
      // Not ours to remove (Twisted refuses it too).
      throw std::system_error(EEXIST, std::generic_category(), path_ + " is not a lock");
    }
    if (alive(owner)) {
      holder_ = owner;
      return false;
    }
    // The owner is gone: take the lock over, as Twisted's FilesystemLock.
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      throw std::system_error(errno, std::generic_category(), path_);
    }
    clean_ = false;
  }
  throw std::system_error(EBUSY, std::generic_category(), path_);
}

void LockFile::unlock() {
  if (!locked_) return;
  locked_ = false;
  pid_t owner = 0;
  if (readOwner(path_, owner) == Link::Owner && owner == ::getpid()) ::unlink(path_.c_str());
}

bool LockFile::isLocked(const std::string& path) {
  pid_t owner = 0;
  return readOwner(path, owner) == Link::Owner && alive(owner);
}

}  // namespace twisted::unixsock
