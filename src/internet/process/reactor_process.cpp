// ReactorProcess: the reactor's IReactorProcess
// (twisted/internet/reactor_process.hpp).
#include "twisted/internet/reactor_process.hpp"

#include <stdexcept>

#include "process.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted {

std::shared_ptr<IProcessTransport> ReactorProcess::spawnProcess(
    std::shared_ptr<ProcessProtocol> protocol, std::string executable,
    std::vector<std::string> args, std::optional<Environment> env, std::optional<std::string> path,
    std::optional<uid_t> uid, std::optional<gid_t> gid, std::optional<ChildFDs> childFDs) {
  if (!protocol) throw std::invalid_argument("spawnProcess needs a protocol");
  if (args.empty()) throw std::invalid_argument("spawnProcess needs args (args[0] is the name)");
  process::SpawnRequest request{
      executable, std::move(args), std::move(env), std::move(path), uid, gid, {}};
  ChildFDs fds = childFDs ? std::move(*childFDs) : ChildFDs{{0, "w"}, {1, "r"}, {2, "r"}};
  auto p = std::make_shared<process::Process>(static_cast<Reactor&>(*this), std::move(protocol),
                                              "(process " + executable + ")");
  p->start(std::move(request), fds);
  return p;
}

}  // namespace twisted
