#include "openssl_error.hpp"

#include <openssl/err.h>

namespace twisted::tls::detail {

void clearErrors() noexcept {
  ERR_clear_error();
}

std::string drainErrors(const char* fallback) {
  std::string text;
  char line[256];
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, line, sizeof line);
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text.empty() ? fallback : text;
}

}  // namespace twisted::tls::detail
