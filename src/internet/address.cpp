#include "twisted/internet/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <stdexcept>

namespace twisted {

namespace {
const char* typeName(Transport t) {
  return t == Transport::TCP ? "TCP" : "UDP";
}

// "fe80::1%eth0" or "fe80::1%2" -> ("fe80::1", scope index)
std::pair<std::string, std::uint32_t> splitScope(std::string_view text) {
  std::size_t percent = text.find('%');
  if (percent == std::string_view::npos) return {std::string(text), 0};
  std::string scope(text.substr(percent + 1));
  std::uint32_t index = ::if_nametoindex(scope.c_str());
  if (index == 0 && !scope.empty() && scope.find_first_not_of("0123456789") == std::string::npos) {
    index = static_cast<std::uint32_t>(std::stoul(scope));
  }
  return {std::string(text.substr(0, percent)), index};
}
}  // namespace

std::string toString(const Address& address) {
  struct Visitor {
    std::string operator()(const IPv4Address& a) const {
      return std::string("IPv4Address(type='") + typeName(a.type) + "', host='" + a.host +
             "', port=" + std::to_string(a.port) + ")";
    }
    std::string operator()(const IPv6Address& a) const {
      return std::string("IPv6Address(type='") + typeName(a.type) + "', host='" + a.host +
             "', port=" + std::to_string(a.port) + ", flowInfo=" + std::to_string(a.flowInfo) +
             ", scopeID=" + std::to_string(a.scopeID) + ")";
    }
    std::string operator()(const UNIXAddress& a) const {
      std::string out = "UNIXAddress('";
      if (!a.name.empty() && a.name[0] == '\0') {
        out += '@';  // an abstract name: shown as ss and ip show it
        out.append(a.name, 1, std::string::npos);
      } else {
        out += a.name;
      }
      return out + "')";
    }
    std::string operator()(const PipeAddress&) const { return "PipeAddress()"; }
  };
  return std::visit(Visitor{}, address);
}

bool isIPAddress(std::string_view text) {
  in_addr out{};
  // inet_pton accepts only the full dotted quad, which is what Twisted wants.
  return ::inet_pton(AF_INET, std::string(text).c_str(), &out) == 1;
}

bool isIPv6Address(std::string_view text) {
  in6_addr out{};
  std::string host = std::string(text.substr(0, text.find('%')));
  return ::inet_pton(AF_INET6, host.c_str(), &out) == 1;
}

SocketAddress toSocketAddress(const Address& address) {
  SocketAddress out;
  if (const auto* v4 = std::get_if<IPv4Address>(&address)) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(v4->port);
    if (::inet_pton(AF_INET, v4->host.c_str(), &sin->sin_addr) != 1) {
      throw std::invalid_argument("not an IPv4 address: '" + v4->host + "'");
    }
    out.length = sizeof(sockaddr_in);
  } else if (const auto* v6 = std::get_if<IPv6Address>(&address)) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(v6->port);
    sin6->sin6_flowinfo = htonl(v6->flowInfo);
    auto [host, scope] = splitScope(v6->host);
    sin6->sin6_scope_id = v6->scopeID ? v6->scopeID : scope;
    if (::inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1) {
      throw std::invalid_argument("not an IPv6 address: '" + v6->host + "'");
    }
    out.length = sizeof(sockaddr_in6);
  } else if (std::holds_alternative<PipeAddress>(address)) {
    throw std::invalid_argument("a PipeAddress has no socket address");
  } else {
    const auto& local = std::get<UNIXAddress>(address);
    auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
    un->sun_family = AF_UNIX;
    if (local.name.size() >= sizeof(un->sun_path)) {
      throw std::invalid_argument("UNIX socket path too long (" +
                                  std::to_string(local.name.size()) + " bytes, at most " +
                                  std::to_string(sizeof(un->sun_path) - 1) + ")");
    }
    std::memcpy(un->sun_path, local.name.data(), local.name.size());
    out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + local.name.size() +
                                        (local.name.empty() || local.name[0] == '\0' ? 0 : 1));
  }
  return out;
}

Address fromSocketAddress(const sockaddr* sa, socklen_t length, Transport type) {
  char text[INET6_ADDRSTRLEN] = {};
  switch (sa->sa_family) {
    case AF_INET: {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
      ::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
      return IPv4Address{type, text, ntohs(sin->sin_port)};
    }
    case AF_INET6: {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
      ::inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
      return IPv6Address{type, text, ntohs(sin6->sin6_port), ntohl(sin6->sin6_flowinfo),
                         sin6->sin6_scope_id};
    }
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(sa);
      std::size_t pathLength =
          length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
      std::string name(un->sun_path, pathLength);
      // A path name ends at its NUL; an abstract name (leading NUL) is exact.
      if (!name.empty() && name[0] != '\0') name = name.substr(0, name.find('\0'));
      return UNIXAddress{name};
    }
    default:
      throw std::invalid_argument("unsupported address family " + std::to_string(sa->sa_family));
  }
}

}  // namespace twisted
