// Starting a child: the executable looked up, its descriptors put in place
// (cycles included), every other descriptor closed, signals reset, then
// exec. vfork/exec (posix_spawn under ThreadSanitizer), fork/exec for a
// user or group to switch to, or a PTY. Internal; see docs/architecture.md, "Child
// processes".
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "twisted/internet/process.hpp"

namespace twisted::process {

/// What the child gets: `targets[i].first` is the child's descriptor, the
/// parent's `targets[i].second` its source.
struct SpawnRequest {
  std::string executable;  // as given, for messages
  std::vector<std::string> args;
  std::optional<Environment> env;  // nullopt: this process's
  std::optional<std::string> path;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<std::pair<int, int>> targets;
  /// The targets are a PTY's slave: the child starts a session and makes
  /// it its controlling terminal.
  bool pty = false;
};

/// Starts the child and returns its pid.
/// @throws error::ProcessSpawnError naming the file and the errno when it
///   cannot be run (missing, not executable, its interpreter missing) or
///   started.
pid_t spawn(const SpawnRequest& request);

}  // namespace twisted::process
