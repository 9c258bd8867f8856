// Reaping on SIGCHLD, for kernels without pidfds: the handler writes to
// the eventfd of every reactor that has such children (ChildWatcher, one
// per reactor); each then calls waitpid(pid, WNOHANG) for its own children
// only, never waitpid(-1), which would steal other code's. Internal.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>

#include "reaper.hpp"
#include "twisted/internet/interfaces.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::process {

class ChildWatcher;

/// One child, waited for by its reactor's ChildWatcher.
class WaitpidReaper final : public Reaper {
 public:
  WaitpidReaper(std::weak_ptr<Process> process, pid_t pid, std::shared_ptr<ChildWatcher> watcher)
      : process_(std::move(process)), pid_(pid), watcher_(std::move(watcher)) {}
  /// A zombie keeps its pid, so kill() cannot reach a reused one before
  /// this child is reaped; after, nothing is sent.
  bool signal(int signal) override;
  bool reaped() const override { return reaped_; }
  pid_t pid() const { return pid_; }
  /// From the watcher: waitpid gave `status` (or nullopt: ECHILD).
  void reap(std::optional<int> status);

 private:
  std::weak_ptr<Process> process_;
  pid_t pid_;
  std::shared_ptr<ChildWatcher> watcher_;
  bool reaped_ = false;
};

/// A reactor's SIGCHLD eventfd and the children it waits for; registered
/// with the reactor only while it has some.
class ChildWatcher final : public IReadDescriptor,
                           public std::enable_shared_from_this<ChildWatcher> {
 public:
  explicit ChildWatcher(Reactor& reactor);
  ~ChildWatcher() override;
  void add(const std::shared_ptr<WaitpidReaper>& child);
  int fileno() const override { return eventFd_; }
  /// SIGCHLD came: asks about each child.
  IOResult doRead() override;
  void connectionLost(const Failure& reason) override;
  std::string logPrefix() const override { return "ChildWatcher"; }

 private:
  Reactor& reactor_;
  int eventFd_ = -1;
  bool registered_ = false;
  std::map<pid_t, std::weak_ptr<WaitpidReaper>> children_;
};

/// The reactor's watcher, made at its first use (ReactorProcess holds it).
struct ReapingAccess {
  static std::shared_ptr<ChildWatcher> watcher(Reactor& reactor);
};

}  // namespace twisted::process
