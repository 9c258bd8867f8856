#include "twisted/tls/tls_protocol.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>

#include "openssl_error.hpp"
#include "producer_membrane.hpp"
#include "twisted/internet/protocol_switch.hpp"
#include "verification.hpp"
#include "wire_bio.hpp"

namespace twisted::tls {

namespace {

// Plaintext written before the handshake beyond which a push producer is
// held paused (the queue below has its own high-water mark after it).
constexpr std::size_t kHoldAbove = 64 * 1024;
// The largest plaintext handed to one SSL_write: the ciphertext of one
// piece is moved below before the next is made.
constexpr std::size_t kWritePiece = 256 * 1024;
// Small pieces of writeSequence are joined into one record.
constexpr std::size_t kJoinBelow = 16 * 1024;

}  // namespace

void SSLFree::operator()(SSL* ssl) const noexcept {
  SSL_free(ssl);
}

TLSMemoryBIOProtocol::TLSMemoryBIOProtocol(TLSMemoryBIOFactory& factory,
                                           std::shared_ptr<Protocol> wrapped,
                                           IOpenSSLConnectionCreator& creator, TLSRole role)
    : ProtocolWrapper(factory, std::move(wrapped)),
      tlsFactory_(factory),
      role_(role),
      wire_(std::make_unique<detail::WireBIO>()),
      ssl_(creator.connectionForTLS(role)) {
  // One BIO both ways: SSL_set_bio takes a single reference for the two.
  SSL_set_bio(ssl_.get(), wire_->bio(), wire_->bio());
  wire_->adopted();
  if (role == TLSRole::Client) {
    SSL_set_connect_state(ssl_.get());
  } else {
    SSL_set_accept_state(ssl_.get());
  }
}

TLSMemoryBIOProtocol::~TLSMemoryBIOProtocol() {
  ssl_.reset();  // frees the BIO, before the WireBIO it reads goes
}

// ---- events from below ----------------------------------------------------------------

void TLSMemoryBIOProtocol::makeConnection(std::shared_ptr<ITransport> t) {
  auto self = shared_from_this();
  writeThrough_ = t && isReactorStreamTransport(*t);
  ProtocolWrapper::makeConnection(std::move(t));
  startHandshake();
}

void TLSMemoryBIOProtocol::adoptConnection(std::shared_ptr<ITransport> below) {
  // startTLS: the protocol above is connected already; it only gets a new transport.
  auto self = shared_from_this();
  writeThrough_ = below && isReactorStreamTransport(*below);
  Protocol::makeConnection(std::move(below));
  tlsFactory_.registerProtocol(*this);
  wrappedProtocol->transport = self;
  startHandshake();
}

void TLSMemoryBIOProtocol::startHandshake() {
  if (lost_ || shutdown_ == Shutdown::Closing) return;
  IReactorTime* c = clock();
  if (c && tlsFactory_.handshakeTimeout > 0) {
    std::weak_ptr<ProtocolWrapper> weak = weak_from_this();
    double timeout = tlsFactory_.handshakeTimeout;
    handshakeTimer_ = c->callLater(timeout, [weak, timeout] {
      auto self = std::static_pointer_cast<TLSMemoryBIOProtocol>(weak.lock());
      if (!self || self->lost_ || self->handshakeDone_) return;
      self->fail(
          Failure::of(HandshakeTimeout("no handshake within " + std::to_string(timeout) + " s")),
          /*abort=*/true);
    });
  }
  // A client's ClientHello goes out now; a server waits for it.
  if (role_ == TLSRole::Client) tryHandshake();
}

void TLSMemoryBIOProtocol::dataReceived(std::string_view data) {
  if (lost_ || aborting_ || data.empty()) return;
  auto self = shared_from_this();
  // OpenSSL reads `data` in place; what it leaves unread is copied when
  // this call ends, however it ends.
  wire_->feed(data);
  // Records go straight into the queue below (a reactor's stream
  // transport sends it after this returns), unless a producer is
  // registered: a queue past its high-water mark pauses it, and user code
  // must not run inside an OpenSSL call.
  if (writeThrough_ && transport && !membrane_) wire_->writeThrough(transport.get());
  struct KeepRest {
    detail::WireBIO& wire;
    ~KeepRest() {
      wire.keepRest();
      wire.writeThrough(nullptr);
    }
  } keep{*wire_};
  if (!handshakeDone_) {
    tryHandshake();
    if (!handshakeDone_) return;
  }
  deliverPlaintext();
}

void TLSMemoryBIOProtocol::tryHandshake() {
  detail::clearErrors();
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    flushBelow();
    onHandshakeDone();
    return;
  }
  int e = SSL_get_error(ssl_.get(), r);
  flushBelow();  // our next flight, or the alert that ends it
  if (e == SSL_ERROR_WANT_READ) return;
  fail(errorReason(e));
}

void TLSMemoryBIOProtocol::onHandshakeDone() {
  handshakeDone_ = true;
  if (handshakeTimer_.active()) handshakeTimer_.cancel();
  // The protocol is told first, as in Twisted, so that it can still drop
  // the connection (a peer it refuses) before any of its plaintext leaves;
  // what it writes meanwhile queues behind what was written before.
  if (!lost_ && !aborting_ && shutdown_ != Shutdown::Closing) {
    if (auto* listener = dynamic_cast<IHandshakeListener*>(wrappedProtocol.get())) {
      listener->handshakeCompleted();
    }
  }
  if (!pending_.empty()) {
    std::string queued = std::move(pending_);
    pending_.clear();
    if (!lost_ && !aborting_ && shutdown_ != Shutdown::Closing) sslWrite(queued);
  }
  if (membrane_) membrane_->ready();
  if (lost_ || shutdown_ == Shutdown::Closing) return;
  finishHandshakeWaiters(nullptr);
  maybeShutdown();
}

void TLSMemoryBIOProtocol::deliverPlaintext() {
  if (delivering_) return;  // the loop below goes on by itself
  delivering_ = true;
  char buffer[16 * 1024];
  while (!lost_ && !aborting_ && !paused_ && !peerCloseNotify_ && wrappedProtocol &&
         shutdown_ != Shutdown::Closing) {
    detail::clearErrors();
    int n = SSL_read(ssl_.get(), buffer, sizeof buffer);
    if (n > 0) {
      wrappedProtocol->dataReceived(std::string_view(buffer, static_cast<std::size_t>(n)));
      continue;
    }
    int e = SSL_get_error(ssl_.get(), n);
    if (e == SSL_ERROR_WANT_READ) break;
    delivering_ = false;
    if (e == SSL_ERROR_ZERO_RETURN) {
      flushBelow();
      peerClosed();
    } else {
      fail(errorReason(e));
    }
    return;
  }
  delivering_ = false;
  flushBelow();  // what reading made: a key update's answer, an alert
}

void TLSMemoryBIOProtocol::readConnectionLost() {
  if (lost_ || shutdown_ == Shutdown::Closing) return;
  if (peerCloseNotify_) {
    // Nothing more can come; we close once our own close_notify is out.
    if (shutdown_ == Shutdown::Sent) closeBelow();
    return;
  }
  if (shutdown_ == Shutdown::Sent) {
    closeBelow();  // we were closing and the peer closed without answering
    return;
  }
  if (!handshakeDone_) {
    fail(Failure::of(HandshakeError("the connection closed during the handshake")));
  } else {
    fail(Failure::of(TLSTruncation()));
  }
}

void TLSMemoryBIOProtocol::connectionLost(const Failure& reason) {
  if (lost_) return;
  lost_ = true;
  auto self = shared_from_this();
  if (handshakeTimer_.active()) handshakeTimer_.cancel();
  if (shutdownTimer_.active()) shutdownTimer_.cancel();
  Failure final = reason;
  if (failure_) {
    final = *failure_;
  } else if (cleanEnd_ && !aborting_) {
    // TLS ended cleanly (close_notify both ways, or ours and a timeout):
    // however the socket below went after that, nothing was cut short.
    final = Failure::of(error::ConnectionDone());
  } else if (reason.check<error::ConnectionDone>() && !peerCloseNotify_ &&
             shutdown_ != Shutdown::Sent && shutdown_ != Shutdown::Closing) {
    // Below ended cleanly, but TLS did not: a truncation (or a handshake cut short).
    final = handshakeDone_
                ? Failure::of(TLSTruncation())
                : Failure::of(HandshakeError("the connection closed during the handshake"));
  }
  tlsFactory_.lastReason_ = final;
  tlsFactory_.lastHandshakeDone_ = handshakeDone_;
  // Waiters still waiting: the handshake failed, or the connection went
  // before the handshake's end reached them.
  if (!handshakeWaiters_.empty()) finishHandshakeWaiters(&final);
  membrane_.reset();
  ProtocolWrapper::connectionLost(final);
}

// ---- the transport above --------------------------------------------------------------

void TLSMemoryBIOProtocol::write(std::string_view data) {
  if (lost_ || aborting_ || data.empty() || shutdown_ == Shutdown::Sent ||
      shutdown_ == Shutdown::Closing) {
    return;
  }
  // After loseConnection (or a half-close) nothing more is taken, unless a
  // producer is still registered, as Twisted has it; what was queued before goes out.
  if (shutdown_ == Shutdown::Wanted && !membrane_) return;
  if (!handshakeDone_ || !pending_.empty()) {
    pending_.append(data);
    if (membrane_ && pending_.size() > kHoldAbove) membrane_->hold(true);
    return;
  }
  auto self = shared_from_this();
  sslWrite(data);
}

void TLSMemoryBIOProtocol::writeSequence(std::span<const std::string_view> data) {
  std::size_t total = 0;
  for (std::string_view piece : data) total += piece.size();
  if (total <= kJoinBelow && data.size() > 1) {
    std::string joined;
    joined.reserve(total);
    for (std::string_view piece : data) joined.append(piece);
    write(joined);
    return;
  }
  for (std::string_view piece : data) write(piece);
}

void TLSMemoryBIOProtocol::sslWrite(std::string_view data) {
  while (!data.empty() && !lost_ && shutdown_ != Shutdown::Closing) {
    std::size_t n = std::min(data.size(), kWritePiece);
    detail::clearErrors();
    int r = SSL_write(ssl_.get(), data.data(), static_cast<int>(n));
    if (r <= 0) {
      fail(errorReason(SSL_get_error(ssl_.get(), r)));
      return;
    }
    data.remove_prefix(static_cast<std::size_t>(r));
    flushBelow();
  }
}

void TLSMemoryBIOProtocol::flushBelow() {
  std::string& out = wire_->output();
  if (out.empty()) return;
  std::size_t n = out.size();
  if (transport && !lost_) transport->write(std::string_view(out.data(), n));
  // Only what was handed below: a write below that reentered may have added more.
  out.erase(0, n);
}

void TLSMemoryBIOProtocol::loseConnection() {
  if (lost_ || aborting_ || closeWhenDone_ || shutdown_ == Shutdown::Closing) return;
  auto self = shared_from_this();
  closeWhenDone_ = true;
  if (!handshakeDone_ && pending_.empty() && !membrane_) {
    // Nothing to say yet, and no TLS session to close: close below.
    closeBelow();
    return;
  }
  if (shutdown_ == Shutdown::Sent) {
    // Our close_notify is out already (loseWriteConnection): close when the peer's comes.
    if (peerCloseNotify_) {
      closeBelow();
    } else {
      startShutdownTimer();
    }
    return;
  }
  shutdown_ = Shutdown::Wanted;
  maybeShutdown();
}

void TLSMemoryBIOProtocol::loseWriteConnection() {
  if (lost_ || aborting_ || shutdown_ != Shutdown::None) return;
  auto self = shared_from_this();
  shutdown_ = Shutdown::Wanted;
  maybeShutdown();
}

void TLSMemoryBIOProtocol::maybeShutdown() {
  // A close waits for a registered producer to unregister (ITransport's
  // loseConnection); a half-close does not, as TCP's does not: the caller
  // has said nothing more will be written.
  bool producerHolds = membrane_ && closeWhenDone_;
  if (shutdown_ != Shutdown::Wanted || !handshakeDone_ || !pending_.empty() || producerHolds ||
      lost_) {
    return;
  }
  sendCloseNotify();
  if (lost_ || shutdown_ == Shutdown::Closing) return;
  if (closeWhenDone_) {
    if (peerCloseNotify_) {
      closeBelow();
    } else {
      startShutdownTimer();
    }
    return;
  }
  // A half-close: we go on reading until the peer's close_notify.
  if (auto* half = dynamic_cast<IHalfCloseableProtocol*>(wrappedProtocol.get())) {
    half->writeConnectionLost();
  }
  if (peerCloseNotify_) closeBelow();
}

void TLSMemoryBIOProtocol::startShutdownTimer() {
  IReactorTime* c = clock();
  double timeout = tlsFactory_.shutdownTimeout;
  if (!c || timeout <= 0) {
    if (timeout <= 0) closeBelow();
    return;  // no clock: the peer's close_notify (or its end) closes
  }
  std::weak_ptr<ProtocolWrapper> weak = weak_from_this();
  shutdownTimer_ = c->callLater(timeout, [weak] {
    auto self = std::static_pointer_cast<TLSMemoryBIOProtocol>(weak.lock());
    if (self && !self->lost_) self->closeBelow();
  });
}

void TLSMemoryBIOProtocol::sendCloseNotify() {
  detail::clearErrors();
  (void)SSL_shutdown(ssl_.get());
  detail::clearErrors();
  shutdown_ = Shutdown::Sent;
  flushBelow();
}

void TLSMemoryBIOProtocol::peerClosed() {
  peerCloseNotify_ = true;
  if (shutdown_ == Shutdown::Sent) {
    closeBelow();  // both sides have said close_notify: nothing more can pass
    return;
  }
  if (auto* half = dynamic_cast<IHalfCloseableProtocol*>(wrappedProtocol.get())) {
    half->readConnectionLost();
    return;
  }
  // Not half-closeable: answer with our close_notify and close.
  sendCloseNotify();
  closeBelow();
}

void TLSMemoryBIOProtocol::closeBelow(bool abort) {
  if (shutdown_ == Shutdown::Closing && !abort) return;
  if (!abort && !failure_ && shutdown_ == Shutdown::Sent) cleanEnd_ = true;
  shutdown_ = Shutdown::Closing;
  if (shutdownTimer_.active()) shutdownTimer_.cancel();
  if (!transport || lost_) return;
  if (abort) {
    transport->abortConnection();
  } else {
    transport->loseConnection();
  }
}

void TLSMemoryBIOProtocol::fail(Failure reason, bool abort) {
  if (!failure_) failure_ = std::move(reason);
  flushBelow();  // the alert that says why
  closeBelow(abort);
}

Failure TLSMemoryBIOProtocol::errorReason(int sslError) {
  Failure reason = detail::failureFor(ssl_.get(), sslError, role_, handshakeDone_);
  detail::clearErrors();
  return reason;
}

void TLSMemoryBIOProtocol::abortConnection() {
  if (lost_ || aborting_) return;
  auto self = shared_from_this();
  aborting_ = true;
  closeBelow(/*abort=*/true);
}

bool TLSMemoryBIOProtocol::disconnecting() const {
  return closeWhenDone_ || aborting_ || shutdown_ == Shutdown::Closing ||
         (transport && transport->disconnecting());
}

std::size_t TLSMemoryBIOProtocol::writeBufferSize() const {
  return pending_.size() + (transport ? transport->writeBufferSize() : 0);
}

void TLSMemoryBIOProtocol::registerProducer(std::shared_ptr<IProducer> producer, bool streaming) {
  if (membrane_) throw std::logic_error("registerProducer: a producer is already registered");
  if (!transport || lost_) {
    producer->stopProducing();
    return;
  }
  membrane_ = std::make_shared<detail::ProducerMembrane>(std::move(producer), streaming);
  if (handshakeDone_) {
    membrane_->ready();
  } else if (pending_.size() > kHoldAbove) {
    membrane_->hold(true);
  }
  // Shares the membrane: below may ask a pull producer at once.
  std::shared_ptr<detail::ProducerMembrane> m = membrane_;
  transport->registerProducer(std::move(m), streaming);
}

void TLSMemoryBIOProtocol::unregisterProducer() {
  if (!membrane_) return;
  auto self = shared_from_this();
  membrane_.reset();
  if (transport && !lost_) transport->unregisterProducer();
  maybeShutdown();
}

void TLSMemoryBIOProtocol::pauseProducing() {
  paused_ = true;
  if (transport && !lost_) transport->pauseProducing();
}

void TLSMemoryBIOProtocol::resumeProducing() {
  if (!paused_) return;
  paused_ = false;
  if (!transport || lost_) return;
  auto self = shared_from_this();
  transport->resumeProducing();
  // Plaintext that arrived before the pause is delivered now, not on the next read.
  if (handshakeDone_) deliverPlaintext();
}

// ---- what TLS tells -------------------------------------------------------------------

std::optional<Certificate> TLSMemoryBIOProtocol::getPeerCertificate() const {
  X509* peer = SSL_get0_peer_certificate(ssl_.get());
  if (!peer) return std::nullopt;
  return Certificate::fromHandle(peer);
}

std::optional<std::string> TLSMemoryBIOProtocol::negotiatedProtocol() const {
  const unsigned char* name = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &name, &len);
  if (!name || len == 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(name), len);
}

std::string TLSMemoryBIOProtocol::tlsVersion() const {
  return handshakeDone_ ? SSL_get_version(ssl_.get()) : "";
}

std::string TLSMemoryBIOProtocol::serverName() const {
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name ? name : "";
}

bool TLSMemoryBIOProtocol::sessionReused() const {
  return SSL_session_reused(ssl_.get()) == 1;
}

void TLSMemoryBIOProtocol::whenHandshakeDone(UniqueFunction<void(const Failure*)> f) {
  if (handshakeDone_) {
    f(nullptr);
  } else if (lost_) {
    Failure reason = failure_ ? *failure_ : Failure::of(HandshakeError("the connection was lost"));
    f(&reason);
  } else {
    handshakeWaiters_.push_back(std::move(f));
  }
}

void TLSMemoryBIOProtocol::finishHandshakeWaiters(const Failure* reason) {
  auto waiters = std::move(handshakeWaiters_);
  handshakeWaiters_.clear();
  for (auto& f : waiters) f(reason);
}

// ---- TLSMemoryBIOFactory --------------------------------------------------------------

TLSMemoryBIOFactory::TLSMemoryBIOFactory(std::shared_ptr<IOpenSSLConnectionCreator> creator,
                                         TLSRole role, std::shared_ptr<Factory> wrappedFactory)
    : WrappingFactory(std::move(wrappedFactory)), creator_(std::move(creator)), role_(role) {
  if (!creator_) throw std::invalid_argument("TLSMemoryBIOFactory: no connection creator");
}

std::shared_ptr<policies::ProtocolWrapper> TLSMemoryBIOFactory::wrapProtocol(
    std::shared_ptr<Protocol> wrapped, const Address& addr) {
  (void)addr;
  return std::make_shared<TLSMemoryBIOProtocol>(*this, std::move(wrapped), *creator_, role_);
}

void TLSMemoryBIOFactory::clientConnectionLost(IConnector& connector, const Failure& reason) {
  std::optional<Failure> tls = std::move(lastReason_);
  lastReason_.reset();
  if (tls && !lastHandshakeDone_) {
    WrappingFactory::clientConnectionFailed(connector, *tls);
    return;
  }
  WrappingFactory::clientConnectionLost(connector, tls ? *tls : reason);
}

std::string TLSMemoryBIOFactory::logPrefix() const {
  return wrappedFactory->logPrefix() + " (TLS)";
}

}  // namespace twisted::tls
