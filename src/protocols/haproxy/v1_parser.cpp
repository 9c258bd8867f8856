// The v1 (text) PROXY header: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n".
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "twisted/protocols/haproxy.hpp"

namespace twisted::haproxy {

namespace {

constexpr std::string_view kCRLF = "\r\n";

// The fields of `text` between single spaces ("" gives none).
std::vector<std::string_view> fields(std::string_view text) {
  std::vector<std::string_view> out;
  if (text.empty()) return out;
  for (std::size_t start = 0;;) {
    std::size_t space = text.find(' ', start);
    out.push_back(text.substr(start, space - start));
    if (space == std::string_view::npos) return out;
    start = space + 1;
  }
}

std::uint16_t port(std::string_view text, const char* which) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.size() > 5 || ec != std::errc() || end != text.data() + text.size() ||
      value > 0xFFFF) {
    throw InvalidProxyHeader(std::string(which) + " port '" + std::string(text) +
                             "' is not a number from 0 to 65535");
  }
  return static_cast<std::uint16_t>(value);
}

// A numeric host of `family`; no names, and no IPv6 "%scope" (the spec
// has none, and inet_pton refuses it).
std::string host(std::string_view text, int family, const char* which) {
  unsigned char scratch[16];
  if (::inet_pton(family, std::string(text).c_str(), scratch) != 1) {
    throw InvalidProxyHeader(std::string(which) + " address '" + std::string(text) +
                             "' is not an " + (family == AF_INET ? "IPv4" : "IPv6") + " address");
  }
  return std::string(text);
}

template <class A>
Address makeAddress(std::string_view h, std::string_view p, int family, const char* which) {
  A address;
  address.host = host(h, family, which);
  address.port = port(p, which);
  return address;
}

}  // namespace

std::optional<ParsedHeader> V1Parser::feed(std::string_view data) {
  std::size_t searchFrom = buffer_.size() > 0 ? buffer_.size() - 1 : 0;  // a CR may end the last
  buffer_.append(data);
  // A stream that does not start "PROXY " is refused at once, not after 107 bytes.
  std::size_t known = std::min(buffer_.size(), kSignature.size());
  if (std::string_view(buffer_).substr(0, known) != kSignature.substr(0, known)) {
    buffer_.clear();
    throw InvalidProxyHeader("the data does not start with 'PROXY '");
  }
  std::string_view window = std::string_view(buffer_).substr(0, kMaxHeaderSize);
  std::size_t end = window.find(kCRLF, std::min(searchFrom, window.size()));
  if (end == std::string_view::npos) {
    if (buffer_.size() < kMaxHeaderSize) return std::nullopt;
    buffer_.clear();
    throw InvalidProxyHeader("no CRLF within the first " + std::to_string(kMaxHeaderSize) +
                             " bytes");
  }
  std::string all = std::move(buffer_);
  buffer_.clear();
  ParsedHeader parsed{parse(std::string_view(all).substr(0, end)), all.substr(end + kCRLF.size())};
  return parsed;
}

ProxyInfo V1Parser::parse(std::string_view line) {
  if (!line.starts_with(kSignature)) {
    throw InvalidProxyHeader("the line does not start with 'PROXY '");
  }
  std::string_view rest = line.substr(kSignature.size());
  std::size_t space = rest.find(' ');
  std::string_view protocol = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  // UNKNOWN: the balancer could not tell; whatever follows is to be ignored.
  if (protocol == "UNKNOWN") return ProxyInfo{std::string(line), std::nullopt, std::nullopt};
  if (protocol != "TCP4" && protocol != "TCP6") {
    throw InvalidNetworkProtocol("'" + std::string(protocol) + "' is not TCP4, TCP6 or UNKNOWN");
  }
  std::vector<std::string_view> f = fields(rest);
  if (f.size() < 4) {
    throw MissingAddressData(protocol == "TCP4" ? "TCP4 needs SRC DST SPORT DPORT"
                                                : "TCP6 needs SRC DST SPORT DPORT");
  }
  for (std::string_view field : f) {
    if (field.empty()) throw InvalidProxyHeader("the fields are not separated by single spaces");
  }
  if (f.size() > 4) {
    throw InvalidProxyHeader("unexpected '" + std::string(f[4]) + "' after the destination port");
  }
  ProxyInfo info{std::string(line), std::nullopt, std::nullopt};
  if (protocol == "TCP4") {
    info.source = makeAddress<IPv4Address>(f[0], f[2], AF_INET, "the source");
    info.destination = makeAddress<IPv4Address>(f[1], f[3], AF_INET, "the destination");
  } else {
    info.source = makeAddress<IPv6Address>(f[0], f[2], AF_INET6, "the source");
    info.destination = makeAddress<IPv6Address>(f[1], f[3], AF_INET6, "the destination");
  }
  return info;
}

}  // namespace twisted::haproxy
