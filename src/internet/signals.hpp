// Process-wide signal handlers that route SIGINT/SIGTERM/SIGCHLD to one
// reactor. Not installed. See docs/architecture.md, "Signals".
#pragma once

namespace twisted::detail {

enum SignalBit : unsigned { kSigInt = 1, kSigTerm = 2, kSigChld = 4 };

class SignalHandlers {
 public:
  /// Installs the handlers, which write to `wakeFd` when a signal arrives.
  /// Returns false (installing nothing) if another reactor owns them.
  static bool install(int wakeFd);
  /// Restores the previous handlers if `wakeFd` is the owner's.
  static void uninstall(int wakeFd);
  /// The signals received since the last call, as SignalBit flags.
  static unsigned takePending();
};

/// SIGCHLD for reaping without pidfds (process/waitpid_reaper.hpp): every
/// watching eventfd is written when a child exits. The handler, once
/// installed for this, stays for the life of the process (a reactor's
/// uninstall leaves it), and calls the handler that was there before.
class ChildSignals {
 public:
  /// Adds `eventFd`; false if all the slots (64) are taken.
  static bool watch(int eventFd);
  /// Removes `eventFd`; when it returns no handler is writing to it, so
  /// the caller may close it (its number cannot be written once reused).
  static void unwatch(int eventFd);
};

}  // namespace twisted::detail
