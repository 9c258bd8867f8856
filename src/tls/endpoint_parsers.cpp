// The "ssl:" and "tls:" endpoint strings. TLS keys are taken out; what is
// left is parsed as the core's tcp: or hostname: description, so ports,
// interfaces, timeouts and bind addresses are checked in one place.
#include <map>
#include <mutex>
#include <set>

#include "twisted/internet/error.hpp"
#include "twisted/tls/endpoints.hpp"
#include "twisted/tls/error.hpp"
#include "twisted/tls/options.hpp"

namespace twisted::tls {

namespace {

[[noreturn]] void invalid(std::string_view description, const std::string& why) {
  throw error::InvalidEndpointDescription("'" + std::string(description) + "': " + why);
}

// Takes the TLS keys out of `parsed`, leaving the rest.
struct Split {
  std::map<std::string, std::string> tls;
  EndpointDescription rest;
};

Split split(std::string_view description, const EndpointDescription& parsed,
            const std::set<std::string>& tlsKeys) {
  Split s;
  s.rest.args = parsed.args;
  for (const auto& [key, value] : parsed.kwargs) {
    if (!tlsKeys.count(key)) {
      s.rest.kwargs.emplace_back(key, value);
    } else if (!s.tls.emplace(key, value).second) {
      invalid(description, key + " given twice");
    }
  }
  return s;
}

// A description for the core parser: `type`, the positional arguments
// after the original type, the remaining keys.
std::string rebuild(const std::string& type, const EndpointDescription& rest) {
  std::string out = type;
  // append, not ":" + s: g++ 12 warns falsely (-Wrestrict) on the latter.
  for (std::size_t i = 1; i < rest.args.size(); ++i)
    out.append(1, ':').append(quoteEndpointValue(rest.args[i]));
  for (const auto& [key, value] : rest.kwargs)
    out.append(1, ':').append(key).append(1, '=').append(quoteEndpointValue(value));
  return out;
}

const std::string* find(const Split& s, const std::string& key) {
  auto it = s.tls.find(key);
  return it == s.tls.end() ? nullptr : &it->second;
}

// Loading files: a TLS error becomes the description's error, naming both.
template <class F>
auto loading(std::string_view description, F f) {
  try {
    return f();
  } catch (const TLSError& e) {
    invalid(description, e.what());
  }
}

std::optional<PrivateCertificate> clientCertificate(std::string_view description, const Split& s,
                                                    const char* certKey) {
  const std::string* cert = find(s, certKey);
  const std::string* key = find(s, "privateKey");
  if (!cert && !key) return std::nullopt;
  if (!key) invalid(description, std::string(certKey) + " needs privateKey");
  return loading(description,
                 [&] { return PrivateCertificate::loadPEMFiles(*key, cert ? *cert : ""); });
}

// HOST as the core's client parsers read it: host=, else the first positional.
std::string hostOf(const Split& s) {
  for (const auto& [key, value] : s.rest.kwargs)
    if (key == "host") return value;
  return s.rest.args.size() > 1 ? s.rest.args[1] : "";
}

TrustRoot trustRoot(std::string_view description, const std::string* directory) {
  if (!directory) return TrustRoot::platformTrust();
  return loading(description, [&] { return TrustRoot::fromDirectory(*directory); });
}

std::shared_ptr<IStreamServerEndpoint> sslServer(IReactorTCP& reactor, std::string_view description,
                                                 const EndpointDescription& parsed) {
  Split s =
      split(description, parsed,
            {"privateKey", "certKey", "extraCertChain", "caCertsDir", "sslmethod", "dhParameters"});
  if (find(s, "sslmethod")) {
    invalid(description, "sslmethod is not supported: TLS 1.2 and 1.3 are always the versions");
  }
  if (find(s, "dhParameters")) {
    invalid(description, "dhParameters is not supported: key exchange is ECDHE");
  }
  std::shared_ptr<IStreamServerEndpoint> tcp = serverFromString(reactor, rebuild("tcp", s.rest));
  const std::string* key = find(s, "privateKey");
  std::string keyPath = key ? *key : "server.pem";
  const std::string* cert = find(s, "certKey");
  const std::string* chain = find(s, "extraCertChain");
  ServerTLSSettings settings(loading(description, [&] {
    return PrivateCertificate::loadPEMFiles(keyPath, cert ? *cert : "", chain ? *chain : "");
  }));
  if (const std::string* dir = find(s, "caCertsDir"))
    settings.clientCertificateTrust = trustRoot(description, dir);
  auto options = loading(description,
                         [&] { return std::make_shared<CertificateOptions>(std::move(settings)); });
  return wrapServerTLS(std::move(options), std::move(tcp));
}

// tls:HOST:PORT[:timeout][:bindAddress]... over HostnameEndpoint or endpoint=.
std::shared_ptr<IStreamClientEndpoint> tlsClient(EndpointReactor reactor,
                                                 std::string_view description,
                                                 const EndpointDescription& parsed) {
  Split s = split(description, parsed, {"certificate", "privateKey", "trustRoots", "endpoint"});
  std::string host = hostOf(s);
  if (host.empty()) invalid(description, "tls needs a host (tls:HOST:PORT)");
  std::shared_ptr<IStreamClientEndpoint> inner;
  if (const std::string* endpoint = find(s, "endpoint")) {
    inner = clientFromString(reactor, *endpoint);
  } else {
    inner = clientFromString(reactor, rebuild("hostname", s.rest));
  }
  auto options = loading(description, [&] {
    return optionsForClientTLS(host, trustRoot(description, find(s, "trustRoots")),
                               clientCertificate(description, s, "certificate"));
  });
  return wrapClientTLS(std::move(options), std::move(inner));
}

// ssl:HOST:PORT or ssl:host=...:port=... over IPv4 TCP, verified.
std::shared_ptr<IStreamClientEndpoint> sslClient(EndpointReactor reactor,
                                                 std::string_view description,
                                                 const EndpointDescription& parsed) {
  Split s = split(description, parsed, {"certKey", "privateKey", "caCertsDir", "hostname"});
  std::shared_ptr<IStreamClientEndpoint> tcp = clientFromString(reactor, rebuild("tcp", s.rest));
  std::string host = hostOf(s);
  if (const std::string* name = find(s, "hostname")) host = *name;
  auto options = loading(description, [&] {
    return optionsForClientTLS(host, trustRoot(description, find(s, "caCertsDir")),
                               clientCertificate(description, s, "certKey"));
  });
  return wrapClientTLS(std::move(options), std::move(tcp));
}

}  // namespace

void registerEndpointTypes() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerServerEndpointType("ssl", sslServer);
    registerClientEndpointType("ssl", sslClient);
    registerClientEndpointType("tls", tlsClient);
  });
}

}  // namespace twisted::tls
