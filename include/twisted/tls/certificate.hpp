// Certificates and keys, as Twisted's twisted.internet.ssl Certificate,
// KeyPair and PrivateCertificate: loaded from PEM (a file or memory), with
// errors that say what is wrong.
//
// Each is a small value holding a reference to OpenSSL's object (copies
// share it); OpenSSL's own types stay out of sight except through handle().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

namespace twisted::tls {

/// Twisted's Certificate: an X.509 certificate.
class Certificate {
 public:
  /// Parses the first certificate of a PEM text.
  /// @throws CertificateError if `pem` holds no certificate.
  static Certificate loadPEM(std::string_view pem);
  /// Every certificate of a PEM text, in order (a chain, a CA bundle).
  /// @throws CertificateError if it holds none.
  static std::vector<Certificate> loadPEMChain(std::string_view pem);
  /// Reads the first certificate of a PEM file.
  /// @throws CertificateError naming the file if it cannot be read or holds none.
  static Certificate loadPEMFile(const std::string& path);
  /// Takes a reference to `x509` (the caller keeps its own).
  static Certificate fromHandle(X509* x509);

  /// The certificate as PEM text.
  std::string dumpPEM() const;
  /// The subject's common name (CN), "" if it has none.
  std::string subjectCommonName() const;
  /// The issuer's common name (CN), "" if it has none.
  std::string issuerCommonName() const;
  /// The DNS names and IP addresses of its subjectAltName extension.
  std::vector<std::string> subjectAltNames() const;
  /// The SHA-256 digest, as colon-separated upper-case hex pairs.
  std::string digest() const;
  /// OpenSSL's object (owned by this value).
  X509* handle() const { return x509_.get(); }

  /// The same certificate.
  friend bool operator==(const Certificate& a, const Certificate& b);

 private:
  explicit Certificate(std::shared_ptr<X509> x509) : x509_(std::move(x509)) {}
  std::shared_ptr<X509> x509_;
};

/// Twisted's KeyPair: a private key (and its public half).
class KeyPair {
 public:
  /// Parses an unencrypted PEM private key (PKCS#8, RSA or EC).
  /// @throws CertificateError if `pem` holds no private key.
  static KeyPair loadPEM(std::string_view pem);
  /// Reads an unencrypted PEM private key file.
  /// @throws CertificateError naming the file.
  static KeyPair loadPEMFile(const std::string& path);
  /// A new ECDSA key on P-256.
  static KeyPair generateEC();
  /// A new RSA key of `bits` bits.
  static KeyPair generateRSA(int bits = 2048);

  /// The private key as unencrypted PKCS#8 PEM.
  std::string dumpPEM() const;
  /// OpenSSL's object (owned by this value).
  EVP_PKEY* handle() const { return key_.get(); }

 private:
  explicit KeyPair(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

/// Twisted's PrivateCertificate: a certificate with its private key, and
/// the intermediate certificates to send with it.
class PrivateCertificate {
 public:
  /// Pairs `certificate` with `key`.
  /// @throws CertificateError if the key is not the certificate's.
  PrivateCertificate(Certificate certificate, KeyPair key, std::vector<Certificate> chain = {});
  /// Reads a certificate and its key from PEM text (both in one text, as
  /// Twisted's PrivateCertificate.loadPEM; further certificates are the chain).
  /// @throws CertificateError if either is missing or they do not match.
  static PrivateCertificate loadPEM(std::string_view pem);
  /// Reads the key from `keyPath` and the certificate from `certPath`
  /// (the same file if empty); further certificates in it, and those of
  /// `chainPath`, are the chain.
  /// @throws CertificateError naming the file that is wrong.
  static PrivateCertificate loadPEMFiles(const std::string& keyPath,
                                         const std::string& certPath = "",
                                         const std::string& chainPath = "");

  /// The certificate presented.
  const Certificate& certificate() const { return certificate_; }
  /// Its private key.
  const KeyPair& key() const { return key_; }
  /// The intermediates sent after the certificate.
  const std::vector<Certificate>& chain() const { return chain_; }

 private:
  Certificate certificate_;
  KeyPair key_;
  std::vector<Certificate> chain_;
};

}  // namespace twisted::tls
