// ReactorTCP: the reactor's IReactorTCP (twisted/internet/reactor_tcp.hpp).
#include "twisted/internet/reactor_tcp.hpp"

#include <stdexcept>

#include "../group/shared_tcp_ports.hpp"
#include "socket.hpp"
#include "tcp.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted {

namespace {
// ReactorTCP's only derived class.
Reactor& reactorOf(ReactorTCP& self) {
  return static_cast<Reactor&>(self);
}
}  // namespace

std::shared_ptr<IListeningPort> ReactorTCP::listenTCP(int port, std::shared_ptr<Factory> factory,
                                                      int backlog, std::string_view interface) {
  if (!factory) throw std::invalid_argument("listenTCP needs a factory");
  // A worker of a group that shares its TCP ports (ReactorGroup::shareTCPPorts)
  // binds with SO_REUSEPORT, a port 0 agreed with the group's first worker.
  int rank = -1;
  int asked = port;
  if (sharedPorts_) port = sharedPorts_->portFor(sharedWorker_, asked, rank);
  if (asked == 0 && port < 0) {
    // A port 0 that worker 0 has no number for: binding another would
    // split one service's address in two.
    throw error::CannotListenError(
        tcp::detail::describe(interface.empty() ? std::string_view("0.0.0.0") : interface, 0) +
        ": port 0 on a worker of a group sharing its TCP ports takes the first worker's "
        "number for its listen #" +
        std::to_string(rank + 1) + ", which it has not bound: listen on the first worker first");
  }
  auto p = std::make_shared<tcp::Port>(reactorOf(*this), port, std::move(factory), backlog,
                                       std::string(interface));
  if (sharedPorts_) p->setReusePort();
  p->startListening();  // a rank that failed stays unbound: later workers' port 0 refused
  if (sharedPorts_) sharedPorts_->bound(sharedWorker_, rank, p->realPort());
  return p;
}

std::shared_ptr<IConnector> ReactorTCP::connectTCP(std::string host, int port,
                                                   std::shared_ptr<ClientFactory> factory,
                                                   double timeout,
                                                   std::optional<BindAddress> bindAddress) {
  if (!factory) throw std::invalid_argument("connectTCP needs a factory");
  auto c = std::make_shared<tcp::Connector>(reactorOf(*this), std::move(host), port,
                                            std::move(factory), timeout, std::move(bindAddress));
  c->connect();
  return c;
}

}  // namespace twisted
