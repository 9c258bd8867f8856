// The test CA's files on disk, as programs and endpoint strings take them.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "temp_dir.hpp"
#include "tls_helpers.hpp"

namespace twisted::test {

/// A directory holding key.pem and cert.pem (localhost, 127.0.0.1, ::1,
/// from the test CA), ca.pem, and ca/ca.pem (a trust-roots directory).
class TestCertificateFiles {
 public:
  TestCertificateFiles() : dir_("tls-files") {
    write("key.pem", localhostCertificate().key().dumpPEM());
    write("cert.pem", localhostCertificate().certificate().dumpPEM());
    write("ca.pem", testCA().certificate().dumpPEM());
    std::filesystem::create_directory(dir_.path() + "/ca");
    write("ca/ca.pem", testCA().certificate().dumpPEM());
  }
  /// The path of `name` in the directory.
  std::string operator()(const std::string& name) const { return dir_.path() + "/" + name; }
  /// Writes `text` to `name` in the directory.
  void write(const std::string& name, const std::string& text) const {
    std::ofstream((*this)(name), std::ios::binary) << text;
  }

 private:
  TemporaryDirectory dir_;
};

}  // namespace twisted::test
