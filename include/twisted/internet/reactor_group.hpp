// ReactorGroup: a reactor per core. N reactors, each run by a thread of its
// own, serving one listening address together. See docs/reactor.md,
// "A reactor per core", and docs/architecture.md for who owns what.
//
//   twisted::ReactorGroup group(twisted::ReactorGroup::availableCores());
//   group.listenTCP(8000, twisted::Factory::forProtocol<Echo>());
//   group.run();  // until SIGINT/SIGTERM or group.stop()
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "twisted/internet/backend.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted {

/// N reactors ("workers") on N threads. Each worker owns the connections it
/// accepts: the factory's buildProtocol, the protocol and every callback of
/// the connection run on that worker's thread. A factory given to the group
/// is shared by every worker, so its buildProtocol is called from several
/// threads at once: Factory::forProtocol's is safe, a factory of your own
/// must be too (its counters atomic, or one per worker). Work moves between
/// workers with worker(i).callFromThread.
class ReactorGroup {
 public:
  /// `workers` reactors (at least 1) on `backend`. Throws as Reactor's
  /// constructor does (error::UnknownBackend) and std::invalid_argument
  /// for fewer than 1.
  explicit ReactorGroup(int workers, Backend backend = Backend::Default);
  /// Destroys the workers' reactors; call it after run() has returned.
  ~ReactorGroup();
  ReactorGroup(const ReactorGroup&) = delete;
  ReactorGroup& operator=(const ReactorGroup&) = delete;

  /// How many cores this process may run on (its CPU affinity), at least 1:
  /// the usual number of workers (`twist --workers auto`).
  static int availableCores();

  /// How many workers.
  int size() const { return static_cast<int>(workers_.size()); }
  /// Worker `i`'s reactor (0 ≤ i < size()). Before run(), and after it
  /// returned, any thread may use it; while it runs, other threads reach
  /// it only through callFromThread.
  Reactor& worker(int i) { return *workers_.at(static_cast<std::size_t>(i)); }
  /// The name worker `i`'s log events carry (LogEvent::system): "worker-1"
  /// for worker 0, and so on.
  static std::string workerName(int i);

  /// How the workers share one listening address (listenTCP).
  enum class ListenMode {
    /// A socket per worker, each bound with SO_REUSEPORT: the kernel picks
    /// the worker of each new connection by a hash of its addresses, so
    /// connections spread evenly and no two workers ever wake for one;
    /// but a connection hashed to a busy worker waits for that worker.
    ReusePort,
    /// One socket that every worker accepts from: whichever worker is free
    /// takes the next connection. On epoll each connection wakes one
    /// waiting worker (EPOLLEXCLUSIVE); select, poll and iouring wake
    /// every waiting worker and one wins the accept (the others find
    /// nothing), which is correct but costs a wakeup each.
    SharedSocket,
  };

  /// Listens on `port` (0: one the kernel picks, the same for every worker)
  /// of `interface` (a numeric IPv4 or IPv6 address; "" is 0.0.0.0), served
  /// by every worker as `mode` says. Call it before run(). Returns each
  /// worker's port, in worker order; stopListening on all of them (as
  /// stop() does) stops the address being served.
  /// @throws error::CannotListenError (the address in use, not an address
  ///   of this machine, a bad `interface`), having closed every socket it
  ///   made.
  std::vector<std::shared_ptr<IListeningPort>> listenTCP(int port, std::shared_ptr<Factory> factory,
                                                         int backlog = 50,
                                                         const std::string& interface = "",
                                                         ListenMode mode = ListenMode::ReusePort);

  /// From now on every listenTCP called on a worker's reactor (and so every
  /// tcp:, ssl: or haproxy:tcp: endpoint that a service made on the worker
  /// listens on) binds with SO_REUSEPORT, so that the same service made on
  /// each worker serves each of its addresses with all of them: what
  /// `twist --workers N` does. A port 0 listened on by worker k > 0 takes
  /// the number that worker 0's listenTCP of the same rank (its first,
  /// second... call) bound, so start worker 0's service first. Other kinds
  /// of port are not shared: a second worker's listenUNIX on the same path
  /// fails (address in use). Call it before run().
  void shareTCPPorts();

  /// Runs worker 0 on the calling thread (installing the signal handlers if
  /// asked: SIGINT and SIGTERM stop the whole group, and are blocked on the
  /// other workers' threads so that the calling thread handles them) and
  /// every other worker on a thread of its own, and returns once all have stopped. A worker
  /// that stops, by stop() or by itself, stops the group. Run a group once.
  void run(bool installSignalHandlers = true);

  /// Stops every worker, from any thread, before or during run(): each one
  /// fires its shutdown event, stops listening, and ends each of its
  /// connections with connectionLost (Reactor::stop), on its own thread.
  void stop();

 private:
  std::vector<std::unique_ptr<Reactor>> workers_;
  std::atomic<bool> stopping_{false};
  bool sharing_ = false;
};

}  // namespace twisted
