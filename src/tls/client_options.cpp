#include <arpa/inet.h>
#include <idn2.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <mutex>
#include <stdexcept>

#include "context_setup.hpp"
#include "openssl_error.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/options.hpp"

namespace twisted::tls {

namespace {

bool numericAddress(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// A bracketed IPv6 literal ("[::1]") is verified as the address inside.
std::string unbracket(const std::string& host) {
  std::size_t n = host.size();
  if (n > 2 && host[0] == '[' && host[n - 1] == ']') return host.substr(1, n - 2);
  return host;
}

// A name with non-ASCII letters is sent (SNI) and verified in its IDNA
// form, "xn--...", as a certificate holds it and Twisted sends it
// (IDNA 2008 with UTS #46's mapping, as the resolver's lookup uses).
std::string asciiName(const std::string& host) {
  bool ascii = true;
  for (unsigned char ch : host) ascii = ascii && ch < 0x80;
  if (ascii) return host;
  char* out = nullptr;
  int rc = idn2_to_ascii_8z(host.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) {
    throw std::invalid_argument("optionsForClientTLS: '" + host +
                                "' is not an internationalized host name: " + idn2_strerror(rc));
  }
  std::string ace(out);
  idn2_free(out);
  return ace;
}

// The newest session a server gave connections of one context, for the
// next to offer. It hangs on the SSL_CTX (ex_data), not on the options: a
// connection's SSL keeps the context alive after the options are gone, and
// its ticket may arrive then (TLS 1.3 sends it after the handshake).
struct SessionSlot {
  std::mutex mutex;
  SSL_SESSION* session = nullptr;
};

void freeSlot(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*index*/, long /*argl*/,
              void* /*argp*/) {
  auto* slot = static_cast<SessionSlot*>(ptr);
  if (!slot) return;
  SSL_SESSION_free(slot->session);
  delete slot;
}

int slotIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeSlot);
  return index;
}

SessionSlot* slotOf(SSL_CTX* ctx) {
  return static_cast<SessionSlot*>(SSL_CTX_get_ex_data(ctx, slotIndex()));
}

// OpenSSL's "new session" callback: keep the newest (returning 1 keeps
// the reference OpenSSL hands over).
int keepSession(SSL* ssl, SSL_SESSION* session) {
  SessionSlot* slot = slotOf(SSL_get_SSL_CTX(ssl));
  if (!slot) return 0;
  std::lock_guard lock(slot->mutex);
  SSL_SESSION_free(slot->session);
  slot->session = session;
  return 1;
}

void enableResumption(SSL_CTX* c) {
  auto* slot = new SessionSlot;
  if (SSL_CTX_set_ex_data(c, slotIndex(), slot) != 1) {
    delete slot;
    detail::throwWithErrors<TLSError>("cannot keep sessions for resumption");
  }
  // The client cache is ours (the slot): OpenSSL's internal store would
  // grow with every ticket and is keyed by session id, which TLS 1.3
  // tickets do not use.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(c, keepSession);
}

}  // namespace

ClientTLSOptions::ClientTLSOptions(std::string hostname, ClientTLSSettings settings)
    : hostname_(asciiName(unbracket(hostname))),
      isAddress_(numericAddress(hostname_)),
      settings_(std::move(settings)) {
  if (hostname_.empty()) throw std::invalid_argument("optionsForClientTLS: no host name");
  ctx_ =
      detail::newContext(TLS_client_method(), settings_.minimumVersion, settings_.maximumVersion);
  SSL_CTX* c = ctx_.get();
  if (settings_.trustRoot.verifies()) {
    detail::useTrustRoot(c, settings_.trustRoot);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }
  if (settings_.clientCertificate) detail::useCertificate(c, *settings_.clientCertificate);
  if (!settings_.acceptableProtocols.empty()) {
    std::string wire = detail::alpnWire(settings_.acceptableProtocols);
    // Unlike almost every OpenSSL call, 0 is success here.
    if (SSL_CTX_set_alpn_protos(c, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      detail::throwWithErrors<TLSError>("cannot set the ALPN protocols");
    }
  }
  if (settings_.resumeSessions) enableResumption(c);
}

ClientTLSOptions::~ClientTLSOptions() = default;

SSLHandle ClientTLSOptions::connectionForTLS(TLSRole role) {
  if (role != TLSRole::Client) {
    throw std::logic_error(
        "ClientTLSOptions cannot serve a TLS connection: use CertificateOptions");
  }
  detail::clearErrors();
  SSLHandle ssl(SSL_new(ctx_.get()));
  if (!ssl) detail::throwWithErrors<TLSError>("cannot make an OpenSSL connection");
  if (!isAddress_ && SSL_set_tlsext_host_name(ssl.get(), hostname_.c_str()) != 1) {
    detail::throwWithErrors<TLSError>("cannot set the server name (SNI) " + hostname_);
  }
  if (settings_.trustRoot.verifies()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    // No partial wildcards ("w*.example.com"): RFC 6125's advice.
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = isAddress_ ? X509_VERIFY_PARAM_set1_ip_asc(param, hostname_.c_str())
                        : X509_VERIFY_PARAM_set1_host(param, hostname_.c_str(), 0);
    if (ok != 1) detail::throwWithErrors<TLSError>("cannot verify the host name " + hostname_);
  }
  if (SessionSlot* slot = settings_.resumeSessions ? slotOf(ctx_.get()) : nullptr) {
    std::lock_guard lock(slot->mutex);
    // SSL_set_session takes its own reference; a session the server no
    // longer accepts just means a full handshake (and a new ticket).
    if (slot->session && SSL_set_session(ssl.get(), slot->session) != 1) {
      detail::throwWithErrors<TLSError>("cannot offer the earlier session");
    }
  }
  return ssl;
}

std::shared_ptr<ClientTLSOptions> optionsForClientTLS(std::string hostname, TrustRoot trustRoot,
                                                      std::optional<PrivateCertificate> clientCert,
                                                      std::vector<std::string> protocols) {
  ClientTLSSettings settings;
  settings.trustRoot = std::move(trustRoot);
  settings.clientCertificate = std::move(clientCert);
  settings.acceptableProtocols = std::move(protocols);
  return optionsForClientTLS(std::move(hostname), std::move(settings));
}

std::shared_ptr<ClientTLSOptions> optionsForClientTLS(std::string hostname,
                                                      ClientTLSSettings settings) {
  return std::make_shared<ClientTLSOptions>(std::move(hostname), std::move(settings));
}

}  // namespace twisted::tls
