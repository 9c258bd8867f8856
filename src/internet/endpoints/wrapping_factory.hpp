// The factory a client endpoint hands to connectTCP: it builds the user's
// protocol with the user's factory, wraps it so that the connect() Deferred
// fires once the protocol's connectionMade has run, and turns a failed
// attempt into that Deferred's errback (Twisted's endpoints._WrappingFactory).
#pragma once

#include <memory>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/protocol.hpp"

namespace twisted::detail {

class WrappingFactory final : public ClientFactory,
                              public std::enable_shared_from_this<WrappingFactory> {
 public:
  /// A factory whose Deferred (onConnection) is cancellable.
  static std::shared_ptr<WrappingFactory> make(std::shared_ptr<Factory> wrapped);

  /// Fires with the user's protocol, or fails. Take it once, right after
  /// make(): the factory keeps it only until it fires.
  Deferred<std::shared_ptr<Protocol>> onConnection() { return onConnection_; }

  /// Cancels the Deferred if it has not fired (as its cancel() would), for
  /// owners that keep only a weak reference to this factory.
  void abandon() {
    if (fired_) return;
    Deferred<std::shared_ptr<Protocol>> d = onConnection_;
    d.cancel();
  }

  void startedConnecting(IConnector& connector) override;
  void clientConnectionFailed(IConnector& connector, const Failure& reason) override;
  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override;
  void startFactory() override { wrapped_->doStart(); }
  void stopFactory() override { wrapped_->doStop(); }
  std::string logPrefix() const override { return wrapped_->logPrefix(); }

  explicit WrappingFactory(std::shared_ptr<Factory> wrapped) : wrapped_(std::move(wrapped)) {}

  // ---- called by the wrapping protocol ----------------------------------------
  /// The connection is up; the user's connectionMade is about to run.
  void attach(const std::shared_ptr<ITransport>& transport) { transport_ = transport; }
  /// The wrapped protocol's connectionMade has run: fire, unless cancelled.
  void connected(const std::shared_ptr<Protocol>& wrapped);

 private:
  void cancel(Deferred<std::shared_ptr<Protocol>>& d);

  std::shared_ptr<Factory> wrapped_;
  Deferred<std::shared_ptr<Protocol>> onConnection_;
  std::weak_ptr<IConnector> connector_;
  std::weak_ptr<ITransport> transport_;  // once connected
  bool built_ = false;
  bool fired_ = false;
};

/// The protocol an endpoint's wrapper passes every event to, if
/// `protocol` is such a wrapper; otherwise `protocol` itself. A protocol
/// switch (replaceProtocol, under startTLS) drops the wrapper: it has done
/// its work once connectionMade has run, and what replaces it must reach
/// the user's protocol directly.
std::shared_ptr<Protocol> unwrapEndpointProtocol(std::shared_ptr<Protocol> protocol);

}  // namespace twisted::detail
