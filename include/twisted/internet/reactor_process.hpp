// Child processes: Twisted's IReactorProcess (spawnProcess), in files of
// their own (src/internet/process/). See docs/process.md.
//
//   auto child = reactor.spawnProcess(protocol, "/bin/cat", {"cat"});
//   child->write("hello");
//   child->closeStdin();  // cat sees end-of-file, writes back, exits
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twisted/internet/process.hpp"

namespace twisted {

namespace process {
class ChildWatcher;
struct ReapingAccess;
}  // namespace process

/// Twisted's IReactorProcess.
class IReactorProcess {
 public:
  virtual ~IReactorProcess() = default;
  /// Starts `executable` with arguments `args` (args[0] is the name the
  /// child sees) and returns it, connected to `protocol`
  /// (makeConnection has run). A name without '/' is looked up in the
  /// PATH of `env` (or /bin:/usr/bin), as Twisted's execvpe does.
  ///   env      the child's whole environment: empty by default, as in
  ///            Twisted; std::nullopt passes this process's own
  ///   path     the working directory (default: this process's)
  ///   uid, gid the user and group the child runs as (with that user's
  ///            supplementary groups); this process must be allowed to
  ///            switch (root)
  ///   usePTY   the child gets a pseudo-terminal as descriptors 0, 1 and 2
  ///            (its own session, the terminal its controlling one): what
  ///            it writes arrives as childDataReceived(1, ...), write()
  ///            goes to its input, setWindowSize() sets its size, and its
  ///            end (every descriptor of it closed) counts as every pipe's
  ///   childFDs what each child descriptor is (ChildFD); every other
  ///            descriptor is closed in the child, whatever the limit
  /// The child starts with no blocked signals and every signal's default
  /// action. It is reaped by this reactor (a pidfd; without pidfds, a
  /// SIGCHLD handler and waitpid for each of this reactor's own children),
  /// so reactors on other threads reap their own children.
  /// @throws error::ProcessSpawnError naming the file and the errno when it
  ///   cannot be run (missing, not executable, a missing interpreter) or the
  ///   pipes cannot be made; std::invalid_argument for empty args, a
  ///   childFDs value that is not "r", "w" or a descriptor, or usePTY with
  ///   childFDs (as Twisted refuses them together).
  virtual std::shared_ptr<IProcessTransport> spawnProcess(
      std::shared_ptr<ProcessProtocol> protocol, std::string executable,
      std::vector<std::string> args, std::optional<Environment> env = Environment{},
      std::optional<std::string> path = {}, std::optional<uid_t> uid = {},
      std::optional<gid_t> gid = {}, bool usePTY = false,
      std::optional<ChildFDs> childFDs = {}) = 0;
};

/// The reactor's IReactorProcess (a Reactor is the only class that derives
/// from it).
class ReactorProcess : public IReactorProcess {
 public:
  std::shared_ptr<IProcessTransport> spawnProcess(
      std::shared_ptr<ProcessProtocol> protocol, std::string executable,
      std::vector<std::string> args, std::optional<Environment> env = Environment{},
      std::optional<std::string> path = {}, std::optional<uid_t> uid = {},
      std::optional<gid_t> gid = {}, bool usePTY = false,
      std::optional<ChildFDs> childFDs = {}) override;

 private:
  // Only a Reactor is one (src/internet/process/reactor_process.cpp casts to it).
  friend class Reactor;
  ReactorProcess() = default;
  ~ReactorProcess() override;
  // This reactor's SIGCHLD reaping while it has such children (they and
  // the reactor's FD set hold it).
  friend struct process::ReapingAccess;
  std::weak_ptr<process::ChildWatcher> childWatcher_;
};

}  // namespace twisted
