// ReactorGroup (twisted/internet/reactor_group.hpp): the workers' threads,
// their SO_REUSEPORT ports, and stopping them all.
#include "twisted/internet/reactor_group.hpp"

#include <sched.h>

#include <stdexcept>
#include <thread>

#include "../tcp/tcp.hpp"
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
    int port, std::shared_ptr<Factory> factory, int backlog, const std::string& interface) {
  if (!factory) throw std::invalid_argument("listenTCP needs a factory");
  // Each worker's port is a TCP port of its own reactor (listenTCP's
  // binding, errors and log line), bound with SO_REUSEPORT; port 0 is the
  // first one's number for the rest.
  std::vector<std::shared_ptr<IListeningPort>> ports;
  try {
    for (auto& worker : workers_) {
      auto p = std::make_shared<tcp::Port>(*worker, port, factory, backlog, interface);
      p->setReusePort();
      p->startListening();
      if (port == 0) port = p->realPort();
      ports.push_back(std::move(p));
    }
  } catch (...) {
    for (auto& p : ports) p->stopListening();
    throw;
  }
  return ports;
}

void ReactorGroup::run(bool installSignalHandlers) {
  std::vector<std::thread> threads;
  threads.reserve(workers_.size() - 1);
  for (std::size_t i = 1; i < workers_.size(); ++i) {
    threads.emplace_back([this, i] {
      logger::setThreadLogSystem(workerName(static_cast<int>(i)));
      workers_[i]->run(false);
      stop();  // a worker that stops stops the group
    });
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
