// Typed errors, as Twisted's twisted.internet.error.
//
// Every error the library reports derives from twisted::error::Error (itself a
// std::runtime_error), so a user can catch them all or check one kind with
// Failure::check<ConnectionRefusedError>(). The hierarchy mirrors Twisted's:
// ConnectionDone and ConnectionLost are both ConnectionClosed, a refused
// connection is a ConnectError, and so on.
#pragma once

#include <cerrno>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace twisted::error {

/// Root of every twisted-cpp error.
class Error : public std::runtime_error {
 public:
  /// Builds an error whose what() is exactly `what`, with no default text.
  explicit Error(const std::string& what) : std::runtime_error(what) {}

 protected:
  /// The whole message, passed down the hierarchy unchanged.
  struct Message {
    std::string text;  ///< The complete what() text.
  };
  /// Builds an error from a message that compose() already put together.
  explicit Error(const Message& m) : std::runtime_error(m.text) {}
  /// Returns "text: detail", or just `text` when `detail` is empty.
  static Message compose(const char* text, const std::string& detail) {
    return Message{detail.empty() ? std::string(text) : std::string(text) + ": " + detail};
  }
};

/// Defines error class `Name`, derived from `Base`, with default text `defaultText`.
/// Each error takes an optional detail appended to its default text
/// ("Connection was refused by the other side: 127.0.0.1:1"). Modules and
/// users define their own errors with it too (Base must derive from Error):
///   TWISTED_DEFINE_ERROR(BadCommand, twisted::error::Error, "Unknown command");
#define TWISTED_DEFINE_ERROR(Name, Base, defaultText)                                \
  class Name : public Base {                                                         \
   public:                                                                           \
    /** Builds the error with its default text alone. */                             \
    Name() : Base(compose(defaultText, {})) {}                                       \
    /** Builds the error with `detail` appended to its default text. */              \
    explicit Name(const std::string& detail) : Base(compose(defaultText, detail)) {} \
                                                                                     \
   protected:                                                                        \
    /** Passes a subclass's composed message through unchanged. */                   \
    explicit Name(const Message& m) : Base(m) {}                                     \
  }

// --- reactor state -------------------------------------------------------
/// Raised by Reactor::stop() when the reactor is not running or already stopping.
TWISTED_DEFINE_ERROR(ReactorNotRunning, Error, "The reactor cannot be stopped");
/// Raised by Reactor::run() when the reactor has already been started.
TWISTED_DEFINE_ERROR(ReactorAlreadyRunning, Error, "The reactor is already running");
/// Raised when a DelayedCall that has already run is cancelled, delayed or reset.
TWISTED_DEFINE_ERROR(AlreadyCalled, Error, "The delayed call has already run");
/// Raised when a DelayedCall that was cancelled is cancelled, delayed or reset again.
TWISTED_DEFINE_ERROR(AlreadyCancelled, Error, "The delayed call was already cancelled");
/// A backend cannot watch this descriptor (select and fds >= FD_SETSIZE).
TWISTED_DEFINE_ERROR(BackendLimitError, Error, "The reactor backend cannot watch this descriptor");
/// Raised when a reactor backend name (e.g. $TWISTED_REACTOR) is not select, poll, epoll or
/// iouring.
TWISTED_DEFINE_ERROR(UnknownBackend, Error, "Unknown reactor backend");

// --- connections -----------------------------------------------------------
/// Base of the reasons a connection ended, whether cleanly or not.
TWISTED_DEFINE_ERROR(ConnectionClosed, Error, "The connection was closed");
/// The reason given to connectionLost when the connection closed cleanly.
TWISTED_DEFINE_ERROR(ConnectionDone, ConnectionClosed, "The connection was closed cleanly");
/// The reason given to connectionLost when the connection broke uncleanly (e.g. ECONNRESET).
TWISTED_DEFINE_ERROR(ConnectionLost, ConnectionClosed,
                     "The connection to the other side was lost uncleanly");
/// The reason given to connectionLost after the local side called abortConnection().
TWISTED_DEFINE_ERROR(ConnectionAborted, ConnectionLost, "The connection was aborted locally");
/// The reason a descriptor is disconnected when its file descriptor was closed under it.
TWISTED_DEFINE_ERROR(ConnectionFdescWentAway, ConnectionLost, "The file descriptor went away");
/// More descriptors were queued with sendFileDescriptor than bytes written
/// to carry them (each descriptor travels with one byte).
TWISTED_DEFINE_ERROR(FileDescriptorOverrun, ConnectionLost,
                     "More descriptors were sent than bytes to carry them");
/// A child process ended with exit status 0 (processExited/processEnded's
/// reason; Twisted's ProcessDone). status() is the wait status, 0.
class ProcessDone : public ConnectionDone {
 public:
  /// Builds the error for wait status `status` (0).
  explicit ProcessDone(int status = 0)
      : ConnectionDone(compose("A process has ended without apparent errors",
                               "process finished with exit code 0")),
        status_(status) {}
  /// The wait status (as waitpid gives it).
  int status() const { return status_; }

 private:
  int status_;
};
/// A child process ended otherwise (Twisted's ProcessTerminated): an exit
/// code other than 0, or a signal that killed it.
class ProcessTerminated : public ConnectionLost {
 public:
  /// Builds the error from the child's exit code or terminating signal
  /// (one of them) and its wait status.
  ProcessTerminated(std::optional<int> exitCode, std::optional<int> signal, int status)
      : ConnectionLost(compose("A process has ended with a probable error condition",
                               describe(exitCode, signal))),
        exitCode_(exitCode),
        signal_(signal),
        status_(status) {}
  /// The exit code, if the child exited.
  std::optional<int> exitCode() const { return exitCode_; }
  /// The signal that killed it, if one did.
  std::optional<int> signal() const { return signal_; }
  /// The wait status (as waitpid gives it).
  int status() const { return status_; }

 private:
  static std::string describe(std::optional<int> exitCode, std::optional<int> signal) {
    if (signal) return "process ended by signal " + std::to_string(*signal);
    if (exitCode) return "process ended with exit code " + std::to_string(*exitCode);
    return {};
  }
  std::optional<int> exitCode_;
  std::optional<int> signal_;
  int status_;
};
/// signalProcess on a child that has already been reaped (its pid may be
/// another process's by now).
TWISTED_DEFINE_ERROR(ProcessExitedAlready, Error, "The process has already exited");
/// spawnProcess could not start the child: the executable is missing, not
/// executable, or its interpreter is (the message names the file and the
/// reason), or a pipe or the process could not be made. errorNumber() is
/// the errno (ENOENT, EACCES, ENOEXEC, EMFILE, ...).
class ProcessSpawnError : public Error {
 public:
  /// Builds the error for `executable`, with `detail` and the errno.
  ProcessSpawnError(const std::string& executable, const std::string& detail, int errorNumber)
      : Error(compose("Could not start the process", executable + ": " + detail)),
        executable_(executable),
        errorNumber_(errorNumber) {}
  /// The executable spawnProcess was asked to run.
  const std::string& executable() const { return executable_; }
  /// The errno that says why.
  int errorNumber() const { return errorNumber_; }

 private:
  std::string executable_;
  int errorNumber_;
};
/// A port could not listen. The message names the address and the reason;
/// socketError() is the errno of the failed call (EADDRINUSE, EACCES, ...)
/// or 0 when the address itself was wrong.
class CannotListenError : public Error {
 public:
  /// Builds the error with its default text and no socket error.
  CannotListenError() : Error(compose("Could not listen", {})) {}
  /// Builds the error with `detail` (address and reason) and the failed call's errno.
  explicit CannotListenError(const std::string& detail, int socketError = 0)
      : Error(compose("Could not listen", detail)), socketError_(socketError) {}
  /// Returns the errno of the failed socket call, or 0 if the address was invalid.
  int socketError() const { return socketError_; }

 private:
  int socketError_ = 0;
};
/// An address of the wrong kind for the call: a host name where a numeric
/// address is needed, an IPv4 address on an IPv6 port (Twisted's
/// InvalidAddressError).
TWISTED_DEFINE_ERROR(InvalidAddressError, Error, "Invalid address");
/// A datagram was not sent; socketError() is the errno the kernel gave
/// (ENETUNREACH, EACCES for a broadcast not allowed, ...), 0 if none.
class DatagramSendError : public Error {
 public:
  /// Builds the error with `detail` (where to, why) and the send's errno.
  explicit DatagramSendError(const std::string& detail, int socketError = 0)
      : Error(compose("The datagram was not sent", detail)), socketError_(socketError) {}
  /// Returns the errno of the failed send, or 0.
  int socketError() const { return socketError_; }

 protected:
  /// For subclasses: their own composed text and errno.
  DatagramSendError(const Message& m, int socketError) : Error(m), socketError_(socketError) {}

 private:
  int socketError_ = 0;
};
/// A datagram is longer than the socket can send (EMSGSIZE; Twisted's
/// MessageLengthError).
class MessageLengthError : public DatagramSendError {
 public:
  /// Builds the error with `detail` (the size and the limit).
  explicit MessageLengthError(const std::string& detail = {})
      : DatagramSendError(compose("Message is too long to send", detail), EMSGSIZE) {}
};
/// A datagram port's send queue is at its bound (the kernel's buffer is
/// full and enough datagrams wait already): the datagram was not queued.
class DatagramBufferFullError : public DatagramSendError {
 public:
  /// Builds the error with `detail` (how much waits).
  explicit DatagramBufferFullError(const std::string& detail = {})
      : DatagramSendError(compose("The datagram send queue is full", detail), EAGAIN) {}
};
/// A multicast group could not be joined or left; socketError() is the
/// errno (Twisted's MulticastJoinError).
class MulticastJoinError : public Error {
 public:
  /// Builds the error with `detail` (group, interface, reason) and the errno.
  explicit MulticastJoinError(const std::string& detail, int socketError = 0)
      : Error(compose("Could not join the multicast group", detail)), socketError_(socketError) {}
  /// Returns the errno of the failed call, or 0 if the address was invalid.
  int socketError() const { return socketError_; }

 private:
  int socketError_ = 0;
};
/// IReactorSocket was given an address family it does not serve (Twisted's
/// UnsupportedAddressFamily): AF_INET, AF_INET6 and AF_UNIX for streams,
/// AF_INET and AF_INET6 for datagrams.
TWISTED_DEFINE_ERROR(UnsupportedAddressFamily, Error, "The address family is not supported");
/// A descriptor given to IReactorSocket cannot be adopted: not open
/// (socketError() EBADF), not a socket (ENOTSOCK), or a socket of another
/// family or type than the call says, or not listening where a port is
/// asked for (EINVAL). The message names the descriptor and the reason.
class CannotAdoptError : public Error {
 public:
  /// Builds the error with `detail` (descriptor and reason) and the errno.
  explicit CannotAdoptError(const std::string& detail, int socketError = 0)
      : Error(compose("Could not adopt the socket", detail)), socketError_(socketError) {}
  /// Returns the errno that says why (EBADF, ENOTSOCK, EINVAL).
  int socketError() const { return socketError_; }

 private:
  int socketError_ = 0;
};
/// A connection attempt failed; the base of the specific connect errors.
TWISTED_DEFINE_ERROR(ConnectError, Error, "An error occurred while connecting");
/// A client could not bind the local address it was asked to connect from.
TWISTED_DEFINE_ERROR(ConnectBindError, ConnectError, "Could not bind the local address");
/// A host name could not be looked up while connecting (kept for Twisted parity).
TWISTED_DEFINE_ERROR(UnknownHostError, ConnectError, "Host name not known");
/// A host name resolved to no address, or its lookup failed.
TWISTED_DEFINE_ERROR(DNSLookupError, Error, "DNS lookup failed");
/// A connection attempt failed with ENETUNREACH or EHOSTUNREACH.
TWISTED_DEFINE_ERROR(NoRouteError, ConnectError, "No route to host");
/// A connection attempt was refused by the other side (ECONNREFUSED).
TWISTED_DEFINE_ERROR(ConnectionRefusedError, ConnectError,
                     "Connection was refused by the other side");
/// A connection attempt timed out in the kernel (ETIMEDOUT).
TWISTED_DEFINE_ERROR(TCPTimedOutError, ConnectError, "TCP connection timed out");
/// A connection attempt was aborted by the user, e.g. with IConnector::stopConnecting().
TWISTED_DEFINE_ERROR(UserError, ConnectError, "The user aborted the connection");
/// A user-set timeout expired (a connection attempt, addTimeout). As in
/// Twisted, a kind of UserError.
TWISTED_DEFINE_ERROR(TimeoutError, UserError, "The operation timed out");
/// A UNIX socket's file cannot be used: connectUNIX with checkPID found no
/// live server's lock beside it.
TWISTED_DEFINE_ERROR(BadFileError, ConnectError, "The UNIX socket's file cannot be used");
/// The connection was made but the factory's buildProtocol returned nothing.
TWISTED_DEFINE_ERROR(NoProtocol, ConnectError, "The factory built no protocol");
/// IConnector::stopConnecting when not connecting.
TWISTED_DEFINE_ERROR(NotConnectingError, Error, "The connector is not trying to connect");
/// Raised when a port that is not listening is asked to stop listening.
TWISTED_DEFINE_ERROR(NotListeningError, Error, "The port is not listening");
/// A single-use server endpoint (AdoptedStreamServerEndpoint) was asked to
/// listen a second time.
TWISTED_DEFINE_ERROR(AlreadyListened, Error, "The endpoint has already listened");
/// A string given to serverFromString/clientFromString is not a valid
/// endpoint description (Twisted raises ValueError).
TWISTED_DEFINE_ERROR(InvalidEndpointDescription, Error, "Invalid endpoint description");

// --- Deferreds and tasks (twisted.internet.defer, twisted.internet.task) -----
/// Raised by Deferred::callback or errback when the Deferred has already fired.
TWISTED_DEFINE_ERROR(AlreadyCalledError, Error, "The Deferred has already been fired");
/// The failure a Deferred fires with when cancel() is called before it fired.
TWISTED_DEFINE_ERROR(CancelledError, Error, "The Deferred was cancelled");
/// A client endpoint's connect() was cancelled before it connected (in
/// Twisted a separate class; here a CancelledError, so one catch serves).
TWISTED_DEFINE_ERROR(ConnectingCancelledError, CancelledError,
                     "The connection attempt was cancelled");
/// Raised by DeferredQueue::put() when the queue already holds its maximum of items.
TWISTED_DEFINE_ERROR(QueueOverflow, Error, "The DeferredQueue is full");
/// Raised by DeferredQueue::get() when its maximum of get()s are already waiting.
TWISTED_DEFINE_ERROR(QueueUnderflow, Error, "Too many waiters on the DeferredQueue");
/// A Cooperator or one of its tasks was in the wrong state; the base of the task errors.
TWISTED_DEFINE_ERROR(SchedulerError, Error, "Cooperative task scheduling error");
/// The failure of a task whose Cooperator was stopped; raised by stop() on such a task.
TWISTED_DEFINE_ERROR(SchedulerStopped, SchedulerError, "The Cooperator was stopped");
/// A task had already ended; the base of TaskDone, TaskStopped and TaskFailed.
TWISTED_DEFINE_ERROR(TaskFinished, SchedulerError, "The task has finished");
/// Raised by CooperativeTask::stop() when the task already completed successfully.
TWISTED_DEFINE_ERROR(TaskDone, TaskFinished, "The task has completed");
/// The failure of a stop()ped task; raised by stop() when called again.
TWISTED_DEFINE_ERROR(TaskStopped, TaskFinished, "The task was stopped");
/// Raised by CooperativeTask::stop() when the task already ended with a failure.
TWISTED_DEFINE_ERROR(TaskFailed, TaskFinished, "The task failed");
/// Raised by CooperativeTask::resume() when the task is not paused.
TWISTED_DEFINE_ERROR(NotPaused, SchedulerError, "The task is not paused");

}  // namespace twisted::error
