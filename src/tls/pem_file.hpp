// Reading a PEM file whole, with the error every loader of this library
// gives for a file it cannot read.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "twisted/tls/error.hpp"

namespace twisted::tls::detail {

/// The contents of `path`.
/// @throws CertificateError("cannot read the <what> file <path>")
inline std::string readPEMFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CertificateError(std::string("cannot read the ") + what + " file " + path);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

}  // namespace twisted::tls::detail
