// AbstractDatagramProtocol, DatagramProtocol, ConnectedDatagramProtocol
// (twisted.internet.protocol's datagram half).
#include <string>

#include "twisted/internet/datagram.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted {

namespace {
const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.datagram");
  return instance;
}
}  // namespace

void AbstractDatagramProtocol::doStart() {
  // Counted once started (Twisted's order): a startProtocol that throws
  // leaves the protocol to be started by the next port.
  if (numPorts == 0) startProtocol();
  ++numPorts;
}

void AbstractDatagramProtocol::doStop() {
  if (numPorts == 0) return;  // unbalanced: ignore, as Twisted's doStop asserts
  if (--numPorts == 0) stopProtocol();
}

void AbstractDatagramProtocol::datagramTruncated(std::size_t size, const Address& from) {
  log().warn(
      "{protocol}: dropped a datagram of {size} bytes from {peer}: longer than the port's "
      "maxPacketSize",
      {{"protocol", logPrefix()}, {"size", size}, {"peer", toString(from)}});
}

void AbstractDatagramProtocol::writeFailed(const Failure& reason, const Address& to) {
  log().failure("{protocol}: a datagram to {peer} was not sent", reason,
                {{"protocol", logPrefix()}, {"peer", toString(to)}}, logger::LogLevel::error);
}

void DatagramProtocol::makeConnection(std::shared_ptr<IDatagramTransport> t) {
  transport = std::move(t);
  doStart();
}

void ConnectedDatagramProtocol::makeConnection(std::shared_ptr<IConnectedDatagramTransport> t) {
  transport = std::move(t);
  doStart();
}

}  // namespace twisted
