#include <dirent.h>
#include <sys/stat.h>

#include <stdexcept>

#include "pem_file.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/options.hpp"

namespace twisted::tls {

TrustRoot TrustRoot::platformTrust() {
  TrustRoot t;
  t.platform_ = true;
  return t;
}

TrustRoot TrustRoot::fromCertificates(std::vector<Certificate> authorities) {
  if (authorities.empty()) {
    throw std::invalid_argument("TrustRoot::fromCertificates: no certificate given");
  }
  TrustRoot t;
  t.authorities_ = std::move(authorities);
  return t;
}

TrustRoot TrustRoot::fromPEMFile(const std::string& path) {
  std::string text = detail::readPEMFile(path, "CA");
  try {
    return fromCertificates(Certificate::loadPEMChain(text));
  } catch (const CertificateError& e) {
    throw CertificateError(path + ": " + e.what());
  }
}

TrustRoot TrustRoot::fromDirectory(const std::string& directory) {
  DIR* dir = ::opendir(directory.c_str());
  if (!dir) throw CertificateError("cannot read the CA directory " + directory);
  std::vector<Certificate> found;
  while (dirent* entry = ::readdir(dir)) {
    std::string path = directory + "/" + entry->d_name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    try {
      for (Certificate& c : Certificate::loadPEMChain(detail::readPEMFile(path, "CA"))) {
        found.push_back(std::move(c));
      }
    } catch (const CertificateError&) {
      // Unreadable, or not a certificate (a README, a key): skipped, as
      // Twisted's caCertsDir does.
    }
  }
  ::closedir(dir);
  if (found.empty()) throw CertificateError("no CA certificate in the directory " + directory);
  return fromCertificates(std::move(found));
}

TrustRoot TrustRoot::insecurelySkipVerification() {
  TrustRoot t;
  t.verify_ = false;
  return t;
}

}  // namespace twisted::tls
