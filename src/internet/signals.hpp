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

}  // namespace twisted::detail
