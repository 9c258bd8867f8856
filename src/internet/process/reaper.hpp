// Reaping a child without stealing anyone else's: a pidfd per child
// (PidfdReaper), or, where the kernel has no pidfds or
// TWISTED_PROCESS_REAPER=sigchld asks for it, a SIGCHLD handler and
// waitpid(pid, WNOHANG) for each of a reactor's own children
// (waitpid_reaper.hpp). Never waitpid(-1). Internal; docs/architecture.md,
// "Child processes".
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>

#include "twisted/internet/interfaces.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::process {

class Process;

/// How a child ended, from waitid's siginfo or waitpid's status.
struct ExitStatus {
  int status = 0;  // as waitpid gives it
  std::optional<int> exitCode;
  std::optional<int> signal;
  static ExitStatus fromWaitStatus(int status);
  static ExitStatus fromSiginfo(int code, int value);
};

/// One child being waited for.
class Reaper {
 public:
  virtual ~Reaper() = default;
  /// Sends `signal` to the child while it has not been reaped (until then
  /// its pid cannot be reused). @returns false once it has been reaped
  /// (here, or by someone else: ESRCH). @throws std::system_error for
  /// another error (EINVAL: no such signal; EPERM).
  virtual bool signal(int signal) = 0;
  virtual bool reaped() const = 0;
};

enum class ReapingMode { Pidfd, Sigchld };
/// Which way this process reaps, decided at the first spawn: pidfds if
/// the kernel has them, unless TWISTED_PROCESS_REAPER says "sigchld".
ReapingMode reapingMode();

/// Before a spawn: in Sigchld mode, the handler and `reactor`'s watcher are
/// made ready, so a child that exits at once is not missed; hold what it
/// returns until startReaping.
std::shared_ptr<void> prepareReaping(Reactor& reactor);
/// Starts waiting for `pid` on `reactor`; the process hears reaped().
std::shared_ptr<Reaper> startReaping(Reactor& reactor, std::weak_ptr<Process> process, pid_t pid);

/// A child's pidfd, read when it exits.
class PidfdReaper final : public Reaper,
                          public IReadDescriptor,
                          public std::enable_shared_from_this<PidfdReaper> {
 public:
  /// @throws std::system_error if the kernel has no pidfd for it.
  PidfdReaper(std::weak_ptr<Process> process, pid_t pid);
  ~PidfdReaper() override;
  int fileno() const override { return pidfd_; }
  /// Readable once the child has exited: reaps it (waitid P_PIDFD).
  IOResult doRead() override;
  void connectionLost(const Failure& reason) override;
  std::string logPrefix() const override { return "PidfdReaper"; }
  bool signal(int signal) override;
  bool reaped() const override { return reaped_; }

 private:
  std::weak_ptr<Process> process_;
  int pidfd_ = -1;
  bool reaped_ = false;
};

}  // namespace twisted::process
