// SocketFile: the name a UNIX socket (stream or datagram) is bound to, and
// for a path, the file it makes: created with exactly the asked mode and
// never wider, removed when released, but only if it is still the file
// this socket made. Internal.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>

namespace twisted::unixsock {

class SocketFile {
 public:
  /// Refuses a name that cannot be bound: empty, or longer than sun_path.
  /// @throws error::CannotListenError naming it
  static void checkName(const std::string& name);
  /// Binds `fd` to `name` (a path made with permissions `mode`, or an
  /// abstract name). @throws error::CannotListenError with the errno
  void bind(int fd, const std::string& name, int mode);
  /// Removes the path bind made, if it still names that file.
  void remove();

 private:
  std::string path_;
  std::optional<std::pair<dev_t, ino_t>> made_;  // device and inode of the file bound
};

/// Throws CannotListenError for `name`, saying `why` (and the errno).
[[noreturn]] void cannotListen(const std::string& name, const std::string& why, int err = 0);

}  // namespace twisted::unixsock
