// Handing a live connection to another protocol: the hook under
// startTLS (twisted::tls), and under any upgrade a protocol negotiates in
// band (STARTTLS, HTTP's Upgrade).
#pragma once

#include <memory>

#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted {

/// Makes `next` the protocol of the connected `transport` (a reactor's TCP
/// or UNIX stream transport) and returns the one it replaces. From now on
/// every event of the connection (dataReceived, connectionLost, a
/// half-close) goes to `next`; bytes already handed to the old protocol
/// stay its own. Neither protocol is told: `next->makeConnection` is the
/// caller's to call, and the old protocol's `transport` is left as it is.
/// On a connection a client endpoint made, the old protocol is the one the
/// user's factory built: the endpoint's own layer between the two, which
/// only passed events on, is dropped.
/// Safe inside the old protocol's dataReceived: the rest of that call's
/// bytes are still the old protocol's, the next read goes to `next`.
/// Ownership: the transport owns `next` as it owned the old protocol; the
/// caller holds the returned one (or lets it die).
/// @throws std::invalid_argument if `transport` is not a reactor's TCP or
///   UNIX stream transport, or `next` is null; std::logic_error if the
///   connection is not connected.
std::shared_ptr<Protocol> replaceProtocol(ITransport& transport, std::shared_ptr<Protocol> next);

/// True if `transport` is a reactor's TCP or UNIX stream connection (what
/// replaceProtocol takes). Such a transport gathers what is written inside
/// its protocol's dataReceived and sends it with one system call after it.
bool isReactorStreamTransport(const ITransport& transport);

}  // namespace twisted
