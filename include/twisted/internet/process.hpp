// Child processes, as Twisted's IProcessTransport and ProcessProtocol
// (twisted.internet.protocol.ProcessProtocol). spawnProcess is the
// reactor's (reactor_process.hpp); see docs/process.md.
//
//   class Collect : public twisted::ProcessProtocol {
//     void outReceived(std::string_view data) override { out += data; }
//     void processEnded(const twisted::Failure& reason) override { ... }
//     std::string out;
//   };
//   auto p = reactor.spawnProcess(std::make_shared<Collect>(), "/bin/echo", {"echo", "hi"});
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "twisted/internet/transport.hpp"
#include "twisted/python/failure.hpp"

namespace twisted {

/// What a child descriptor is connected to (Twisted's childFDs values):
/// "r", a pipe the parent reads (the child writes); "w", a pipe the parent
/// writes (the child reads); or a number, a descriptor of the parent that
/// the child gets as its own.
class ChildFD {
 public:
  /// "r" or "w". @throws std::invalid_argument for anything else.
  ChildFD(const char* kind);  // NOLINT(google-explicit-constructor): Twisted's spelling
  /// The parent's descriptor `parentFd`, shared with the child.
  ChildFD(int parentFd) : kind_(Kind::Inherit), parentFd_(parentFd) {}  // NOLINT

  /// What the descriptor is.
  enum class Kind {
    Read,    ///< "r": a pipe the parent reads
    Write,   ///< "w": a pipe the parent writes
    Inherit  ///< a descriptor of the parent's
  };
  /// What the descriptor is.
  Kind kind() const { return kind_; }
  /// The parent's descriptor, for Kind::Inherit.
  int parentFd() const { return parentFd_; }

 private:
  Kind kind_;
  int parentFd_ = -1;
};

/// The child's descriptors and what each is: {{0, "w"}, {1, "r"}, {2, "r"}}
/// by default. Every other descriptor is closed in the child.
using ChildFDs = std::map<int, ChildFD>;

/// The environment of a child, NAME -> value.
using Environment = std::map<std::string, std::string>;

/// Twisted's IProcessTransport: a running child, its pipes and its pid.
/// Pausing (IPushProducer) stops reading every pipe from the child, so a
/// child that writes faster than its protocol can take blocks. A PTY child
/// (usePTY) has one descriptor, its terminal: write and writeToChild(0)
/// reach its input, closeStdin/closeStdout/closeStderr do nothing (as in
/// Twisted), loseConnection closes the terminal, and closeChildFD or
/// writeToChild of another descriptor throw std::logic_error.
///
/// It is also the consumer of the child's stdin (IConsumer, as Twisted's
/// Process is): a registered streaming producer is paused while more than
/// 64 KiB wait to go to the child and resumed at 16 KiB; a pull producer
/// is asked for more each time the queue empties. When stdin ends (closed,
/// or the child closed its end) the producer is stopped and let go.
class IProcessTransport : public IConsumer, public IPushProducer {
 public:
  ~IProcessTransport() override = default;
  /// The child's pid until it has been reaped, then nothing.
  virtual std::optional<pid_t> pid() const = 0;
  /// Writes to the child's stdin (descriptor 0), in order, without blocking.
  void write(std::string_view data) override = 0;
  /// Writes each of `data` to stdin, in order.
  virtual void writeSequence(std::span<const std::string_view> data) = 0;
  /// Writes the pieces of a braced list, e.g. writeSequence({header, body}).
  void writeSequence(std::initializer_list<std::string_view> data) {
    writeSequence(std::span<const std::string_view>(data.begin(), data.size()));
  }
  /// Writes to the child's descriptor `childFD`, which must be a "w" pipe;
  /// once that pipe has ended (the child closed it) the bytes are dropped.
  /// @throws std::invalid_argument when it is not a "w" pipe.
  virtual void writeToChild(int childFD, std::string_view data) = 0;
  /// Closes the child's stdin once what is written has been sent (the
  /// child then reads end-of-file).
  virtual void closeStdin() = 0;
  /// Closes the pipe of the child's stdout (it gets EPIPE/SIGPIPE if it
  /// writes again).
  virtual void closeStdout() = 0;
  /// Closes the pipe of the child's stderr.
  virtual void closeStderr() = 0;
  /// Closes the parent's end of the pipe of `childFD` ("w" pipes after
  /// what is queued is sent). Nothing for a descriptor with no pipe.
  virtual void closeChildFD(int childFD) = 0;
  /// Closes stdin, stdout and stderr (Twisted's loseConnection); the child
  /// goes on running until it exits.
  virtual void loseConnection() = 0;
  /// Sends the child `signal`: "TERM", "KILL", "INT", "HUP", "STOP",
  /// "CONT", "USR1", "USR2", "QUIT" (with or without "SIG").
  /// @throws error::ProcessExitedAlready once the child has been reaped
  ///   (a signal never reaches a pid reused since), or found gone (reaped
  ///   by someone else); std::invalid_argument for an unknown name;
  ///   std::system_error for what the kernel refuses (EINVAL for a number
  ///   that is no signal, EPERM).
  virtual void signalProcess(std::string_view signal) = 0;
  /// Sends the child signal number `signal`. @throws as above.
  virtual void signalProcess(int signal) = 0;
  /// A PTY child's terminal size (TIOCSWINSZ: the child gets SIGWINCH).
  /// @throws std::logic_error if the child was not given a PTY.
  virtual void setWindowSize(unsigned short rows, unsigned short columns) {
    (void)rows;
    (void)columns;
    throw std::logic_error("setWindowSize: the child has no PTY (spawnProcess usePTY)");
  }
};

/// Twisted's ProcessProtocol: the handler of one child. Each callback has
/// Twisted's default (the per-descriptor ones dispatch to the stdin,
/// stdout and stderr ones).
class ProcessProtocol {
 public:
  virtual ~ProcessProtocol() = default;

  /// The child, set by makeConnection. Kept after processEnded.
  std::shared_ptr<IProcessTransport> transport;

  /// Called once the child runs: records it and calls connectionMade.
  virtual void makeConnection(std::shared_ptr<IProcessTransport> process);
  /// The child is running and its pipes are open.
  virtual void connectionMade() {}
  /// The child wrote `data` to its descriptor `childFD` (a "r" pipe);
  /// calls outReceived for 1, errReceived for 2.
  virtual void childDataReceived(int childFD, std::string_view data);
  /// The child wrote to stdout.
  virtual void outReceived(std::string_view data) { (void)data; }
  /// The child wrote to stderr.
  virtual void errReceived(std::string_view data) { (void)data; }
  /// The pipe of `childFD` is closed (either side closed it); calls
  /// inConnectionLost, outConnectionLost, errConnectionLost for 0, 1, 2.
  virtual void childConnectionLost(int childFD);
  /// stdin's pipe is closed.
  virtual void inConnectionLost() {}
  /// stdout's pipe is closed.
  virtual void outConnectionLost() {}
  /// stderr's pipe is closed.
  virtual void errConnectionLost() {}
  /// The child has been reaped (its pipes may still be open: a grandchild
  /// can hold them). `reason` is error::ProcessDone for exit status 0, else
  /// error::ProcessTerminated with the exit code or signal (neither when
  /// someone else reaped it: its status is lost). An exception it throws
  /// is logged; processEnded still comes.
  virtual void processExited(const Failure& reason) { (void)reason; }
  /// The child has been reaped *and* every pipe is closed: the end, once.
  /// By then the child is no longer watched or tracked, so an exception it
  /// throws is only logged.
  virtual void processEnded(const Failure& reason) { (void)reason; }
};

}  // namespace twisted
