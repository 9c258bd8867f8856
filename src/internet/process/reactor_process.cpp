// ReactorProcess: the reactor's IReactorProcess
// (twisted/internet/reactor_process.hpp).
#include "twisted/internet/reactor_process.hpp"

#include <signal.h>

#include <mutex>
#include <stdexcept>

#include "process.hpp"
#include "twisted/internet/reactor.hpp"
#include "waitpid_reaper.hpp"

namespace twisted {

namespace {
// A write to a pipe whose child has gone raises SIGPIPE, whose default
// kills this process; sockets avoid it with MSG_NOSIGNAL, pipes cannot. So
// the first spawn ignores it, if nobody has set it (as Python and Twisted
// run with it ignored); the write then fails with EPIPE, which ends the
// pipe. Children start with the default again.
void ignoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL &&
        !(current.sa_flags & SA_SIGINFO)) {
      ::signal(SIGPIPE, SIG_IGN);
    }
  });
}
}  // namespace

std::shared_ptr<IProcessTransport> ReactorProcess::spawnProcess(
    std::shared_ptr<ProcessProtocol> protocol, std::string executable,
    std::vector<std::string> args, std::optional<Environment> env, std::optional<std::string> path,
    std::optional<uid_t> uid, std::optional<gid_t> gid, bool usePTY,
    std::optional<ChildFDs> childFDs) {
  if (!protocol) throw std::invalid_argument("spawnProcess needs a protocol");
  if (usePTY && childFDs) {
    throw std::invalid_argument("spawnProcess: childFDs cannot be used with usePTY");
  }
  if (args.empty()) throw std::invalid_argument("spawnProcess needs args (args[0] is the name)");
  ignoreSigpipe();
  process::SpawnRequest request{
      executable, std::move(args), std::move(env), std::move(path), uid, gid, {}};
  ChildFDs fds = childFDs ? std::move(*childFDs) : ChildFDs{{0, "w"}, {1, "r"}, {2, "r"}};
  auto p = std::make_shared<process::Process>(static_cast<Reactor&>(*this), std::move(protocol),
                                              executable);
  p->start(std::move(request), fds, usePTY);
  return p;
}

ReactorProcess::~ReactorProcess() = default;

}  // namespace twisted
