// The v2 (binary) PROXY header: signature, version and command, family and
// protocol, a big-endian length, then that many bytes of addresses and TLVs.
#include <arpa/inet.h>

#include <algorithm>
#include <string>

#include "twisted/protocols/haproxy.hpp"

namespace twisted::haproxy {

namespace {

// Offsets and values of the fixed part.
constexpr std::size_t kVersionCommand = 12, kFamilyProtocol = 13, kLength = 14;
constexpr unsigned kVersion2 = 0x2, kLocal = 0x0, kProxy = 0x1;
constexpr unsigned kUnspec = 0x0, kInet = 0x1, kInet6 = 0x2, kUnix = 0x3;
constexpr unsigned kStream = 0x1, kDgram = 0x2;
// Address block sizes: two addresses, then (for IP) two ports.
constexpr std::size_t kInetSize = 4 + 4 + 2 + 2, kInet6Size = 16 + 16 + 2 + 2;
constexpr std::size_t kUnixPathSize = 108, kUnixSize = 2 * kUnixPathSize;

unsigned byteAt(std::string_view bytes, std::size_t i) {
  return static_cast<unsigned char>(bytes[i]);
}

std::uint16_t be16(std::string_view bytes, std::size_t i) {
  return static_cast<std::uint16_t>(byteAt(bytes, i) << 8 | byteAt(bytes, i + 1));
}

bool isLocal(std::string_view bytes) {
  return (byteAt(bytes, kVersionCommand) & 0x0F) == kLocal;
}

// Checks as much of the fixed part as `bytes` holds, so that a stream that
// is not a header is refused from its first wrong byte.
void checkFixedPart(std::string_view bytes) {
  std::size_t known = std::min(bytes.size(), V2Parser::kSignature.size());
  if (bytes.substr(0, known) != V2Parser::kSignature.substr(0, known)) {
    throw InvalidProxyHeader("the data does not start with the v2 signature");
  }
  if (bytes.size() <= kVersionCommand) return;
  unsigned versionCommand = byteAt(bytes, kVersionCommand);
  if (versionCommand >> 4 != kVersion2) {
    throw InvalidProxyHeader("version " + std::to_string(versionCommand >> 4) + " is not 2");
  }
  unsigned command = versionCommand & 0x0F;
  if (command != kLocal && command != kProxy) {
    throw InvalidProxyHeader("command " + std::to_string(command) + " is not LOCAL or PROXY");
  }
  // LOCAL (a balancer's own health check): the family is to be ignored.
  if (bytes.size() <= kFamilyProtocol || command == kLocal) return;
  unsigned familyProtocol = byteAt(bytes, kFamilyProtocol);
  if (familyProtocol >> 4 > kUnix) {
    throw InvalidNetworkProtocol("address family " + std::to_string(familyProtocol >> 4));
  }
  if ((familyProtocol & 0x0F) > kDgram) {
    throw InvalidNetworkProtocol("transport protocol " + std::to_string(familyProtocol & 0x0F));
  }
}

void requireLength(std::size_t length, std::size_t needed, const char* family) {
  if (length < needed) {
    throw MissingAddressData(std::string(family) + " needs " + std::to_string(needed) +
                             " bytes of addresses, the header has " + std::to_string(length));
  }
}

std::string ipText(int family, const char* packed) {
  char text[INET6_ADDRSTRLEN];
  ::inet_ntop(family, packed, text, sizeof text);
  return text;
}

// A path padded with NULs to 108 bytes; an abstract name keeps its leading NUL.
UNIXAddress unixAddress(std::string_view padded) {
  std::size_t end = padded.find_last_not_of('\0');
  return UNIXAddress{std::string(padded.substr(0, end == std::string_view::npos ? 0 : end + 1))};
}

template <class A>
void setIp(ProxyInfo& info, std::string_view block, int family, std::size_t addressSize,
           Transport type) {
  A source, destination;
  source.type = destination.type = type;
  source.host = ipText(family, block.data());
  destination.host = ipText(family, block.data() + addressSize);
  source.port = be16(block, 2 * addressSize);
  destination.port = be16(block, 2 * addressSize + 2);
  info.source = source;
  info.destination = destination;
}

}  // namespace

std::optional<ParsedHeader> V2Parser::feed(std::string_view data) {
  buffer_.append(data);
  try {
    checkFixedPart(buffer_);
  } catch (const InvalidProxyHeader&) {
    buffer_.clear();
    throw;
  }
  if (buffer_.size() < kFixedSize) return std::nullopt;
  std::size_t size = kFixedSize + be16(buffer_, kLength);
  if (buffer_.size() < size) return std::nullopt;
  std::string all = std::move(buffer_);
  buffer_.clear();
  std::string_view whole(all);
  ParsedHeader parsed{parse(whole.substr(0, size)), std::string(whole.substr(size))};
  return parsed;
}

ProxyInfo V2Parser::parse(std::string_view header) {
  checkFixedPart(header);
  if (header.size() < kFixedSize) {
    throw InvalidProxyHeader(std::to_string(header.size()) + " bytes are shorter than the " +
                             std::to_string(kFixedSize) + "-byte fixed part");
  }
  std::size_t length = be16(header, kLength);
  if (header.size() != kFixedSize + length) {
    throw InvalidProxyHeader("the length field says " + std::to_string(length) +
                             " bytes follow the fixed part, not " +
                             std::to_string(header.size() - kFixedSize));
  }
  ProxyInfo info{std::string(header), std::nullopt, std::nullopt};
  if (isLocal(header)) return info;
  unsigned family = byteAt(header, kFamilyProtocol) >> 4;
  unsigned protocol = byteAt(header, kFamilyProtocol) & 0x0F;
  if (family == kUnspec || protocol == kUnspec) return info;
  // What follows the addresses (TLVs) stays in `header`, uninterpreted.
  std::string_view block = header.substr(kFixedSize);
  Transport type = protocol == kStream ? Transport::TCP : Transport::UDP;
  if (family == kInet) {
    requireLength(length, kInetSize, "INET");
    setIp<IPv4Address>(info, block, AF_INET, 4, type);
  } else if (family == kInet6) {
    requireLength(length, kInet6Size, "INET6");
    setIp<IPv6Address>(info, block, AF_INET6, 16, type);
  } else {
    requireLength(length, kUnixSize, "UNIX");
    info.source = unixAddress(block.substr(0, kUnixPathSize));
    info.destination = unixAddress(block.substr(kUnixPathSize, kUnixPathSize));
  }
  return info;
}

}  // namespace twisted::haproxy
