// ListenFDs, as twisted.python.systemd.ListenFDs: the listening sockets
// systemd (or anything that speaks its socket-activation protocol) passed
// this process. The `systemd:` endpoint adopts them (docs/endpoints.md).
//
//   for (int fd : twisted::processListenFDs().inheritedDescriptors()) ...
#pragma once

#include <map>
#include <string>
#include <vector>

namespace twisted {

/// The descriptors passed by socket activation: LISTEN_FDS of them,
/// numbered from 3, when LISTEN_PID is this process; LISTEN_FDNAMES (one
/// colon-separated name per descriptor, systemd's FileDescriptorName=)
/// names them.
class ListenFDs {
 public:
  /// The first descriptor socket activation passes (systemd's
  /// SD_LISTEN_FDS_START).
  static constexpr int kStart = 3;

  /// Descriptors given directly, with their names ("unknown" where
  /// `names` does not have as many).
  explicit ListenFDs(std::vector<int> descriptors, std::vector<std::string> names = {});

  /// Reads `environ` (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES) as Twisted's
  /// fromEnvironment does: nothing unless LISTEN_PID is this process and
  /// LISTEN_FDS a count; the three entries are then removed from
  /// `environ`, so they are read once. A malformed entry means none.
  static ListenFDs fromEnvironment(std::map<std::string, std::string>& environ, int start = kStart);
  /// As above, from the process's environment, which loses the three
  /// variables (a child must not think it was activated); each descriptor
  /// found is made close-on-exec, as systemd's sd_listen_fds does.
  static ListenFDs fromEnvironment();

  /// The descriptors, lowest first.
  std::vector<int> inheritedDescriptors() const { return descriptors_; }
  /// Each name and its descriptor (the first, where names repeat).
  std::map<std::string, int> inheritedNamedDescriptors() const;
  /// The name of each descriptor, in order ("unknown" for unnamed ones).
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<int> descriptors_;
  std::vector<std::string> names_;
};

/// This process's ListenFDs, read from its environment on the first call
/// and kept: the three variables are then removed from the environment (a
/// child must not think it was activated) and each descriptor found is made
/// close-on-exec, as systemd's sd_listen_fds does. Removing variables is
/// not safe while other threads read the environment (getaddrinfo does):
/// make the first call from main before starting threads, as `twist` does
/// (a `systemd:` description calls it too). Later calls only read.
const ListenFDs& processListenFDs();

}  // namespace twisted
