// TLS over any stream transport, as Twisted's twisted.protocols.tls
// (TLSMemoryBIOProtocol, TLSMemoryBIOFactory).
//
// TLSMemoryBIOProtocol is a protocol between two protocols: to the
// transport below (TCP, UNIX, a child's pipes, stdio, the test kit's
// loopback) it is the protocol; to the protocol above it is the transport.
// OpenSSL works on a BIO over memory (the bytes of each dataReceived, a
// buffer of ciphertext to send) and never sees a descriptor, so every
// reactor backend carries it unchanged.
//
//   auto tls = std::make_shared<twisted::tls::TLSMemoryBIOFactory>(
//       options, twisted::tls::TLSRole::Server, Factory::forProtocol<Echo>());
//   reactor.listenTCP(8443, tls);          // what listenSSL does
//
// What the protocol above sees:
// - connectionMade when the connection below is made (as in Twisted); what
//   it writes before the handshake completes is kept and sent after it.
//   An IHandshakeListener is told when the handshake has completed.
// - write() encrypts at once; the ciphertext queues below, and a producer
//   registered here is paused while the transport below is past its
//   high-water mark (before the handshake, while 64 KiB wait here).
// - loseConnection() sends close_notify once what is queued (and a
//   registered producer) is done, waits up to the shutdown timeout for the
//   peer's, then closes below: connectionLost(ConnectionDone).
//   abortConnection() closes below at once: ConnectionAborted.
// - The peer's close_notify: a half-closeable protocol gets
//   readConnectionLost and may go on writing; another one is closed
//   (close_notify back, ConnectionDone). An end below without the peer's
//   close_notify is connectionLost(TLSTruncation), never ConnectionDone.
// - A failed handshake is connectionLost(HandshakeError, or the
//   VerificationError that says why the certificate was refused); a
//   handshake not done within the handshake timeout is HandshakeTimeout.
//
// Ownership: the transport below owns this protocol, this protocol owns
// the protocol above (until connectionLost) and its SSL object (until it
// dies); the SSL object holds its context. The protocol above's
// `transport` is this protocol, kept after connectionLost.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "twisted/internet/delayed_call.hpp"
#include "twisted/protocols/protocol_wrapper.hpp"
#include "twisted/python/unique_function.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/interfaces.hpp"

namespace twisted::tls {

class TLSMemoryBIOFactory;
namespace detail {
class ProducerMembrane;
class WireBIO;
}  // namespace detail

/// Twisted's TLSMemoryBIOProtocol: TLS between the transport below and
/// the protocol above (see the top of this file).
class TLSMemoryBIOProtocol final : public policies::ProtocolWrapper,
                                   public ISSLTransport,
                                   public IHalfCloseableProtocol {
 public:
  /// Wraps `wrapped`, speaking TLS as `role` with a connection made by
  /// `creator`, on behalf of `factory` (which must outlive it).
  /// @throws what creator.connectionForTLS throws.
  TLSMemoryBIOProtocol(TLSMemoryBIOFactory& factory, std::shared_ptr<Protocol> wrapped,
                       IOpenSSLConnectionCreator& creator, TLSRole role);
  /// Frees the SSL object.
  ~TLSMemoryBIOProtocol() override;

  // ---- events from the transport below ----------------------------------------------
  /// Connects the protocol above, starts the handshake (a client sends its
  /// ClientHello now) and its timeout.
  void makeConnection(std::shared_ptr<ITransport> t) override;
  /// Decrypts: handshake messages, then plaintext for the protocol above.
  void dataReceived(std::string_view data) override;
  /// Tells the protocol above, with the TLS reason when there is one.
  void connectionLost(const Failure& reason) override;
  /// The end of the bytes from below: a truncation unless the peer's
  /// close_notify came first.
  void readConnectionLost() override;
  /// Nothing to do: this protocol shuts its own write side with close_notify.
  void writeConnectionLost() override {}

  // ---- the transport the protocol above sees -----------------------------------------
  /// Encrypts `data` and passes it below (keeps it until the handshake).
  void write(std::string_view data) override;
  /// Writes the pieces in order, as one write of their concatenation.
  void writeSequence(std::span<const std::string_view> data) override;
  using ITransport::writeSequence;
  /// Sends close_notify after what is queued, then closes (see above).
  void loseConnection() override;
  /// Closes the connection below at once.
  void abortConnection() override;
  /// Sends close_notify after what is queued and goes on reading until the
  /// peer's; the protocol above (if half-closeable) gets writeConnectionLost.
  void loseWriteConnection() override;
  /// True once loseConnection or abortConnection was called.
  bool disconnecting() const override;
  /// Plaintext waiting for the handshake, plus the queue below.
  std::size_t writeBufferSize() const override;
  /// Registers `producer` so that it is paused while the ciphertext queue
  /// below is past its high-water mark.
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override;
  /// Unregisters it; a pending loseConnection goes on.
  void unregisterProducer() override;
  /// Stops reading: no dataReceived until resumeProducing.
  void pauseProducing() override;
  /// Reads again, first delivering plaintext already decrypted.
  void resumeProducing() override;
  /// As loseConnection (Twisted's FileDescriptor.stopProducing).
  void stopProducing() override { loseConnection(); }

  // ---- ISSLTransport ---------------------------------------------------------------
  bool handshakeDone() const override { return handshakeDone_; }
  std::optional<Certificate> getPeerCertificate() const override;
  std::optional<std::string> negotiatedProtocol() const override;
  std::string tlsVersion() const override;
  std::string serverName() const override;
  bool sessionReused() const override;

  /// Calls `f` once, when the handshake completes (with null) or the
  /// connection ends without one (with the reason). At once if already so.
  void whenHandshakeDone(UniqueFunction<void(const Failure*)> f);
  /// The reason the connection failed or will be lost, if TLS gave one.
  const std::optional<Failure>& tlsFailure() const { return failure_; }
  /// OpenSSL's connection object (owned by this protocol).
  SSL* ssl() const { return ssl_.get(); }

 private:
  enum class Shutdown : std::uint8_t {
    None,     // reading and writing
    Wanted,   // loseConnection/loseWriteConnection asked; close_notify after the queue
    Sent,     // our close_notify is out
    Closing,  // the connection below is being closed
  };

  void startHandshake();
  void tryHandshake();
  void onHandshakeDone();
  void deliverPlaintext();
  void sslWrite(std::string_view data);
  void flushBelow();
  void maybeShutdown();
  void sendCloseNotify();
  void startShutdownTimer();
  void closeBelow(bool abort = false);
  void fail(Failure reason, bool abort = false);
  // startTLS: below is connected, the protocol above too.
  void adoptConnection(std::shared_ptr<ITransport> below);
  /// startTLS (reactor_ssl.hpp) puts one under a connected protocol.
  friend std::shared_ptr<TLSMemoryBIOProtocol> startTLS(ITransport&,
                                                        std::shared_ptr<IOpenSSLConnectionCreator>,
                                                        TLSRole, std::string_view);
  Failure errorReason(int sslError);
  void peerClosed();
  void finishHandshakeWaiters(const Failure* reason);

  TLSMemoryBIOFactory& tlsFactory_;
  std::shared_ptr<TLSMemoryBIOFactory> ownFactory_;  // startTLS's, which nothing else holds
  TLSRole role_;
  std::unique_ptr<detail::WireBIO> wire_;  // under ssl_, which dies first
  SSLHandle ssl_;
  std::string pending_;  // plaintext written before the handshake
  std::optional<Failure> failure_;
  std::shared_ptr<detail::ProducerMembrane> membrane_;
  std::vector<UniqueFunction<void(const Failure*)>> handshakeWaiters_;
  DelayedCall handshakeTimer_;
  DelayedCall shutdownTimer_;
  Shutdown shutdown_ = Shutdown::None;
  bool handshakeDone_ = false;
  bool closeWhenDone_ = false;  // loseConnection (not loseWriteConnection) asked
  bool peerCloseNotify_ = false;
  bool lost_ = false;
  bool paused_ = false;
  bool delivering_ = false;
  bool aborting_ = false;
  bool cleanEnd_ = false;      // closed below after our close_notify, without a failure
  bool writeThrough_ = false;  // below queues during its dataReceived (wire_bio.hpp)
};

/// Twisted's TLSMemoryBIOFactory: wraps each protocol `wrappedFactory`
/// builds in a TLSMemoryBIOProtocol speaking as `role`. Client events
/// pass to the wrapped factory with the TLS reasons: a connection whose
/// handshake failed is reported to clientConnectionFailed (with the
/// HandshakeError or VerificationError), not clientConnectionLost.
class TLSMemoryBIOFactory : public policies::WrappingFactory {
 public:
  /// Connections from `creator` (shared by all of them), as `role`.
  TLSMemoryBIOFactory(std::shared_ptr<IOpenSSLConnectionCreator> creator, TLSRole role,
                      std::shared_ptr<Factory> wrappedFactory);

  /// How long a handshake may take, in seconds (30 by default; 0: no limit).
  double handshakeTimeout = 30;
  /// How long to wait for the peer's close_notify after ours (5 by default;
  /// 0: close at once after sending ours).
  double shutdownTimeout = 5;

  /// The connection creator.
  IOpenSSLConnectionCreator& creator() const { return *creator_; }
  /// The role of its connections.
  TLSRole role() const { return role_; }

  std::shared_ptr<policies::ProtocolWrapper> wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                          const Address& addr) override;
  /// Passes the TLS reason on, to clientConnectionFailed if the handshake
  /// never completed.
  void clientConnectionLost(IConnector& connector, const Failure& reason) override;
  /// The wrapped factory's prefix followed by " (TLS)".
  std::string logPrefix() const override;

 private:
  friend class TLSMemoryBIOProtocol;
  std::shared_ptr<IOpenSSLConnectionCreator> creator_;
  TLSRole role_;
  // What the last connection's end was, as TLS saw it (a client factory
  // serves one connection at a time): read by clientConnectionLost.
  std::optional<Failure> lastReason_;
  bool lastHandshakeDone_ = false;
};

}  // namespace twisted::tls
