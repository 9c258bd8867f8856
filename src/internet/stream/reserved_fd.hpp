// The spare descriptor every listening stream port shares. Not installed.
#pragma once

namespace twisted::detail {

/// A descriptor kept open to be released when the process runs out of
/// descriptors, so that a listening port can accept and close the
/// connections waiting in its backlog instead of spinning on EMFILE
/// (Twisted's and libuv's trick). Process-wide and thread-safe; open while
/// at least one port listens.
class ReservedFd {
 public:
  /// A port starts listening: opens the reserve for the first one.
  static void addUser();
  /// A port stops: closes the reserve after the last one.
  static void removeUser();
  /// Closes the reserve; false if it was not open (or another thread holds it).
  static bool release();
  /// Reopens it after release() (or after a reopen that failed: still out
  /// of descriptors); does nothing while it is open or no port listens.
  static void restore();
  /// The reserve's descriptor, -1 when it is not open (for tests).
  static int descriptor();
};

}  // namespace twisted::detail
