#include "twisted/tls/certificate.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>

#include "openssl_error.hpp"
#include "pem_file.hpp"
#include "twisted/tls/error.hpp"

namespace twisted::tls {

namespace {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

Bio readBio(std::string_view text) {
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) detail::throwWithErrors<CertificateError>("cannot allocate a memory BIO");
  return bio;
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::shared_ptr<X509> ownX509(X509* x) {
  return std::shared_ptr<X509>(x, X509_free);
}

std::shared_ptr<EVP_PKEY> ownKey(EVP_PKEY* k) {
  return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
}

std::string nameEntry(const X509_NAME* name) {
  int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (at < 0) return "";
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

// ---- Certificate -------------------------------------------------------------------------

Certificate Certificate::loadPEM(std::string_view pem) {
  detail::clearErrors();
  Bio bio = readBio(pem);
  X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!x) detail::throwWithErrors<CertificateError>("no PEM certificate found");
  return Certificate(ownX509(x));
}

std::vector<Certificate> Certificate::loadPEMChain(std::string_view pem) {
  detail::clearErrors();
  Bio bio = readBio(pem);
  std::vector<Certificate> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.push_back(Certificate(ownX509(x)));
  }
  // The loop ends on "no start line" at the end of the text: not an error
  // once a certificate was read.
  if (out.empty()) detail::throwWithErrors<CertificateError>("no PEM certificate found");
  detail::clearErrors();
  return out;
}

Certificate Certificate::loadPEMFile(const std::string& path) {
  std::string text = detail::readPEMFile(path, "certificate");
  try {
    return loadPEM(text);
  } catch (const CertificateError& e) {
    throw CertificateError(path + ": " + e.what());
  }
}

Certificate Certificate::fromHandle(X509* x509) {
  if (!x509) throw std::invalid_argument("Certificate::fromHandle: null certificate");
  X509_up_ref(x509);
  return Certificate(ownX509(x509));
}

std::string Certificate::dumpPEM() const {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x509_.get());
  return bioText(bio.get());
}

std::string Certificate::subjectCommonName() const {
  return nameEntry(X509_get_subject_name(x509_.get()));
}

std::string Certificate::issuerCommonName() const {
  return nameEntry(X509_get_issuer_name(x509_.get()));
}

std::vector<std::string> Certificate::subjectAltNames() const {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x509_.get(), NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const ASN1_STRING* s = name->d.dNSName;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      int len = ASN1_STRING_length(ip);
      char text[INET6_ADDRSTRLEN] = {};
      if ((len == 4 || len == 16) && ::inet_ntop(len == 4 ? AF_INET : AF_INET6,
                                                 ASN1_STRING_get0_data(ip), text, sizeof text)) {
        out.emplace_back(text);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string Certificate::digest() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(x509_.get(), EVP_sha256(), md, &n);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, i + 1 < n ? "%02X:" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

bool operator==(const Certificate& a, const Certificate& b) {
  return X509_cmp(a.handle(), b.handle()) == 0;
}

// ---- KeyPair ------------------------------------------------------------------------------

KeyPair KeyPair::loadPEM(std::string_view pem) {
  detail::clearErrors();
  Bio bio = readBio(pem);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!k) detail::throwWithErrors<CertificateError>("no unencrypted PEM private key found");
  return KeyPair(ownKey(k));
}

KeyPair KeyPair::loadPEMFile(const std::string& path) {
  std::string text = detail::readPEMFile(path, "private key");
  try {
    return loadPEM(text);
  } catch (const CertificateError& e) {
    throw CertificateError(path + ": " + e.what());
  }
}

KeyPair KeyPair::generateEC() {
  detail::clearErrors();
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) detail::throwWithErrors<TLSError>("cannot generate a P-256 key");
  return KeyPair(ownKey(k));
}

KeyPair KeyPair::generateRSA(int bits) {
  detail::clearErrors();
  EVP_PKEY* k = EVP_RSA_gen(static_cast<unsigned int>(bits));
  if (!k) detail::throwWithErrors<TLSError>("cannot generate an RSA key");
  return KeyPair(ownKey(k));
}

std::string KeyPair::dumpPEM() const {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bioText(bio.get());
}

// ---- PrivateCertificate -----------------------------------------------------------------

PrivateCertificate::PrivateCertificate(Certificate certificate, KeyPair key,
                                       std::vector<Certificate> chain)
    : certificate_(std::move(certificate)), key_(std::move(key)), chain_(std::move(chain)) {
  detail::clearErrors();
  if (X509_check_private_key(certificate_.handle(), key_.handle()) != 1) {
    detail::clearErrors();
    throw CertificateError("the private key does not match the certificate (subject CN=" +
                           certificate_.subjectCommonName() + ")");
  }
}

PrivateCertificate PrivateCertificate::loadPEM(std::string_view pem) {
  std::vector<Certificate> all = Certificate::loadPEMChain(pem);
  KeyPair key = KeyPair::loadPEM(pem);
  Certificate leaf = all.front();
  all.erase(all.begin());
  return PrivateCertificate(std::move(leaf), std::move(key), std::move(all));
}

PrivateCertificate PrivateCertificate::loadPEMFiles(const std::string& keyPath,
                                                    const std::string& certPath,
                                                    const std::string& chainPath) {
  KeyPair key = KeyPair::loadPEMFile(keyPath);
  const std::string& certFile = certPath.empty() ? keyPath : certPath;
  std::vector<Certificate> certs;
  std::string certText = detail::readPEMFile(certFile, "certificate");
  try {
    certs = Certificate::loadPEMChain(certText);
  } catch (const CertificateError& e) {
    throw CertificateError(certFile + ": " + e.what());
  }
  if (!chainPath.empty()) {
    std::string chainText = detail::readPEMFile(chainPath, "certificate chain");
    try {
      for (Certificate& c : Certificate::loadPEMChain(chainText)) certs.push_back(std::move(c));
    } catch (const CertificateError& e) {
      throw CertificateError(chainPath + ": " + e.what());
    }
  }
  Certificate leaf = certs.front();
  certs.erase(certs.begin());
  try {
    return PrivateCertificate(std::move(leaf), std::move(key), std::move(certs));
  } catch (const CertificateError& e) {
    throw CertificateError(keyPath + ", " + certFile + ": " + e.what());
  }
}

}  // namespace twisted::tls
