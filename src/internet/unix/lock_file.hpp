// LockFile: Twisted's twisted.python.lockfile.FilesystemLock format, so
// that our ports and Twisted's read each other's locks: the lock is a
// symbolic link whose target is the owner's pid in decimal. Internal.
#pragma once

#include <sys/types.h>

#include <string>

namespace twisted::unixsock {

class LockFile {
 public:
  explicit LockFile(std::string path) : path_(std::move(path)) {}
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  /// Takes the lock for this process. A lock whose owner is dead is taken
  /// over (then clean() is false: the owner did not clean up after
  /// itself). Returns false if a live process holds it (its pid in
  /// holder()). @throws std::system_error for other failures (EACCES).
  bool lock();
  /// Releases a lock this process holds (and only that: a lock someone else
  /// took over is left alone).
  void unlock();
  /// False once lock() took over a dead owner's lock.
  bool clean() const { return clean_; }
  bool locked() const { return locked_; }
  /// The live pid that held the lock when lock() returned false.
  pid_t holder() const { return holder_; }
  const std::string& path() const { return path_; }

  /// True if `path` names a lock held by a live process (read only: unlike
  /// Twisted's isLocked, which takes and drops the lock, nothing changes).
  static bool isLocked(const std::string& path);

 private:
  std::string path_;
  bool clean_ = true;
  bool locked_ = false;
  pid_t holder_ = 0;
};

}  // namespace twisted::unixsock
