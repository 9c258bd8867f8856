// udp::Port's multicast half (Twisted's MulticastMixin): groups, TTL,
// loopback and the outgoing interface, for IPv4 and IPv6.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include "../tcp/socket.hpp"
#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "udp.hpp"

namespace twisted::udp {

namespace {

[[noreturn]] void refusedBy(const std::string& what, int err) {
  throw error::MulticastJoinError(what + ": " + tcp::detail::errnoText(err), err);
}

// An IPv6 interface by name ("lo") or number ("1"); "" is 0, the kernel's choice.
unsigned interfaceIndex(const std::string& interface) {
  if (interface.empty()) return 0;
  char* end = nullptr;
  unsigned long n = std::strtoul(interface.c_str(), &end, 10);
  if (end && *end == '\0') return static_cast<unsigned>(n);
  unsigned index = ::if_nametoindex(interface.c_str());
  if (index == 0) throw error::MulticastJoinError(interface + ": no such interface", ENODEV);
  return index;
}

}  // namespace

int Port::socketOption(int ipv4, int ipv6) const {
  if (fileno() < 0) throw error::NotListeningError("the UDP port is not listening");
  return family_ == AF_INET6 ? ipv6 : ipv4;
}

// A name becomes an IPv4 address through the reactor's resolver, as
// Twisted's reactor.resolve; IPv6 ports take numeric groups and interface
// names, so they need no lookup.
Deferred<std::string> Port::numericHost(std::string host) {
  if (host.empty() || isIPAddress(host) || family_ == AF_INET6) return succeed(std::move(host));
  return reactor_.nameResolver()
      .resolveHostName(host, 0, AddressFamily::IPv4)
      .addCallback([host](std::vector<Address> found) {
        if (found.empty()) throw error::DNSLookupError(host);
        return std::get<IPv4Address>(found.front()).host;
      });
}

Deferred<void> Port::onNumeric(std::string host,
                               UniqueFunction<void(Port&, const std::string&)> f) {
  std::weak_ptr<DatagramPort> weak = weak_from_this();
  return numericHost(std::move(host))
      .addCallback([weak, f = std::move(f)](std::string numeric) mutable {
        auto self = std::static_pointer_cast<Port>(weak.lock());
        if (!self) throw error::NotListeningError("the UDP port is gone");
        f(*self, numeric);
      });
}

std::string Port::getOutgoingInterface() const {
  int level = family_ == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
  if (family_ == AF_INET6) {
    unsigned index = 0;
    socklen_t len = sizeof index;
    if (::getsockopt(fileno(), level, socketOption(0, IPV6_MULTICAST_IF), &index, &len) != 0 ||
        index == 0) {
      return "";
    }
    char name[IF_NAMESIZE] = {};
    return ::if_indextoname(index, name) ? std::string(name) : std::to_string(index);
  }
  in_addr a{};
  socklen_t len = sizeof a;
  if (::getsockopt(fileno(), level, socketOption(IP_MULTICAST_IF, 0), &a, &len) != 0) {
    return "0.0.0.0";
  }
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}

Deferred<void> Port::setOutgoingInterface(std::string interface) {
  return onNumeric(std::move(interface), [](Port& self, const std::string& numeric) {
    int fd = self.fileno();
    if (self.family_ == AF_INET6) {
      unsigned index = interfaceIndex(numeric);
      if (::setsockopt(fd, IPPROTO_IPV6, self.socketOption(0, IPV6_MULTICAST_IF), &index,
                       sizeof index) != 0) {
        refusedBy("outgoing interface " + numeric, errno);
      }
      return;
    }
    in_addr a{};
    if (!numeric.empty() && ::inet_pton(AF_INET, numeric.c_str(), &a) != 1) {
      throw error::InvalidAddressError(numeric + ": not an IPv4 address");
    }
    if (::setsockopt(fd, IPPROTO_IP, self.socketOption(IP_MULTICAST_IF, 0), &a, sizeof a) != 0) {
      refusedBy("outgoing interface " + numeric, errno);
    }
  });
}

bool Port::getLoopbackMode() const {
  int on = 0;
  socklen_t len = sizeof on;
  int level = family_ == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
  ::getsockopt(fileno(), level, socketOption(IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP), &on, &len);
  // IPv4's option is one byte wide when read back.
  return (len == 1 ? static_cast<unsigned char>(on) : on) != 0;
}

void Port::setLoopbackMode(bool enabled) {
  int on = enabled ? 1 : 0;
  int level = family_ == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
  if (::setsockopt(fileno(), level, socketOption(IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP), &on,
                   sizeof on) != 0) {
    refusedBy("loopback mode", errno);
  }
}

int Port::getTTL() const {
  int ttl = 0;
  socklen_t len = sizeof ttl;
  int level = family_ == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
  ::getsockopt(fileno(), level, socketOption(IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS), &ttl, &len);
  return len == 1 ? static_cast<unsigned char>(ttl) : ttl;
}

void Port::setTTL(int ttl) {
  if (ttl < 0 || ttl > 255)
    throw std::invalid_argument("setTTL: " + std::to_string(ttl) + " is not 0..255");
  int level = family_ == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
  if (::setsockopt(fileno(), level, socketOption(IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS), &ttl,
                   sizeof ttl) != 0) {
    refusedBy("TTL " + std::to_string(ttl), errno);
  }
}

void Port::membership(bool join, const std::string& group, const std::string& interface) {
  const char* verb = join ? "join " : "leave ";
  std::string what = verb + group + (interface.empty() ? "" : " on " + interface);
  if (fileno() < 0)
    throw error::NotListeningError("cannot " + what + ": the port is not listening");
  if (family_ == AF_INET6) {
    ipv6_mreq m{};
    if (::inet_pton(AF_INET6, group.c_str(), &m.ipv6mr_multiaddr) != 1) {
      throw error::MulticastJoinError(what + ": not an IPv6 address", EINVAL);
    }
    m.ipv6mr_interface = interfaceIndex(interface);
    if (::setsockopt(fileno(), IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &m,
                     sizeof m) != 0) {
      refusedBy(what, errno);
    }
    return;
  }
  ip_mreq m{};
  if (::inet_pton(AF_INET, group.c_str(), &m.imr_multiaddr) != 1) {
    throw error::MulticastJoinError(what + ": not an IPv4 address", EINVAL);
  }
  if (!interface.empty() && ::inet_pton(AF_INET, interface.c_str(), &m.imr_interface) != 1) {
    throw error::MulticastJoinError(what + ": the interface is not an IPv4 address", EINVAL);
  }
  if (::setsockopt(fileno(), IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m,
                   sizeof m) != 0) {
    refusedBy(what, errno);
  }
}

Deferred<void> Port::changeMembership(bool join, std::string address, std::string interface) {
  // The group, then the interface, may each be a name to look up.
  std::weak_ptr<DatagramPort> weak = weak_from_this();
  return numericHost(std::move(address))
      .addCallback([weak, join, interface](std::string group) mutable {
        auto self = std::static_pointer_cast<Port>(weak.lock());
        if (!self) throw error::NotListeningError("the UDP port is gone");
        return self->onNumeric(
            std::move(interface),
            [join, group](Port& port, const std::string& i) { port.membership(join, group, i); });
      });
}

Deferred<void> Port::joinGroup(std::string address, std::string interface) {
  return changeMembership(true, std::move(address), std::move(interface));
}

Deferred<void> Port::leaveGroup(std::string address, std::string interface) {
  return changeMembership(false, std::move(address), std::move(interface));
}

}  // namespace twisted::udp
