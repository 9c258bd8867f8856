// TLS over any stream endpoint: the client side fires after the handshake.
#include "twisted/tls/endpoints.hpp"

#include "twisted/internet/error.hpp"
#include "twisted/tls/tls_protocol.hpp"

namespace twisted::tls {

TLSWrapperClientEndpoint::TLSWrapperClientEndpoint(
    std::shared_ptr<IOpenSSLConnectionCreator> creator,
    std::shared_ptr<IStreamClientEndpoint> wrapped)
    : creator_(std::move(creator)), wrapped_(std::move(wrapped)) {}

namespace {

// What the wrapped endpoint fired with, waited on until its handshake ends.
// Cancelling aborts the connection; the waiter then finds the Deferred
// already failed with ConnectingCancelledError and leaves it.
Deferred<std::shared_ptr<Protocol>> afterHandshake(const std::shared_ptr<Protocol>& connected) {
  auto tls = std::dynamic_pointer_cast<TLSMemoryBIOProtocol>(connected);
  if (!tls) throw std::logic_error("TLSWrapperClientEndpoint: the connection is not TLS");
  std::weak_ptr<TLSMemoryBIOProtocol> weak = tls;
  Deferred<std::shared_ptr<Protocol>> done([weak](Deferred<std::shared_ptr<Protocol>>& self) {
    self.errback(error::ConnectingCancelledError("cancelled during the TLS handshake"));
    if (auto t = weak.lock()) t->abortConnection();
  });
  tls->whenHandshakeDone([done, weak](const Failure* reason) mutable {
    if (done.called()) return;
    if (reason) {
      done.errback(*reason);
    } else if (auto t = weak.lock()) {
      done.callback(t->wrappedProtocol);
    }
  });
  return done;
}

}  // namespace

Deferred<std::shared_ptr<Protocol>> TLSWrapperClientEndpoint::connect(
    std::shared_ptr<Factory> factory) {
  auto tls = std::make_shared<TLSMemoryBIOFactory>(creator_, TLSRole::Client, std::move(factory));
  tls->handshakeTimeout = handshakeTimeout;
  // Cancelling while the wrapped endpoint connects cancels that attempt;
  // cancelling during the handshake cancels the Deferred chained here.
  return wrapped_->connect(std::move(tls)).addCallback(afterHandshake);
}

std::string TLSWrapperClientEndpoint::describe() const {
  return "tls-wrapped:" + wrapped_->describe();
}

std::shared_ptr<TLSWrapperClientEndpoint> wrapClientTLS(
    std::shared_ptr<IOpenSSLConnectionCreator> creator,
    std::shared_ptr<IStreamClientEndpoint> wrapped) {
  return std::make_shared<TLSWrapperClientEndpoint>(std::move(creator), std::move(wrapped));
}

TLSWrapperServerEndpoint::TLSWrapperServerEndpoint(
    std::shared_ptr<IOpenSSLConnectionCreator> creator,
    std::shared_ptr<IStreamServerEndpoint> wrapped)
    : creator_(std::move(creator)), wrapped_(std::move(wrapped)) {}

Deferred<std::shared_ptr<IListeningPort>> TLSWrapperServerEndpoint::listen(
    std::shared_ptr<Factory> factory) {
  auto tls = std::make_shared<TLSMemoryBIOFactory>(creator_, TLSRole::Server, std::move(factory));
  tls->handshakeTimeout = handshakeTimeout;
  return wrapped_->listen(std::move(tls));
}

std::string TLSWrapperServerEndpoint::describe() const {
  std::string inner = wrapped_->describe();
  // "tcp:8443:..." reads as Twisted's "ssl:8443:..."; anything else is
  // named as wrapped.
  if (inner.rfind("tcp:", 0) == 0) return "ssl:" + inner.substr(4);
  return "ssl-wrapped:" + inner;
}

std::shared_ptr<TLSWrapperServerEndpoint> wrapServerTLS(
    std::shared_ptr<IOpenSSLConnectionCreator> creator,
    std::shared_ptr<IStreamServerEndpoint> wrapped) {
  return std::make_shared<TLSWrapperServerEndpoint>(std::move(creator), std::move(wrapped));
}

std::shared_ptr<TLSWrapperServerEndpoint> SSL4ServerEndpoint(
    IReactorTCP& reactor, int port, std::shared_ptr<IOpenSSLConnectionCreator> creator, int backlog,
    std::string interface) {
  return wrapServerTLS(std::move(creator), std::make_shared<TCP4ServerEndpoint>(
                                               reactor, port, backlog, std::move(interface)));
}

std::shared_ptr<TLSWrapperClientEndpoint> SSL4ClientEndpoint(
    IReactorTCP& reactor, std::string host, int port,
    std::shared_ptr<IOpenSSLConnectionCreator> creator, double timeout,
    std::optional<BindAddress> bindAddress) {
  return wrapClientTLS(std::move(creator),
                       std::make_shared<TCP4ClientEndpoint>(reactor, std::move(host), port, timeout,
                                                            std::move(bindAddress)));
}

}  // namespace twisted::tls
