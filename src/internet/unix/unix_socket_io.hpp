// The I/O primitive of a UNIX stream socket: SocketIO's, with the read
// done by recvmsg so that descriptors passed with the bytes (SCM_RIGHTS)
// are received, and a send that carries one descriptor with one byte.
// Internal; see docs/unix.md, "Passing descriptors".
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "../stream/socket_io.hpp"

namespace twisted::unixsock {

struct UnixSocketIO : twisted::detail::SocketIO {
  static constexpr bool kAncillary = true;
  /// The most descriptors one message can carry (Linux's SCM_MAX_FD).
  static constexpr std::size_t kMaxDescriptors = 253;

  /// What the last read brought besides bytes. Per thread: the transport
  /// that read takes it (take()) before any user code runs.
  struct Received {
    std::vector<int> descriptors;                  // new, close-on-exec
    bool truncated = false;                        // MSG_CTRUNC: some were lost
    std::vector<std::pair<int, int>> unsupported;  // (level, type) of other data
  };

  static ssize_t read(int fd, char* data, std::size_t size);
  static ssize_t sendDescriptor(int fd, const char* byte, int descriptor);
  /// True if the last read brought ancillary data (or lost some).
  static bool ancillaryPending() { return pending(); }
  /// Takes what the last read brought.
  static Received take();

 private:
  static bool& pending();
};

}  // namespace twisted::unixsock
