// Reaper: waits for one child through its pidfd, registered with the
// reactor that spawned it, so that reactors on several threads each reap
// their own children and no process-wide SIGCHLD handler (nor
// waitpid(-1), which steals other code's children) is needed. Internal.
#pragma once

#include <sys/types.h>

#include <memory>

#include "twisted/internet/interfaces.hpp"

namespace twisted::process {

class Process;

class Reaper final : public IReadDescriptor, public std::enable_shared_from_this<Reaper> {
 public:
  /// Opens `pid`'s pidfd. @throws std::system_error if the kernel has none.
  Reaper(std::weak_ptr<Process> process, pid_t pid);
  ~Reaper() override;
  int fileno() const override { return pidfd_; }
  /// Readable once the child has exited: reaps it (waitid P_PIDFD).
  IOResult doRead() override;
  void connectionLost(const Failure& reason) override;
  std::string logPrefix() const override { return "Reaper"; }
  /// Sends `signal` to the child while it has not been reaped (a pidfd
  /// names this child only, never a later process with its pid).
  /// @returns false once it has been reaped.
  bool signal(int signal);
  bool reaped() const { return reaped_; }

 private:
  std::weak_ptr<Process> process_;
  int pidfd_ = -1;
  bool reaped_ = false;
};

}  // namespace twisted::process
