// Typed errors, as Twisted's twisted.internet.error.
//
// Every error the library reports derives from twisted::error::Error (itself a
// std::runtime_error), so a user can catch them all or check one kind with
// Failure::check<ConnectionRefusedError>(). The hierarchy mirrors Twisted's:
// ConnectionDone and ConnectionLost are both ConnectionClosed, a refused
// connection is a ConnectError, and so on.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace twisted::error {

/// Root of every twisted-cpp error.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}

 protected:
  /// The whole message, passed down the hierarchy unchanged.
  struct Message {
    std::string text;
  };
  explicit Error(const Message& m) : std::runtime_error(m.text) {}
  static Message compose(const char* text, const std::string& detail) {
    return Message{detail.empty() ? std::string(text) : std::string(text) + ": " + detail};
  }
};

// Each error has a default text, and takes an optional detail appended to it
// ("Connection was refused by the other side: 127.0.0.1:1"). Modules and
// users define their own errors with it too (Base must derive from Error):
//   TWISTED_DEFINE_ERROR(BadCommand, twisted::error::Error, "Unknown command");
#define TWISTED_DEFINE_ERROR(Name, Base, defaultText)                                \
  class Name : public Base {                                                         \
   public:                                                                           \
    Name() : Base(compose(defaultText, {})) {}                                       \
    explicit Name(const std::string& detail) : Base(compose(defaultText, detail)) {} \
                                                                                     \
   protected:                                                                        \
    explicit Name(const Message& m) : Base(m) {}                                     \
  }

// --- reactor state -------------------------------------------------------
TWISTED_DEFINE_ERROR(ReactorNotRunning, Error, "The reactor is not running");
TWISTED_DEFINE_ERROR(ReactorAlreadyRunning, Error, "The reactor is already running");
TWISTED_DEFINE_ERROR(AlreadyCalled, Error, "The delayed call has already run");
TWISTED_DEFINE_ERROR(AlreadyCancelled, Error, "The delayed call was already cancelled");
/// A backend cannot watch this descriptor (select and fds >= FD_SETSIZE).
TWISTED_DEFINE_ERROR(BackendLimitError, Error, "The reactor backend cannot watch this descriptor");
TWISTED_DEFINE_ERROR(UnknownBackend, Error, "Unknown reactor backend");

// --- connections -----------------------------------------------------------
TWISTED_DEFINE_ERROR(ConnectionClosed, Error, "The connection was closed");
TWISTED_DEFINE_ERROR(ConnectionDone, ConnectionClosed, "The connection was closed cleanly");
TWISTED_DEFINE_ERROR(ConnectionLost, ConnectionClosed,
                     "The connection to the other side was lost uncleanly");
TWISTED_DEFINE_ERROR(ConnectionAborted, ConnectionLost, "The connection was aborted locally");
TWISTED_DEFINE_ERROR(ConnectionFdescWentAway, ConnectionLost, "The file descriptor went away");
/// A port could not listen. The message names the address and the reason;
/// socketError() is the errno of the failed call (EADDRINUSE, EACCES, ...)
/// or 0 when the address itself was wrong.
class CannotListenError : public Error {
 public:
  CannotListenError() : Error(compose("Could not listen", {})) {}
  explicit CannotListenError(const std::string& detail, int socketError = 0)
      : Error(compose("Could not listen", detail)), socketError_(socketError) {}
  int socketError() const { return socketError_; }

 private:
  int socketError_ = 0;
};
TWISTED_DEFINE_ERROR(ConnectError, Error, "An error occurred while connecting");
TWISTED_DEFINE_ERROR(ConnectBindError, ConnectError, "Could not bind the local address");
TWISTED_DEFINE_ERROR(UnknownHostError, ConnectError, "Host name not known");
TWISTED_DEFINE_ERROR(DNSLookupError, Error, "DNS lookup failed");
TWISTED_DEFINE_ERROR(NoRouteError, ConnectError, "No route to host");
TWISTED_DEFINE_ERROR(ConnectionRefusedError, ConnectError,
                     "Connection was refused by the other side");
TWISTED_DEFINE_ERROR(TCPTimedOutError, ConnectError, "TCP connection timed out");
TWISTED_DEFINE_ERROR(UserError, ConnectError, "The user aborted the connection");
/// A user-set timeout expired (a connection attempt, addTimeout). As in
/// Twisted, a kind of UserError.
TWISTED_DEFINE_ERROR(TimeoutError, UserError, "The operation timed out");
/// The connection was made but the factory's buildProtocol returned nothing.
TWISTED_DEFINE_ERROR(NoProtocol, ConnectError, "The factory built no protocol");
/// IConnector::stopConnecting when not connecting.
TWISTED_DEFINE_ERROR(NotConnectingError, Error, "The connector is not trying to connect");
TWISTED_DEFINE_ERROR(NotListeningError, Error, "The port is not listening");
/// A string given to serverFromString/clientFromString is not a valid
/// endpoint description (Twisted raises ValueError).
TWISTED_DEFINE_ERROR(InvalidEndpointDescription, Error, "Invalid endpoint description");

// --- Deferreds and tasks (twisted.internet.defer, twisted.internet.task) -----
TWISTED_DEFINE_ERROR(AlreadyCalledError, Error, "The Deferred has already been fired");
TWISTED_DEFINE_ERROR(CancelledError, Error, "The Deferred was cancelled");
/// A client endpoint's connect() was cancelled before it connected (in
/// Twisted a separate class; here a CancelledError, so one catch serves).
TWISTED_DEFINE_ERROR(ConnectingCancelledError, CancelledError,
                     "The connection attempt was cancelled");
TWISTED_DEFINE_ERROR(QueueOverflow, Error, "The DeferredQueue is full");
TWISTED_DEFINE_ERROR(QueueUnderflow, Error, "Too many waiters on the DeferredQueue");
TWISTED_DEFINE_ERROR(SchedulerError, Error, "Cooperative task scheduling error");
TWISTED_DEFINE_ERROR(SchedulerStopped, SchedulerError, "The Cooperator was stopped");
TWISTED_DEFINE_ERROR(TaskFinished, SchedulerError, "The task has finished");
TWISTED_DEFINE_ERROR(TaskDone, TaskFinished, "The task has completed");
TWISTED_DEFINE_ERROR(TaskStopped, TaskFinished, "The task was stopped");
TWISTED_DEFINE_ERROR(TaskFailed, TaskFinished, "The task failed");
TWISTED_DEFINE_ERROR(NotPaused, SchedulerError, "The task is not paused");

}  // namespace twisted::error
