// process::Process: a child, its pipes, its reaping, and the order in which
// its protocol hears of each (Twisted's process.Process).
#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
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

Process::Process(Reactor& reactor, std::shared_ptr<ProcessProtocol> protocol, std::string name)
    : reactor_(reactor), protocol_(std::move(protocol)), name_(std::move(name)) {}

Process::~Process() = default;

void Process::start(SpawnRequest request, const ChildFDs& childFDs) {
  // The child's ends, closed here once it has them (or it failed to start).
  std::vector<int> childEnds;
  struct CloseChildEnds {
    std::vector<int>& fds;
    ~CloseChildEnds() {
      for (int fd : fds) ::close(fd);
    }
  } closeChildEnds{childEnds};
  std::weak_ptr<Process> self = weak_from_this();
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
    ::fcntl(mine, F_SETFL, ::fcntl(mine, F_GETFL) | O_NONBLOCK);
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
  pid_ = spawn(request);
  try {
    reaper_ = std::make_shared<Reaper>(self, pid_);
  } catch (const std::system_error&) {
    // No pidfd (a kernel before 5.3): the child cannot be waited for here.
    ::kill(pid_, SIGKILL);
    throw error::ProcessSpawnError(
        request.executable, "this kernel has no pidfd_open (Linux 5.3 or later needed)", ENOSYS);
  }
  reactor_.track(shared_from_this());
  reactor_.addReader(reaper_);
  for (auto& [fd, pipe] : pipes_) pipe->begin(reactor_);
  protocol_->makeConnection(shared_from_this());
}

std::optional<pid_t> Process::pid() const {
  if (reaped_ || pid_ < 0) return std::nullopt;
  return pid_;
}

void Process::writeSequence(std::span<const std::string_view> data) {
  for (std::string_view part : data) write(part);
}

void Process::writeToChild(int childFD, std::string_view data) {
  auto kind = writable_.find(childFD);
  if (kind == writable_.end() || !kind->second) {
    throw std::invalid_argument("writeToChild: descriptor " + std::to_string(childFD) +
                                " is not a \"w\" pipe");
  }
  // A pipe that has ended (the child closed it) takes writes and drops
  // them, as a closed transport does.
  auto it = pipes_.find(childFD);
  if (it != pipes_.end()) static_cast<ChildWriter&>(*it->second).write(data);
}

void Process::closeChildFD(int childFD) {
  auto it = pipes_.find(childFD);
  if (it == pipes_.end()) return;
  std::shared_ptr<ChildPipe> pipe = it->second;
  pipe->close();
}

void Process::loseConnection() {
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

void Process::pauseProducing() {
  paused_ = true;
  for (auto& [fd, pipe] : pipes_) {
    if (!pipe->isWriter()) static_cast<ChildReader&>(*pipe).pause();
  }
}

void Process::resumeProducing() {
  paused_ = false;
  for (auto& [fd, pipe] : pipes_) {
    if (!pipe->isWriter()) static_cast<ChildReader&>(*pipe).resume();
  }
}

void Process::childDataReceived(int childFD, std::string_view data) {
  if (protocol_) protocol_->childDataReceived(childFD, data);
}

void Process::childConnectionLost(int childFD) {
  auto self = shared_from_this();
  if (pipes_.erase(childFD) == 0) return;
  if (protocol_) protocol_->childConnectionLost(childFD);
  maybeEnded();
}

void Process::reaped(int status, std::optional<int> exitCode, std::optional<int> signal) {
  auto self = shared_from_this();
  reaped_ = true;
  status_ = status;
  exitCode_ = exitCode;
  signal_ = signal;
  if (protocol_) {
    try {
      protocol_->processExited(reason());
    } catch (...) {
      log().failure("Unhandled error in {protocol}.processExited", Failure::current(),
                    {{"protocol", name_}});
    }
  }
  maybeEnded();
}

Failure Process::reason() const {
  if (exitCode_ && *exitCode_ == 0) return Failure::of(error::ProcessDone(status_));
  return Failure::of(error::ProcessTerminated(exitCode_, signal_, status_));
}

void Process::maybeEnded() {
  // Twisted's rule: ended once reaped *and* every pipe is closed.
  if (ended_ || !reaped_ || !pipes_.empty()) return;
  ended_ = true;
  std::shared_ptr<ProcessProtocol> protocol = std::move(protocol_);
  reactor_.untrack(*this);
  if (protocol) protocol->processEnded(reason());
}

void Process::connectionLost(const Failure&) {
  // Shutdown: the pipes end (the protocol hears of each); the child runs on.
  auto self = shared_from_this();
  auto pipes = pipes_;
  for (auto& [fd, pipe] : pipes) pipe->abort();
  reactor_.untrack(*this);
}

}  // namespace twisted::process
