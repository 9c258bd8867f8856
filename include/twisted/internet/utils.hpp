// Running a program for its output or exit code, as Twisted's
// twisted.internet.utils: getProcessOutput, getProcessValue,
// getProcessOutputAndValue, each a Deferred (and so a co_await).
//
//   std::string listing = co_await twisted::utils::getProcessOutput(reactor, "/bin/ls", {"-l"});
//   int code = co_await twisted::utils::getProcessValue(reactor, "/bin/false");
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/process.hpp"
#include "twisted/internet/reactor_process.hpp"

namespace twisted {

namespace error {
/// getProcessOutput's child wrote to stderr (Twisted's
/// _UnexpectedErrorOutput, an IOError). processEnded() fires when the
/// child has ended (with its ProcessDone or ProcessTerminated as a failure).
class UnexpectedErrorOutput : public Error {
 public:
  /// Builds the error for the first bytes the child wrote to stderr.
  UnexpectedErrorOutput(const std::string& text, Deferred<void> processEnded)
      : Error(compose("got stderr", text)), processEnded_(std::move(processEnded)) {}
  /// Fires (with the child's end as a failure) once it has ended.
  Deferred<void> processEnded() const { return processEnded_; }

 private:
  Deferred<void> processEnded_;
};
/// getProcessOutputAndValue's child was killed by a signal (Twisted
/// errbacks with the tuple (out, err, signal)).
class ProcessSignalledError : public Error {
 public:
  /// Builds the error from what the child wrote and the signal.
  ProcessSignalledError(std::string out, std::string err, int signal)
      : Error(compose("The process was killed by a signal", "signal " + std::to_string(signal))),
        out_(std::move(out)),
        err_(std::move(err)),
        signal_(signal) {}
  /// What it wrote to stdout before it died.
  const std::string& out() const { return out_; }
  /// What it wrote to stderr before it died.
  const std::string& err() const { return err_; }
  /// The signal that killed it.
  int signal() const { return signal_; }

 private:
  std::string out_, err_;
  int signal_;
};
}  // namespace error

namespace utils {

/// What getProcessOutputAndValue gives: all of stdout, all of stderr, the
/// exit code.
struct ProcessOutputAndValue {
  std::string out;  ///< Everything the child wrote to stdout.
  std::string err;  ///< Everything it wrote to stderr.
  int code = 0;     ///< Its exit code.
};

/// Runs `executable` with `args` (not counting the name, which is given
/// as args[0], as Twisted does) and fires with everything it wrote to
/// stdout once it has ended. With `errortoo`, stderr is included; without,
/// the first bytes on stderr fail the Deferred with
/// error::UnexpectedErrorOutput (and stdin, stdout and stderr are closed).
/// A child that cannot run fails it with error::ProcessSpawnError.
Deferred<std::string> getProcessOutput(IReactorProcess& reactor, std::string executable,
                                       std::vector<std::string> args = {},
                                       std::optional<Environment> env = Environment{},
                                       std::optional<std::string> path = {}, bool errortoo = false);

/// Runs `executable` and fires with its exit code. A child killed by a
/// signal fails it with error::ProcessTerminated (Twisted fires None).
Deferred<int> getProcessValue(IReactorProcess& reactor, std::string executable,
                              std::vector<std::string> args = {},
                              std::optional<Environment> env = Environment{},
                              std::optional<std::string> path = {});

/// Runs `executable`, writing `stdinBytes` (if given) to its stdin and
/// closing it, and fires with its stdout, stderr and exit code. A child
/// killed by a signal fails it with error::ProcessSignalledError, which
/// holds what it wrote.
Deferred<ProcessOutputAndValue> getProcessOutputAndValue(
    IReactorProcess& reactor, std::string executable, std::vector<std::string> args = {},
    std::optional<Environment> env = Environment{}, std::optional<std::string> path = {},
    std::optional<std::string> stdinBytes = {});

}  // namespace utils
}  // namespace twisted
