// ReactorGroup (twisted/internet/reactor_group.hpp): the workers' threads,
// their ports (SO_REUSEPORT or one shared socket), and stopping them all.
#include "twisted/internet/reactor_group.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <thread>

#include "../errno_text.hpp"
#include "../socket/adopted_socket.hpp"
#include "../tcp/tcp.hpp"
#include "shared_tcp_ports.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted {

ReactorGroup::ReactorGroup(int workers, Backend backend) {
  if (workers < 1) throw std::invalid_argument("a ReactorGroup needs at least 1 worker");
  workers_.reserve(static_cast<std::size_t>(workers));
  for (int i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Reactor>(backend));
}

ReactorGroup::~ReactorGroup() = default;

int ReactorGroup::availableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

std::string ReactorGroup::workerName(int i) {
  return "worker-" + std::to_string(i + 1);
}

std::vector<std::shared_ptr<IListeningPort>> ReactorGroup::listenTCP(
    int port, std::shared_ptr<Factory> factory, int backlog, const std::string& interface,
    ListenMode mode) {
  if (!factory) throw std::invalid_argument("listenTCP needs a factory");
  // Each worker's port is a TCP port of its own reactor (listenTCP's
  // binding, errors and log line). ReusePort: bound by each, port 0 the
  // first one's number for the rest. SharedSocket: bound by the first and
  // adopted (duplicated) by the rest, every one accepting exclusively.
  std::vector<std::shared_ptr<tcp::Port>> ports;
  try {
    for (auto& worker : workers_) {
      std::shared_ptr<tcp::Port> p;
      if (mode == ListenMode::SharedSocket && !ports.empty()) {
        int fd = ports.front()->fileno();
        sockaddr_storage ss{};
        socklen_t length = sizeof ss;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &length) != 0) {
          throw error::CannotListenError(
              "ReactorGroup::listenTCP: getsockname: " + detail::errnoText(errno), errno);
        }
        detail::AdoptedSocket socket(fd, ss.ss_family, detail::AdoptedSocket::Kind::ListeningStream,
                                     "ReactorGroup::listenTCP");
        p = std::make_shared<tcp::Port>(*worker, std::move(socket), factory);
      } else {
        p = std::make_shared<tcp::Port>(*worker, port, factory, backlog, interface);
      }
      if (mode == ListenMode::ReusePort) p->setReusePort();
      if (mode == ListenMode::SharedSocket) p->setExclusiveAccept();
      p->startListening();
      if (port == 0) port = p->realPort();
      ports.push_back(std::move(p));
    }
  } catch (...) {
    for (auto& p : ports) p->stopListening();
    throw;
  }
  return {ports.begin(), ports.end()};
}

void ReactorGroup::shareTCPPorts() {
  if (sharing_) return;
  sharing_ = true;
  auto shared = std::make_shared<detail::SharedTCPPorts>(size());
  for (int i = 0; i < size(); ++i) {
    ReactorTCP& tcp = worker(i);
    tcp.sharedPorts_ = shared;
    tcp.sharedWorker_ = i;
  }
}

void ReactorGroup::run(bool installSignalHandlers) {
  // The other workers' threads start with SIGINT and SIGTERM blocked, so
  // the calling thread (worker 0, which installs the handlers) takes them.
  sigset_t handled;
  sigset_t before;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  std::vector<std::thread> threads;
  threads.reserve(workers_.size() - 1);
  {
    if (installSignalHandlers) ::pthread_sigmask(SIG_BLOCK, &handled, &before);
    struct Restore {
      bool on;
      const sigset_t& mask;
      ~Restore() {
        if (on) ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
      }
    } restore{installSignalHandlers, before};
    for (std::size_t i = 1; i < workers_.size(); ++i) {
      threads.emplace_back([this, i] {
        logger::setThreadLogSystem(workerName(static_cast<int>(i)));
        workers_[i]->run(false);
        stop();  // a worker that stops stops the group
      });
    }
  }
  std::string callerName = logger::threadLogSystem();
  logger::setThreadLogSystem(workerName(0));
  workers_[0]->run(installSignalHandlers);
  stop();
  for (auto& t : threads) t.join();
  logger::setThreadLogSystem(callerName);
}

void ReactorGroup::stop() {
  if (stopping_.exchange(true)) return;
  for (auto& worker : workers_) {
    Reactor* r = worker.get();
    r->callFromThread([r] {
      try {
        if (r->running()) r->stop();
      } catch (const error::ReactorNotRunning&) {
        // Already stopping by itself: nothing more to ask.
      }
    });
  }
}

}  // namespace twisted
