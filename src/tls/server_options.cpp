#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "context_setup.hpp"
#include "openssl_error.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/options.hpp"

namespace twisted::tls {

// One generation of a server's settings, made into contexts. Each SSL
// object made from it holds a reference (in its ex_data) until it is
// freed, because the SNI and ALPN callbacks read it during the handshake;
// so reload() can drop the old generation at any time.
struct CertificateOptions::Contexts {
  explicit Contexts(ServerTLSSettings s) : settings(std::move(s)) {}
  ServerTLSSettings settings;
  std::shared_ptr<SSL_CTX> main;
  std::map<std::string, std::shared_ptr<SSL_CTX>> byName;  // lower-case names
  std::string alpn;                                        // wire form
};

namespace {

using Contexts = CertificateOptions::Contexts;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void freeContextsRef(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/,
                     long /*argl*/, void* /*argp*/) {
  delete static_cast<std::shared_ptr<const Contexts>*>(ptr);
}

int contextsIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, freeContextsRef);
  return index;
}

const Contexts* contextsOf(SSL* ssl) {
  auto* ref = static_cast<std::shared_ptr<const Contexts>*>(SSL_get_ex_data(ssl, contextsIndex()));
  return ref ? ref->get() : nullptr;
}

int selectServerName(SSL* ssl, int* /*alert*/, void* /*arg*/) {
  const Contexts* contexts = contextsOf(ssl);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!contexts || !name) return SSL_TLSEXT_ERR_OK;
  auto it = contexts->byName.find(lower(name));
  if (it != contexts->byName.end()) SSL_set_SSL_CTX(ssl, it->second.get());
  return SSL_TLSEXT_ERR_OK;
}

int selectProtocol(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                   const unsigned char* offered, unsigned int offeredLen, void* /*arg*/) {
  const Contexts* contexts = contextsOf(ssl);
  if (!contexts || contexts->alpn.empty()) return SSL_TLSEXT_ERR_NOACK;
  // The server's preference wins: SSL_select_next_proto walks its first list.
  unsigned char* chosen = nullptr;
  int r = SSL_select_next_proto(
      &chosen, outlen, reinterpret_cast<const unsigned char*>(contexts->alpn.data()),
      static_cast<unsigned int>(contexts->alpn.size()), offered, offeredLen);
  if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<SSL_CTX> serverContext(const ServerTLSSettings& s, const PrivateCertificate& cert) {
  std::shared_ptr<SSL_CTX> ctx =
      detail::newContext(TLS_server_method(), s.minimumVersion, s.maximumVersion);
  SSL_CTX* c = ctx.get();
  detail::useCertificate(c, cert);
  static const unsigned char kSessionContext[] = "twisted-cpp";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
  if (s.sessionTickets) {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  } else {
    // No tickets and no cache: every handshake is a full one, and no
    // ticket is made for it (TLS 1.3 would otherwise send two).
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  }
  if (s.clientCertificateTrust) {
    if (!s.clientCertificateTrust->verifies()) {
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    } else {
      detail::useTrustRoot(c, *s.clientCertificateTrust);
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      // Tell the client which CAs are accepted (it picks its certificate by them).
      if (!s.clientCertificateTrust->platform()) {
        STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
        for (const Certificate& ca : s.clientCertificateTrust->authorities()) {
          sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca.handle())));
        }
        SSL_CTX_set_client_CA_list(c, names);
      }
    }
  }
  SSL_CTX_set_tlsext_servername_callback(c, selectServerName);
  SSL_CTX_set_alpn_select_cb(c, selectProtocol, nullptr);
  return ctx;
}

std::shared_ptr<const Contexts> makeContexts(ServerTLSSettings settings) {
  auto contexts = std::make_shared<Contexts>(std::move(settings));
  const ServerTLSSettings& s = contexts->settings;
  contexts->alpn = detail::alpnWire(s.acceptableProtocols);
  contexts->main = serverContext(s, s.certificate);
  for (const auto& [name, cert] : s.serverNameCertificates) {
    contexts->byName[lower(name)] = serverContext(s, cert);
  }
  return contexts;
}

}  // namespace

CertificateOptions::CertificateOptions(PrivateCertificate certificate)
    : CertificateOptions(ServerTLSSettings(std::move(certificate))) {}

CertificateOptions::CertificateOptions(ServerTLSSettings settings)
    : current_(makeContexts(std::move(settings))) {}

CertificateOptions::~CertificateOptions() = default;

SSLHandle CertificateOptions::connectionForTLS(TLSRole role) {
  if (role != TLSRole::Server) {
    throw std::logic_error(
        "CertificateOptions serves TLS connections; a client uses optionsForClientTLS");
  }
  std::shared_ptr<const Contexts> contexts;
  {
    std::lock_guard lock(mutex_);
    contexts = current_;
  }
  detail::clearErrors();
  SSLHandle ssl(SSL_new(contexts->main.get()));
  if (!ssl) detail::throwWithErrors<TLSError>("cannot make an OpenSSL connection");
  auto* ref = new std::shared_ptr<const Contexts>(std::move(contexts));
  if (SSL_set_ex_data(ssl.get(), contextsIndex(), ref) != 1) {
    delete ref;
    detail::throwWithErrors<TLSError>("cannot attach the server's contexts");
  }
  return ssl;
}

void CertificateOptions::reload(ServerTLSSettings settings) {
  std::shared_ptr<const Contexts> next = makeContexts(std::move(settings));
  std::lock_guard lock(mutex_);
  current_.swap(next);
  // The old generation dies here, or with the last connection made from it.
}

ServerTLSSettings CertificateOptions::settings() const {
  std::lock_guard lock(mutex_);
  return current_->settings;
}

}  // namespace twisted::tls
