// StreamConnector: Twisted's base.BaseConnector, the repeatable client
// connection attempt of every stream kind (tcp::Connector, unix::Connector).
// Internal. See docs/architecture.md, "UNIX sockets".
//
// States: Disconnected -> Connecting (a client transport is trying) ->
// Connected (its protocol was built) -> Disconnected. The factory is
// started before the first attempt and stopped after a failure or a loss
// that the factory did not answer with connect().
#pragma once

#include <memory>
#include <optional>

#include "transport_host.hpp"
#include "twisted/internet/address.hpp"
#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::detail {

/// What a connector needs of its client transport.
class ConnectingTransport {
 public:
  virtual ~ConnectingTransport() = default;
  /// Begins the attempt on the next turn (connect() never reports
  /// synchronously, as in Twisted).
  virtual void begin() = 0;
  /// Abandons the attempt if not yet connected; the connector is told
  /// with `reason`. Does nothing once connected or already failed.
  virtual void failIfNotConnected(const Failure& reason) = 0;
  /// Closes a connected transport.
  virtual void loseConnection() = 0;
};

/// For a client transport's begin(): tracks `client` and runs its
/// `attempt` on the next turn, so that connect() reports nothing before it
/// returns (Twisted's rule), whatever the address.
template <class Client>
void attemptOnNextTurn(Client& client, void (Client::*attempt)()) {
  std::shared_ptr<Client> self = std::static_pointer_cast<Client>(client.shared_from_this());
  client.host().track(self);
  std::weak_ptr<Client> weak = self;
  client.host().clock().callLater(0, [weak, attempt] {
    if (std::shared_ptr<Client> c = weak.lock()) (c.get()->*attempt)();
  });
}

class StreamConnector : public IConnector {
 public:
  enum class State { Disconnected, Connecting, Connected };

  void connect() final;
  void disconnect() final;
  void stopConnecting() final;

  State state() const { return state_; }
  Reactor& reactor() const { return reactor_; }
  /// The current transport (connecting or connected), if any.
  const std::shared_ptr<ConnectingTransport>& transport() const { return transport_; }

  // ---- called by the client transport ----------------------------------------------
  std::shared_ptr<Protocol> buildProtocol(const Address& addr);
  void connectionFailed(const Failure& reason);
  void connectionLost(const Failure& reason);

 protected:
  StreamConnector(Reactor& reactor, std::shared_ptr<ClientFactory> factory, double timeout);
  /// A new client transport for one attempt at the destination.
  virtual std::shared_ptr<ConnectingTransport> makeTransport() = 0;

 private:
  void cancelTimeout();

  Reactor& reactor_;
  std::shared_ptr<ClientFactory> factory_;
  double timeout_;
  State state_ = State::Disconnected;
  bool factoryStarted_ = false;
  std::shared_ptr<ConnectingTransport> transport_;
  std::optional<DelayedCall> timeoutID_;
};

}  // namespace twisted::detail
