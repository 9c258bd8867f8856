// Shared pieces of the endpoint tests: a table resolver and a closed port.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <map>
#include <string>
#include <vector>

#include "reactor_test.hpp"
#include "twisted/internet/defer.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/resolver.hpp"

namespace twisted::test {

/// A resolver that answers from a table (any family, the port filled in),
/// fails for names it does not know, and never answers for names in
/// `hang` (cancelling them is recorded).
class TableResolver : public IHostnameResolver {
 public:
  std::map<std::string, std::vector<Address>> table;
  std::vector<std::string> hang;
  std::vector<std::string> asked;
  std::vector<AddressFamily> families;
  int cancelled = 0;

  Deferred<std::vector<Address>> resolveHostName(const std::string& host, int port,
                                                 AddressFamily family) override {
    asked.push_back(host);
    families.push_back(family);
    for (const auto& h : hang) {
      if (h == host) {
        return Deferred<std::vector<Address>>(
            [this](Deferred<std::vector<Address>>&) { ++cancelled; });
      }
    }
    auto it = table.find(host);
    if (it == table.end()) {
      return fail<std::vector<Address>>(Failure::of(error::DNSLookupError(host)));
    }
    std::vector<Address> out;
    for (Address a : it->second) {
      if (auto* v4 = std::get_if<IPv4Address>(&a)) {
        if (family == AddressFamily::IPv6) continue;
        v4->port = static_cast<std::uint16_t>(port);
      }
      if (auto* v6 = std::get_if<IPv6Address>(&a)) {
        if (family == AddressFamily::IPv4) continue;
        v6->port = static_cast<std::uint16_t>(port);
      }
      out.push_back(a);
    }
    return succeed(std::move(out));
  }
};

/// A port nobody listens on: bound (so nobody else takes it) but not
/// listening, on 127.0.0.1 or ::1.
class ClosedPort {
 public:
  explicit ClosedPort(bool ipv6 = false) {
    if (ipv6) {
      fd_.reset(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
      socklen_t len = sizeof a;
      ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin6_port);
    } else {
      fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
      socklen_t len = sizeof a;
      ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    }
  }
  int port() const { return port_; }

 private:
  Fd fd_;
  int port_ = 0;
};

}  // namespace twisted::test
