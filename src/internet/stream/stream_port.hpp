// StreamPort: a listening stream socket, whatever its address family
// (Twisted's tcp.Port behaviour, shared by tcp::Port and unix::Port).
// Internal. See docs/architecture.md, "UNIX sockets".
//
// The base accepts in adaptive batches, survives running out of
// descriptors (the shared reserve, then a back-off), and closes as Twisted
// does: stopListening closes the socket at once, stops the factory and
// fires its Deferred on the next turn (failed by a throwing stopFactory).
// A kind says how to bind and listen, how to serve an accepted descriptor,
// how to name itself in log lines, and what to undo once closed.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>

#include "../close_on_next_turn.hpp"
#include "twisted/internet/address.hpp"
#include "twisted/internet/deferred.hpp"
#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::detail {

class Completions;

class StreamPort : public IReadDescriptor,
                   public IListeningPort,
                   public std::enable_shared_from_this<StreamPort> {
 public:
  ~StreamPort() override;

  void startListening() final;
  Deferred<void> stopListening() final;

  int fileno() const final { return fd_; }
  IOResult doRead() final;
  void connectionLost(const Failure& reason) final;
  /// "Factory (TCP)": the factory's prefix and the kind.
  std::string logPrefix() const override;

  /// How many connections the next doRead may accept (adapts to load, as
  /// Twisted's: +20 after a full batch, else the number just accepted).
  int numberAccepts() const { return numberAccepts_; }
  const std::shared_ptr<Factory>& factory() const { return factory_; }
  bool listening() const { return listening_; }
  /// Before startListening: the socket is one that other reactors accept
  /// from too (a ReactorGroup's shared socket), so each new connection
  /// wakes one of them where the backend can (epoll: EPOLLEXCLUSIVE).
  /// A reactor woken for a connection another took finds none (EAGAIN).
  void setExclusiveAccept() { exclusive_ = true; }

 protected:
  StreamPort(Reactor& reactor, std::shared_ptr<Factory> factory, int backlog);

  /// Makes the listening socket (non-blocking, close-on-exec) with
  /// `backlog` (already resolved from kSystemMaxBacklog) and returns it.
  /// @throws error::CannotListenError
  virtual int bindAndListen(int backlog) = 0;
  /// Logs the line that says where the port now listens.
  virtual void announce() = 0;
  /// "TCP", "UNIX": the kind, in log lines.
  virtual const char* kind() const = 0;
  /// What the "(KIND Port NAME Closed)" line names: a number, a path.
  virtual std::string closedName() const = 0;
  /// The peer of an accepted connection, from accept's address.
  virtual Address peerAddress(const sockaddr* sa, socklen_t length) const {
    return fromSocketAddress(sa, length);
  }
  /// Serves the accepted `fd` with `protocol` (built for `peer`): makes the
  /// kind's server transport, which owns `fd` from then on. An exception
  /// (from connectionMade) is the base's to log; the transport must have
  /// been aborted by then (serveWith does both).
  virtual void serve(int fd, Address peer, std::shared_ptr<Protocol> protocol) = 0;
  /// Called once the socket is closed (for a UNIX path: unlink it, drop
  /// the lock), at once in stopListening, or at shutdown.
  virtual void socketClosed() {}

  /// For serve(): starts `server` on `fd`, aborting it if connectionMade
  /// throws, and logs that exception.
  template <class Server>
  void serveWith(const std::shared_ptr<Server>& server, int fd,
                 std::shared_ptr<Protocol> protocol) {
    try {
      server->start(fd, std::move(protocol));
    } catch (...) {
      logConnectionMadeFailure(server->logPrefix());
      server->abortConnection();
    }
  }

  Reactor& reactor_;
  std::shared_ptr<Factory> factory_;
  int backlog_;
  long sessionno_ = 0;

 private:
  void acceptFailed(int err);
  void watch();  // addReader, exclusive if asked
  void resumeAccepting();
  void closeSocket();
  /// Closes the socket and stops the factory (once); returns what a
  /// throwing stopFactory raised.
  std::optional<Failure> closePort();
  static void logConnectionMadeFailure(const std::string& prefix);

  int fd_ = -1;
  bool listening_ = false;
  bool exclusive_ = false;
  // The backend's accepts in the kernel (io_uring), while listening.
  Completions* completions_ = nullptr;
  CloseOnNextTurn closing_;   // stopListening's close, and who waits for it
  bool stopPending_ = false;  // stopListening's close has not completed yet
  bool factoryStarted_ = false;
  int numberAccepts_ = 100;
  bool loggedAcceptError_ = false;
  std::optional<DelayedCall> backoff_;
};

}  // namespace twisted::detail
