// Twisted's IReactorSSL and ITLSTransport.startTLS, as functions of the
// TLS library: the reactor itself knows nothing of TLS (so a program that
// does not use it does not link OpenSSL).
//
//   auto server = std::make_shared<tls::CertificateOptions>(
//       tls::PrivateCertificate::loadPEMFiles("key.pem", "cert.pem"));
//   tls::listenSSL(reactor, 8443, Factory::forProtocol<Echo>(), server);
//   tls::connectSSL(reactor, "localhost", 8443, clientFactory,
//                   tls::optionsForClientTLS("localhost"));
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "twisted/internet/transport.hpp"
#include "twisted/tls/interfaces.hpp"
#include "twisted/tls/tls_protocol.hpp"

namespace twisted::tls {

/// Twisted's listenSSL: listens on TCP `port` and serves each connection
/// the factory's protocol over TLS made by `contextFactory` (a
/// CertificateOptions). The handshake timeout is 30 s.
/// @throws what listenTCP throws (error::CannotListenError).
std::shared_ptr<IListeningPort> listenSSL(IReactorTCP& reactor, int port,
                                          std::shared_ptr<Factory> factory,
                                          std::shared_ptr<IOpenSSLConnectionCreator> contextFactory,
                                          int backlog = 50, std::string_view interface = "");

/// Twisted's connectSSL: connects over TCP and speaks TLS as a client with
/// connections made by `contextFactory` (optionsForClientTLS). A handshake
/// that fails (a certificate refused, say) reaches the factory's
/// clientConnectionFailed with the HandshakeError or VerificationError.
std::shared_ptr<IConnector> connectSSL(IReactorTCP& reactor, std::string host, int port,
                                       std::shared_ptr<ClientFactory> factory,
                                       std::shared_ptr<IOpenSSLConnectionCreator> contextFactory,
                                       double timeout = 30,
                                       std::optional<BindAddress> bindAddress = {});

/// Twisted's startTLS: from now on, the connected `transport` (a reactor's
/// TCP or UNIX stream transport) speaks TLS as `role`, for the protocol
/// that had it, whose `transport` becomes the returned TLS protocol (it is
/// not told connectionMade again; an IHandshakeListener is told
/// handshakeCompleted). Bytes already written go out in plaintext first.
/// `alreadyReceived` is what the peer sent after its request to upgrade
/// and the protocol has not yet consumed (LineReceiver::clearLineBuffer):
/// it is read as TLS, never as plaintext.
/// @throws std::invalid_argument for another kind of transport;
///   std::logic_error if it is not connected or speaks TLS already.
std::shared_ptr<TLSMemoryBIOProtocol> startTLS(
    ITransport& transport, std::shared_ptr<IOpenSSLConnectionCreator> contextFactory, TLSRole role,
    std::string_view alreadyReceived = {});

}  // namespace twisted::tls
