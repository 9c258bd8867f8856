// SharedTCPPorts: what the workers of a ReactorGroup that shares its TCP
// ports (ReactorGroup::shareTCPPorts) agree on: which number each port 0
// becomes. Internal. See docs/architecture.md, "A reactor per core".
#pragma once

#include <mutex>
#include <vector>

namespace twisted::detail {

/// The port numbers worker 0 bound, in the order it listened ("ranks"),
/// and each worker's next rank. Every worker's reactor holds it (listenTCP
/// asks it); listens are rare, so one lock does.
class SharedTCPPorts {
 public:
  explicit SharedTCPPorts(int workers) : next_(static_cast<std::size_t>(workers), 0) {}

  /// The number `worker`'s next listenTCP, asked for `asked`, binds: for
  /// a port 0 on a worker after the first, what worker 0's listen of the
  /// same rank bound, or -1 if it has bound none (not yet, or it failed).
  /// `rank` is set for bound().
  int portFor(int worker, int asked, int& rank);
  /// The listen of `rank` on `worker` bound `port`.
  void bound(int worker, int rank, int port);

 private:
  std::mutex mutex_;
  std::vector<int> next_;   // by worker
  std::vector<int> first_;  // worker 0's ports, by rank
};

}  // namespace twisted::detail
