#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "openssl_error.hpp"
#include "twisted/testing/tls.hpp"
#include "twisted/tls/error.hpp"

namespace twisted::testing {

namespace {

using tls::Certificate;
using tls::KeyPair;
using tls::PrivateCertificate;

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};

bool isAddress(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

void addExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (!ext) tls::detail::throwWithErrors<tls::TLSError>("cannot make extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Makes and signs a certificate for `key`, issued by `issuer` (itself if null).
Certificate makeCertificate(const std::string& cn, const KeyPair& key, const X509* issuer,
                            const KeyPair& issuerKey, long notBefore, long notAfter, bool ca,
                            const std::vector<std::string>& altNames) {
  tls::detail::clearErrors();
  std::unique_ptr<X509, X509Free> cert(X509_new());
  X509* x = cert.get();
  X509_set_version(x, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), notBefore);
  X509_gmtime_adj(X509_getm_notAfter(x), notAfter);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x, key.handle());

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? const_cast<X509*>(issuer) : x, x, nullptr, nullptr, 0);
  addExtension(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  addExtension(x, &ctx, NID_key_usage,
               ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment");
  addExtension(x, &ctx, NID_subject_key_identifier, "hash");
  addExtension(x, &ctx, NID_authority_key_identifier, "keyid:always");
  if (!ca) {
    addExtension(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
    std::string san;
    for (const std::string& n : altNames) {
      if (!san.empty()) san += ",";
      san += (isAddress(n) ? "IP:" : "DNS:") + n;
    }
    if (!san.empty()) addExtension(x, &ctx, NID_subject_alt_name, san);
  }
  if (X509_sign(x, issuerKey.handle(), EVP_sha256()) <= 0) {
    tls::detail::throwWithErrors<tls::TLSError>("cannot sign the certificate");
  }
  return Certificate::fromHandle(x);
}

PrivateCertificate makeAuthority(const std::string& cn, bool rsa) {
  KeyPair key = rsa ? KeyPair::generateRSA() : KeyPair::generateEC();
  Certificate cert = makeCertificate(cn, key, nullptr, key, -3600, 10L * 365 * 24 * 3600, true, {});
  return PrivateCertificate(std::move(cert), std::move(key));
}

}  // namespace

CertificateAuthority::CertificateAuthority(std::string commonName, bool rsa)
    : self_(makeAuthority(commonName, rsa)) {}

PrivateCertificate CertificateAuthority::issue(const CertificateRequest& request) const {
  KeyPair key = request.rsa ? KeyPair::generateRSA() : KeyPair::generateEC();
  std::vector<std::string> names = request.subjectAltNames;
  if (names.empty()) names.push_back(request.commonName);
  Certificate cert =
      makeCertificate(request.commonName, key, self_.certificate().handle(), self_.key(),
                      request.notBefore, request.notAfter, false, names);
  return PrivateCertificate(std::move(cert), std::move(key), chain_);
}

CertificateAuthority CertificateAuthority::intermediate(std::string commonName) const {
  KeyPair key = KeyPair::generateEC();
  Certificate cert = makeCertificate(commonName, key, self_.certificate().handle(), self_.key(),
                                     -3600, 5L * 365 * 24 * 3600, true, {});
  std::vector<Certificate> chain{cert};
  chain.insert(chain.end(), chain_.begin(), chain_.end());
  return CertificateAuthority(PrivateCertificate(std::move(cert), std::move(key)),
                              std::move(chain));
}

PrivateCertificate selfSignedCertificate(const CertificateRequest& request) {
  KeyPair key = request.rsa ? KeyPair::generateRSA() : KeyPair::generateEC();
  std::vector<std::string> names = request.subjectAltNames;
  if (names.empty()) names.push_back(request.commonName);
  Certificate cert = makeCertificate(request.commonName, key, nullptr, key, request.notBefore,
                                     request.notAfter, false, names);
  return PrivateCertificate(std::move(cert), std::move(key));
}

PrivateCertificate CertificateAuthority::issue(std::string commonName,
                                               std::vector<std::string> subjectAltNames) const {
  CertificateRequest request;
  request.commonName = std::move(commonName);
  request.subjectAltNames = std::move(subjectAltNames);
  return issue(request);
}

PrivateCertificate CertificateAuthority::issueValid(std::string commonName, long notBefore,
                                                    long notAfter) const {
  CertificateRequest request;
  request.commonName = std::move(commonName);
  request.notBefore = notBefore;
  request.notAfter = notAfter;
  return issue(request);
}

tls::TrustRoot CertificateAuthority::trustRoot() const {
  return tls::TrustRoot::fromCertificates({self_.certificate()});
}

}  // namespace twisted::testing
