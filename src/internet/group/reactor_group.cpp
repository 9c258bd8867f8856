// ReactorGroup (twisted/internet/reactor_group.hpp): the workers' threads,
// the SO_REUSEPORT sockets, and stopping them all.
#include "twisted/internet/reactor_group.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor_socket.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted {

namespace {

// The address to bind: a numeric IPv4 or IPv6 address and a port.
struct Bindable {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
};

Bindable bindable(const std::string& interface, int port) {
  Bindable b;
  std::string host = interface.empty() ? "0.0.0.0" : interface;
  if (host.find(':') != std::string::npos) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&b.storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) != 1) {
      throw error::CannotListenError(host + ": not a numeric IPv6 address");
    }
    b.family = AF_INET6;
    b.length = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&b.storage);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) != 1) {
      throw error::CannotListenError(host + ": not a numeric IPv4 address");
    }
    b.length = sizeof(sockaddr_in);
  }
  return b;
}

void setPort(Bindable& b, int port) {
  auto p = htons(static_cast<std::uint16_t>(port));
  if (b.family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&b.storage)->sin6_port = p;
  } else {
    reinterpret_cast<sockaddr_in*>(&b.storage)->sin_port = p;
  }
}

// A listening socket of the reuse-port group on `b`; throws, closing it.
int reusePortSocket(const Bindable& b, int backlog, const std::string& where) {
  int fd = ::socket(b.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw error::CannotListenError(where + ": socket: " + std::strerror(errno), errno);
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::bind(fd, reinterpret_cast<const sockaddr*>(&b.storage), b.length) != 0 ||
      ::listen(fd, backlog) != 0) {
    int err = errno;
    ::close(fd);
    throw error::CannotListenError(where + ": " + std::strerror(err), err);
  }
  return fd;
}

int boundPort(int fd) {
  sockaddr_storage s{};
  socklen_t n = sizeof s;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&s), &n);
  if (s.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&s)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&s)->sin_port);
}

}  // namespace

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
  Bindable where = bindable(interface, port);
  std::string what = (interface.empty() ? "0.0.0.0" : interface) + ":" + std::to_string(port);
  std::vector<std::shared_ptr<IListeningPort>> ports;
  try {
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      int fd = reusePortSocket(where, backlog, what);
      // Port 0: the first socket's port, for every other worker too.
      if (i == 0 && port == 0) setPort(where, boundPort(fd));
      try {
        ports.push_back(workers_[i]->adoptStreamPort(fd, where.family, factory));
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);  // the worker serves its own duplicate
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
