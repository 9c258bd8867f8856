// ReactorUNIX: the reactor's IReactorUNIX (twisted/internet/reactor_unix.hpp).
#include "twisted/internet/reactor_unix.hpp"

#include <stdexcept>

#include "twisted/internet/reactor.hpp"
#include "unix.hpp"

namespace twisted {

namespace {
// ReactorUNIX's only derived class.
Reactor& reactorOf(ReactorUNIX& self) {
  return static_cast<Reactor&>(self);
}
}  // namespace

std::shared_ptr<IListeningPort> ReactorUNIX::listenUNIX(std::string address,
                                                        std::shared_ptr<Factory> factory,
                                                        int backlog, int mode, bool wantPID) {
  if (!factory) throw std::invalid_argument("listenUNIX needs a factory");
  auto p = std::make_shared<unixsock::Port>(reactorOf(*this), std::move(address),
                                            std::move(factory), backlog, mode, wantPID);
  p->startListening();
  return p;
}

std::shared_ptr<IConnector> ReactorUNIX::connectUNIX(std::string address,
                                                     std::shared_ptr<ClientFactory> factory,
                                                     double timeout, bool checkPID) {
  if (!factory) throw std::invalid_argument("connectUNIX needs a factory");
  auto c = std::make_shared<unixsock::Connector>(reactorOf(*this), std::move(address),
                                                 std::move(factory), timeout, checkPID);
  c->connect();
  return c;
}

}  // namespace twisted
