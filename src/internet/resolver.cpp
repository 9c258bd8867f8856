// ThreadedResolver: getaddrinfo(3) in the reactor's thread pool.
#include "twisted/internet/resolver.hpp"

#include <locale.h>
#include <netdb.h>
#include <sys/socket.h>

#include "twisted/internet/defer_threads.hpp"
#include "twisted/internet/error.hpp"

namespace twisted {

namespace {
bool isAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Made once, never freed (a locale in use by a thread must outlive it).
locale_t utf8Locale() {
  static const locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  return utf8;
}
}  // namespace

Deferred<std::vector<Address>> ThreadedResolver::resolveHostName(const std::string& host, int port,
                                                                 AddressFamily family) {
  return deferToThread(reactor_, [host, port, family] {
    addrinfo hints{};
    hints.ai_family = family == AddressFamily::IPv4   ? AF_INET
                      : family == AddressFamily::IPv6 ? AF_INET6
                                                      : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    int rc = 0;
    if (isAscii(host)) {
      rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    } else {
      // A name with non-ASCII letters ("vääntynyt.example") is looked up
      // by its IDNA form (xn--...), as Twisted's resolvers encode it. glibc
      // encodes it (with libidn2) from the thread's locale: UTF-8 here,
      // whatever the program's locale, since our strings are UTF-8.
      hints.ai_flags |= AI_IDN;
      locale_t previous = utf8Locale() ? ::uselocale(utf8Locale()) : nullptr;
      rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      if (previous) ::uselocale(previous);
    }
    if (rc != 0) {
      std::string why = rc == EAI_SYSTEM ? std::string("system error") : ::gai_strerror(rc);
      throw error::DNSLookupError("address '" + host + "' not found: " + why);
    }
    std::vector<Address> out;
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
      Address a = fromSocketAddress(ai->ai_addr, ai->ai_addrlen);
      bool seen = false;
      for (const Address& b : out) seen = seen || b == a;
      if (!seen) out.push_back(std::move(a));
    }
    ::freeaddrinfo(found);
    if (out.empty()) throw error::DNSLookupError("address '" + host + "' not found");
    return out;
  });
}

}  // namespace twisted
