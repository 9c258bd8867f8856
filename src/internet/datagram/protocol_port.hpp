// ProtocolPort: a datagram port and the protocol it serves, for each kind
// (UDP, UNIX datagram, connected UNIX datagram): starting and stopping the
// protocol, the log prefix, restarting with the same protocol. Internal.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "datagram_port.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted::detail {

/// `P` is the protocol type (DatagramProtocol, ConnectedDatagramProtocol),
/// `Interface` the transport it is given (its `transport` member's type,
/// or a derived interface).
template <class P, class Interface>
class ProtocolPort : public DatagramPort, public Interface {
 public:
  void startListening() override {
    if (!protocol_) protocol_ = stopped_.lock();
    if (!protocol_) {
      throw std::logic_error(
          "startListening: the port's protocol is gone (it stopped, and no one kept it)");
    }
    try {
      start();
    } catch (...) {
      // Not listening: the port lets go of the protocol (whose `transport`
      // may already be this port) so that neither keeps the other alive.
      stopped_ = protocol_;
      protocol_.reset();
      throw;
    }
  }
  Deferred<void> stopListening() override { return stop(); }
  std::size_t maxPacketSize() const override { return maxPacketSize_; }
  IReactorTime* clock() const override { return &reactor_; }
  /// "Protocol (UDP)": the protocol's prefix and the kind, as Twisted's.
  std::string logPrefix() const override { return protocolPrefix() + " (" + kind() + ")"; }

 protected:
  ProtocolPort(Reactor& reactor, std::shared_ptr<P> protocol, std::size_t maxPacketSize)
      : DatagramPort(reactor, maxPacketSize), protocol_(std::move(protocol)) {}

  void protocolStarted() override {
    protocol_->makeConnection(std::static_pointer_cast<ProtocolPort>(shared_from_this()));
  }
  void protocolStopped() override {
    // The port lets go of its protocol (the protocol's `transport` keeps
    // the port, so holding both would be a cycle); a restart finds it
    // again if its owner still has it.
    std::shared_ptr<P> p = std::move(protocol_);
    stopped_ = p;
    p->doStop();
  }
  std::string protocolPrefix() const override {
    if (protocol_) return protocol_->logPrefix();
    if (auto p = stopped_.lock()) return p->logPrefix();
    return "DatagramProtocol";
  }

  std::shared_ptr<P> protocol_;

 private:
  std::weak_ptr<P> stopped_;
};

}  // namespace twisted::detail
