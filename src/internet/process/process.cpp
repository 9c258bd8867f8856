// process::Process: a child, its pipes, its reaping, and the order in which
// its protocol hears of each (Twisted's process.Process).
#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "reaper.hpp"
#include "spawn.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::process {

namespace {
const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.process");
  return instance;
}

int signalNumber(std::string_view name) {
  if (name.starts_with("SIG")) name.remove_prefix(3);
  static const std::pair<const char*, int> kNames[] = {
      {"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"HUP", SIGHUP},
      {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
      {"QUIT", SIGQUIT}, {"ALRM", SIGALRM}};
  for (auto [n, number] : kNames) {
    if (name == n) return number;
  }
  throw std::invalid_argument("signalProcess: unknown signal '" + std::string(name) + "'");
}

// Both ends close-on-exec (the child gets its end through dup2); the
// parent's end non-blocking, the child's as any program expects.
std::pair<int, int> makePipe(const std::string& executable) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    int err = errno;
    throw error::ProcessSpawnError(executable,
                                   std::string("cannot make a pipe: ") + std::strerror(err), err);
  }
  return {fds[0], fds[1]};
}
}  // namespace

Process::Process(Reactor& reactor, std::shared_ptr<ProcessProtocol> protocol,
                 std::string executable)
    : reactor_(reactor),
      protocol_(std::move(protocol)),
      executable_(std::move(executable)),
      stdinProducer_(reactor) {}

Process::~Process() = default;

void Process::start(SpawnRequest request, const ChildFDs& childFDs, bool usePTY) {
  // The child's ends, closed here once it has them (or it failed to start).
  std::vector<int> childEnds;
  struct CloseChildEnds {
    std::vector<int>& fds;
    ~CloseChildEnds() {
      for (int fd : fds) ::close(fd);
    }
  } closeChildEnds{childEnds};
  std::weak_ptr<Process> self = weak_from_this();
  if (usePTY) {
    openPty(request, childEnds);
  } else {
    for (const auto& [childFD, what] : childFDs) {
      if (childFD < 0) throw std::invalid_argument("childFDs: a negative descriptor");
      if (what.kind() == ChildFD::Kind::Inherit) {
        request.targets.emplace_back(childFD, what.parentFd());
        continue;
      }
      auto [readEnd, writeEnd] = makePipe(request.executable);
      bool parentReads = what.kind() == ChildFD::Kind::Read;
      int mine = parentReads ? readEnd : writeEnd;
      int theirs = parentReads ? writeEnd : readEnd;
      childEnds.push_back(theirs);
      std::shared_ptr<ChildPipe> pipe;
      if (parentReads) {
        pipe = std::make_shared<ChildReader>(self, childFD, mine);
      } else {
        pipe = std::make_shared<ChildWriter>(self, childFD, mine);
      }
      pipes_[childFD] = std::move(pipe);
      writable_[childFD] = !parentReads;
      request.targets.emplace_back(childFD, theirs);
    }
  }
  std::shared_ptr<void> ready = prepareReaping(reactor_);
  pid_ = spawn(request);
  try {
    reaper_ = startReaping(reactor_, self, pid_);
  } catch (const std::system_error& e) {
    // It cannot be waited for here (a pidfd refused since the probe).
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    throw error::ProcessSpawnError(request.executable,
                                   std::string("cannot wait for the child: ") + e.what(),
                                   e.code().value());
  }
  reactor_.track(shared_from_this());
  for (auto& [fd, pipe] : pipes_) pipe->begin(reactor_);
  protocol_->makeConnection(shared_from_this());
}

void Process::openPty(SpawnRequest& request, std::vector<int>& childEnds) {
  auto fail = [&](const char* what) {
    int err = errno;
    throw error::ProcessSpawnError(
        request.executable, std::string("cannot make a PTY: ") + what + ": " + std::strerror(err),
        err);
  };
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail("posix_openpt");
  // Owned by pty_ from here: closed if what follows throws.
  pty_ = std::make_shared<ChildWriter>(weak_from_this(), 1, master, PipeOptions{},
                                       /*readsToo=*/true);
  char name[64];
  if (::grantpt(master) != 0 || ::unlockpt(master) != 0) fail("unlockpt");
  if (::ptsname_r(master, name, sizeof name) != 0) fail("ptsname");
  int slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fail(name);
  childEnds.push_back(slave);
  // The child's side blocks, as any program expects of its terminal.
  request.targets = {{0, slave}, {1, slave}, {2, slave}};
  request.pty = true;
  pipes_[1] = pty_;
  writable_[0] = true;
}

std::optional<pid_t> Process::pid() const {
  if (reaped_ || pid_ < 0) return std::nullopt;
  return pid_;
}

void Process::writeSequence(std::span<const std::string_view> data) {
  for (std::string_view part : data) write(part);
}

void Process::writeToChild(int childFD, std::string_view data) {
  auto self = shared_from_this();  // a failed write can end everything
  if (pty_ && childFD == 0) {
    pty_->write(data);
    stdinProducer_.wrote();
    return;
  }
  auto kind = writable_.find(childFD);
  if (kind == writable_.end() || !kind->second) {
    throw std::invalid_argument("writeToChild: descriptor " + std::to_string(childFD) +
                                " is not a \"w\" pipe");
  }
  // A pipe that has ended (the child closed it) takes writes and drops
  // them, as a closed transport does.
  auto it = pipes_.find(childFD);
  if (it == pipes_.end()) return;
  auto& writer = static_cast<ChildWriter&>(*it->second);
  writer.write(data);
  if (childFD == 0) stdinProducer_.wrote();
}

std::shared_ptr<ChildWriter> Process::stdinWriter() const {
  if (pty_) return pty_->open() ? pty_ : nullptr;
  auto it = pipes_.find(0);
  if (it == pipes_.end() || !it->second->isWriter() || !it->second->open()) return nullptr;
  return std::static_pointer_cast<ChildWriter>(it->second);
}

void Process::registerProducer(std::shared_ptr<IProducer> producer, bool streaming) {
  stdinProducer_.registerProducer(std::move(producer), streaming, stdinWriter());
}

void Process::unregisterProducer() {
  stdinProducer_.unregisterProducer();
}

void Process::pipeQueueShrank(int childFD, std::size_t queued) {
  // Stdin's writer is named 0, or 1 on a PTY (its master, also stdout).
  if (childFD == (pty_ ? 1 : 0)) stdinProducer_.shrank(queued);
}

void Process::closeChildFD(int childFD) {
  if (pty_) throw std::logic_error("closeChildFD: a PTY child has only its terminal");
  auto it = pipes_.find(childFD);
  if (it == pipes_.end()) return;
  std::shared_ptr<ChildPipe> pipe = it->second;
  pipe->close();
}

void Process::loseConnection() {
  if (pty_) {
    pty_->close();
    return;
  }
  closeStdin();
  closeStderr();
  closeStdout();
}

void Process::signalProcess(std::string_view signal) {
  signalProcess(signalNumber(signal));
}

void Process::signalProcess(int signal) {
  if (!reaper_ || !reaper_->signal(signal)) {
    throw error::ProcessExitedAlready("pid " + std::to_string(pid_));
  }
}

void Process::setWindowSize(unsigned short rows, unsigned short columns) {
  if (!pty_) IProcessTransport::setWindowSize(rows, columns);  // throws
  winsize size{};
  size.ws_row = rows;
  size.ws_col = columns;
  if (pty_->open() && ::ioctl(pty_->fileno(), TIOCSWINSZ, &size) != 0) {
    throw std::system_error(errno, std::generic_category(), "setWindowSize");
  }
}

void Process::pauseProducing() {
  paused_ = true;
  if (pty_) pty_->pause();
  for (auto& [fd, pipe] : pipes_) {
    if (!pipe->isWriter()) static_cast<ChildReader&>(*pipe).pause();
  }
}

void Process::resumeProducing() {
  paused_ = false;
  if (pty_) pty_->resume();
  for (auto& [fd, pipe] : pipes_) {
    if (!pipe->isWriter()) static_cast<ChildReader&>(*pipe).resume();
  }
}

void Process::pipeDataReceived(int childFD, std::string_view data) {
  if (protocol_) protocol_->childDataReceived(childFD, data);
}

void Process::pipeConnectionLost(int childFD, const Failure&) {
  auto self = shared_from_this();
  if (pipes_.find(childFD) == pipes_.end()) return;
  // The producer is stopped first, while the pipe is still known (as in
  // Twisted): one that loses the connection ends the other pipes, and the
  // last of those must not find this one gone and end the process early.
  if (childFD == 0 || pty_) stdinProducer_.ended();
  if (pipes_.erase(childFD) == 0) return;
  // A PTY's end is the end of all of it; Twisted tells the protocol
  // nothing but processEnded.
  if (protocol_ && !pty_) protocol_->childConnectionLost(childFD);
  maybeEnded();
}

void Process::reaped(const ExitStatus& status) {
  auto self = shared_from_this();
  reaped_ = true;
  status_ = status;
  if (protocol_) {
    try {
      protocol_->processExited(reason());
    } catch (...) {
      log().failure("Unhandled error in {protocol}.processExited", Failure::current(),
                    {{"protocol", logPrefix()}});
    }
  }
  maybeEnded();
}

Failure Process::reason() const {
  if (status_.exitCode && *status_.exitCode == 0) {
    // Every clean exit has the same reason, so one immutable copy serves
    // them all (processExited and processEnded included): composing the
    // message and allocating the exception was a fifth of the parent's
    // user time per child (bench/spawn).
    static const Failure done = Failure::of(error::ProcessDone(0));
    return done;
  }
  return Failure::of(error::ProcessTerminated(status_.exitCode, status_.signal, status_.status));
}

void Process::maybeEnded() {
  // Twisted's rule: ended once reaped *and* every pipe is closed.
  if (ended_ || !reaped_ || !pipes_.empty()) return;
  ended_ = true;
  std::shared_ptr<ProcessProtocol> protocol = std::move(protocol_);
  reactor_.untrack(*this);
  if (!protocol) return;
  try {
    protocol->processEnded(reason());
  } catch (...) {
    // Everything is let go already: the error is the protocol's alone.
    log().failure("Unhandled error in {protocol}.processEnded", Failure::current(),
                  {{"protocol", logPrefix()}});
  }
}

void Process::connectionLost(const Failure&) {
  // Shutdown: the pipes end (the protocol hears of each); the child runs on.
  auto self = shared_from_this();
  auto pipes = pipes_;
  for (auto& [fd, pipe] : pipes) pipe->abort();
  reactor_.untrack(*this);
}

}  // namespace twisted::process
