#include "context_setup.hpp"

#include <openssl/x509_vfy.h>

#include <stdexcept>
#include <string>

#include "openssl_error.hpp"
#include "twisted/tls/error.hpp"

namespace twisted::tls::detail {

namespace {

int versionNumber(TLSVersion v) {
  return v == TLSVersion::TLSv1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

const char* versionName(TLSVersion v) {
  return v == TLSVersion::TLSv1_3 ? "TLS 1.3" : "TLS 1.2";
}

}  // namespace

std::shared_ptr<SSL_CTX> newContext(const SSL_METHOD* method, TLSVersion minimum,
                                    std::optional<TLSVersion> maximum) {
  // OpenSSL takes an inverted range and fails every handshake later; say so now.
  if (maximum && versionNumber(*maximum) < versionNumber(minimum)) {
    throw std::invalid_argument(std::string("TLS options: minimumVersion ") + versionName(minimum) +
                                " is above maximumVersion " + versionName(*maximum));
  }
  clearErrors();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(method), SSL_CTX_free);
  if (!ctx) throwWithErrors<TLSError>("cannot make an OpenSSL context");
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, versionNumber(minimum)) != 1 ||
      (maximum && SSL_CTX_set_max_proto_version(c, versionNumber(*maximum)) != 1)) {
    throwWithErrors<TLSError>("cannot set the protocol versions");
  }
  // Renegotiation is a source of attacks and of no use to anyone who has
  // TLS 1.3's key update; compression is CRIME. SSL_OP_IGNORE_UNEXPECTED_EOF
  // stays off: an end without close_notify must be seen as a truncation.
  SSL_CTX_set_options(
      c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // OpenSSL 3 servers already refuse a client's renegotiation unless this
  // is set; cleared so that no build's default can turn it on.
  SSL_CTX_clear_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
  // The engine's write BIO is memory: a record is never half-written, and
  // a buffer may move between SSL_write calls that are retried.
  SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

void useTrustRoot(SSL_CTX* ctx, const TrustRoot& trust) {
  if (!trust.verifies()) return;
  clearErrors();
  if (trust.platform()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      throwWithErrors<TLSError>("cannot load the platform's CA certificates");
    }
    return;
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const Certificate& ca : trust.authorities()) {
    if (X509_STORE_add_cert(store, ca.handle()) != 1) {
      throwWithErrors<TLSError>("cannot add a CA certificate (CN=" + ca.subjectCommonName() + ")");
    }
  }
}

void useCertificate(SSL_CTX* ctx, const PrivateCertificate& cert) {
  clearErrors();
  if (SSL_CTX_use_certificate(ctx, cert.certificate().handle()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, cert.key().handle()) != 1) {
    throwWithErrors<CertificateError>("cannot use the certificate and key");
  }
  SSL_CTX_clear_chain_certs(ctx);
  for (const Certificate& c : cert.chain()) {
    // add1: the context takes its own reference.
    if (SSL_CTX_add1_chain_cert(ctx, c.handle()) != 1) {
      throwWithErrors<CertificateError>("cannot add a chain certificate");
    }
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throwWithErrors<CertificateError>("the private key does not match the certificate");
  }
}

std::string alpnWire(const std::vector<std::string>& names) {
  std::string wire;
  for (const std::string& n : names) {
    if (n.empty() || n.size() > 255) {
      throw std::invalid_argument("ALPN protocol names must be 1 to 255 bytes: \"" + n + "\"");
    }
    wire += static_cast<char>(n.size());
    wire += n;
  }
  return wire;
}

}  // namespace twisted::tls::detail
