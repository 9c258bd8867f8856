// proxyEndpoint: any server endpoint, behind the PROXY header.
#include <stdexcept>

#include "twisted/protocols/haproxy.hpp"

namespace twisted::haproxy {

HAProxyServerEndpoint::HAProxyServerEndpoint(std::shared_ptr<IStreamServerEndpoint> wrapped)
    : wrapped_(std::move(wrapped)) {
  if (!wrapped_) throw std::invalid_argument("HAProxyServerEndpoint: no endpoint to wrap");
}

Deferred<std::shared_ptr<IListeningPort>> HAProxyServerEndpoint::listen(
    std::shared_ptr<Factory> factory) {
  // The port holds the wrapping factory, which holds the user's.
  return wrapped_->listen(std::make_shared<HAProxyWrappingFactory>(std::move(factory)));
}

std::string HAProxyServerEndpoint::describe() const {
  return "haproxy:" + wrapped_->describe();
}

std::shared_ptr<HAProxyServerEndpoint> proxyEndpoint(
    std::shared_ptr<IStreamServerEndpoint> wrapped) {
  return std::make_shared<HAProxyServerEndpoint>(std::move(wrapped));
}

}  // namespace twisted::haproxy
