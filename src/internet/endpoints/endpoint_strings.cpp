// serverFromString / clientFromString: Twisted's endpoint description
// grammar ("tcp:8080:interface=127.0.0.1").
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

#include <sys/socket.h>

#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/process_endpoints.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/protocols/haproxy.hpp"
#include "twisted/python/systemd.hpp"

namespace twisted {

namespace {

[[noreturn]] void invalid(std::string_view description, const std::string& why) {
  throw error::InvalidEndpointDescription("'" + std::string(description) + "': " + why);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The named values of one description, positional ones already given
// their names, each at most once.
class Params {
 public:
  Params(std::string_view description, std::string kind)
      : description_(description), kind_(std::move(kind)) {}

  void set(const std::string& key, std::string value) {
    for (const auto& [k, v] : values_) {
      if (k == key) invalid(description_, key + " is given twice");
    }
    values_.emplace_back(key, std::move(value));
  }
  // Keyword arguments, checked against the keys this kind accepts.
  void setAll(const std::vector<std::pair<std::string, std::string>>& kwargs,
              const std::vector<std::string>& known) {
    for (const auto& [key, value] : kwargs) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        invalid(description_,
                "unknown parameter '" + key + "' for a " + kind_ + " (known: " + list + ")");
      }
      set(key, value);
    }
  }
  const std::string* get(const std::string& key) const {
    for (const auto& [k, v] : values_) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  const std::string& require(const std::string& key) const {
    const std::string* v = get(key);
    if (!v) invalid(description_, "a " + kind_ + " needs a " + key);
    return *v;
  }
  int integer(const std::string& key, long min, long max, int fallback) const {
    const std::string* v = get(key);
    if (!v) return fallback;
    long n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (v->empty() || ec != std::errc() || end != v->data() + v->size() || n < min || n > max) {
      invalid(description_, key + " '" + *v + "' is not a number from " + std::to_string(min) +
                                " to " + std::to_string(max));
    }
    return static_cast<int>(n);
  }
  double seconds(const std::string& key, double fallback) const {
    const std::string* v = get(key);
    if (!v) return fallback;
    double d = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
    if (v->empty() || ec != std::errc() || end != v->data() + v->size() || !std::isfinite(d) ||
        d < 0) {
      invalid(description_, key + " '" + *v + "' is not a number of seconds");
    }
    return d;
  }
  // 0 or 1 (Twisted's bool(int(value))).
  bool flag(const std::string& key, bool fallback) const {
    const std::string* v = get(key);
    if (!v) return fallback;
    if (*v != "0" && *v != "1") invalid(description_, key + " '" + *v + "' is not 0 or 1");
    return *v == "1";
  }
  // File permissions in octal ("660", "0660").
  int octal(const std::string& key, int fallback) const {
    const std::string* v = get(key);
    if (!v) return fallback;
    int n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n, 8);
    if (v->empty() || ec != std::errc() || end != v->data() + v->size() || n < 0 || n > 07777) {
      invalid(description_, key + " '" + *v + "' is not an octal file mode (such as 660)");
    }
    return n;
  }
  void tooMany(std::size_t given, std::size_t allowed, const std::string& names) const {
    if (given > allowed) {
      invalid(description_,
              "too many positional arguments for a " + kind_ + " (it takes " + names + ")");
    }
  }

 private:
  std::string_view description_;
  std::string kind_;
  std::vector<std::pair<std::string, std::string>> values_;
};

}  // namespace

EndpointDescription parseEndpointDescription(std::string_view description) {
  // Tokens are split on ':' and on the first '=' of each part (a later '='
  // belongs to the value); '\' takes the next character literally.
  EndpointDescription out;
  std::vector<std::string> part;  // the current part: [value] or [key, value]
  std::string current;
  auto endPart = [&] {
    part.push_back(std::move(current));
    current.clear();
    if (part.size() == 1) {
      out.args.push_back(std::move(part[0]));
    } else {
      out.kwargs.emplace_back(std::move(part[0]), std::move(part[1]));
    }
    part.clear();
  };
  for (std::size_t i = 0; i < description.size(); ++i) {
    char c = description[i];
    if (c == '\\') {
      if (i + 1 == description.size()) invalid(description, "it ends with a lone '\\'");
      current += description[++i];
    } else if (c == ':') {
      endPart();
    } else if (c == '=' && part.empty()) {
      part.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  endPart();
  if (out.args.empty() || out.args.front().empty()) {
    invalid(description, "it does not start with an endpoint type (such as tcp)");
  }
  return out;
}

std::string quoteEndpointValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == ':' || c == '=' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

namespace {

// A UNIX socket name as the grammar writes it: "@name" is abstract.
std::string socketName(std::string_view description, const std::string& given) {
  if (given.empty()) invalid(description, "the UNIX socket's name is empty");
  if (given[0] != '@') return given;
  std::string name(given);
  name[0] = '\0';
  return name;
}

// A reactor given as IReactorTCP that also has UNIX sockets (a Reactor
// does; a test double may not).
IReactorUNIX& unixOf(std::string_view description, IReactorTCP& reactor) {
  auto* unix_ = dynamic_cast<IReactorUNIX*>(&reactor);
  if (!unix_) invalid(description, "this reactor has no UNIX sockets (IReactorUNIX)");
  return *unix_;
}

std::shared_ptr<IStreamServerEndpoint> unixServer(IReactorTCP& reactor,
                                                  std::string_view description,
                                                  const EndpointDescription& parsed) {
  Params p(description, "unix server endpoint");
  static const std::vector<std::string> names{"address", "mode", "backlog", "lockfile"};
  p.tooMany(parsed.args.size() - 1, names.size(), "address, mode, backlog, lockfile");
  for (std::size_t i = 1; i < parsed.args.size(); ++i) p.set(names[i - 1], parsed.args[i]);
  p.setAll(parsed.kwargs, names);
  std::string address = socketName(description, p.require("address"));
  int mode = p.octal("mode", 0666);
  int backlog = p.integer("backlog", 1, 1 << 20, 50);
  bool lockfile = p.flag("lockfile", true);  // Twisted's default for strings
  return std::make_shared<UNIXServerEndpoint>(unixOf(description, reactor), address, backlog, mode,
                                              lockfile);
}

std::shared_ptr<IStreamClientEndpoint> unixClient(IReactorTCP& reactor,
                                                  std::string_view description,
                                                  const EndpointDescription& parsed) {
  Params p(description, "unix client endpoint");
  static const std::vector<std::string> names{"path", "timeout", "lockfile", "checkPID"};
  p.tooMany(parsed.args.size() - 1, 1, "path");
  p.setAll(parsed.kwargs, names);
  if (parsed.args.size() == 2) p.set("path", parsed.args[1]);
  std::string path = socketName(description, p.require("path"));
  double timeout = p.seconds("timeout", 30);
  if (p.get("lockfile") && p.get("checkPID")) {
    invalid(description, "lockfile and checkPID are the same parameter: give one");
  }
  bool checkPID = p.flag("lockfile", false) || p.flag("checkPID", false);
  return std::make_shared<UNIXClientEndpoint>(unixOf(description, reactor), path, timeout,
                                              checkPID);
}

// A reactor given as IReactorTCP that can adopt sockets (a Reactor can).
IReactorSocket& socketOf(std::string_view description, IReactorTCP& reactor) {
  auto* sockets = dynamic_cast<IReactorSocket*>(&reactor);
  if (!sockets) invalid(description, "this reactor cannot adopt sockets (IReactorSocket)");
  return *sockets;
}

// "INET", "INET6", "UNIX": Twisted's names, socket's AF_ without the prefix.
int addressFamily(std::string_view description, const std::string& domain) {
  if (domain == "INET") return AF_INET;
  if (domain == "INET6") return AF_INET6;
  if (domain == "UNIX") return AF_UNIX;
  invalid(description, "domain '" + domain + "' is not INET, INET6 or UNIX");
}

// An inherited descriptor is checked now, where the description names it,
// so that a datagram socket is refused in words rather than at listen().
void checkStreamSocket(std::string_view description, int fd) {
  int type = 0;
  socklen_t length = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
    invalid(description, "descriptor " + std::to_string(fd) + " is not an open socket");
  }
  if (type == SOCK_DGRAM) {
    invalid(description, "descriptor " + std::to_string(fd) +
                             " is a datagram socket; a stream server endpoint needs a "
                             "listening SOCK_STREAM socket");
  }
}

// "systemd:domain=INET:index=0" (Twisted's _SystemdParser), or
// "systemd:domain=INET:name=web" (LISTEN_FDNAMES).
std::shared_ptr<IStreamServerEndpoint> systemdServer(IReactorTCP& reactor,
                                                     std::string_view description,
                                                     const EndpointDescription& parsed) {
  Params p(description, "systemd server endpoint");
  static const std::vector<std::string> names{"domain", "index", "name"};
  p.tooMany(parsed.args.size() - 1, 2, "domain, index");
  for (std::size_t i = 1; i < parsed.args.size(); ++i) p.set(names[i - 1], parsed.args[i]);
  p.setAll(parsed.kwargs, names);
  int family = addressFamily(description, p.require("domain"));
  IReactorSocket& sockets = socketOf(description, reactor);
  if (p.get("index") && p.get("name")) invalid(description, "give index or name, not both");
  if (!p.get("index") && !p.get("name")) {
    invalid(description, "a systemd server endpoint needs an index or a name");
  }
  const ListenFDs& inherited = processListenFDs();
  std::vector<int> fds = inherited.inheritedDescriptors();
  int fd = -1;
  if (const std::string* name = p.get("name")) {
    auto named = inherited.inheritedNamedDescriptors();
    auto it = named.find(*name);
    if (it == named.end()) {
      invalid(description, "socket activation passed no descriptor named '" + *name +
                               "' (LISTEN_FDNAMES names " + std::to_string(named.size()) + ")");
    }
    fd = it->second;
  } else {
    int index = p.integer("index", 0, 65535, 0);
    if (static_cast<std::size_t>(index) >= fds.size()) {
      invalid(description, "socket activation passed " + std::to_string(fds.size()) +
                               " descriptor(s) (LISTEN_FDS, LISTEN_PID), so index " +
                               std::to_string(index) + " is not one");
    }
    fd = fds[static_cast<std::size_t>(index)];
  }
  checkStreamSocket(description, fd);
  // An endpoint closes its descriptor once it listens, and the number may
  // then name another socket: each inherited one is handed out once.
  static std::mutex mutex;
  static std::set<int> handedOut;
  std::lock_guard lock(mutex);
  if (!handedOut.insert(fd).second) {
    invalid(description, "descriptor " + std::to_string(fd) +
                             " was already given to another systemd: endpoint (each is one "
                             "listening socket)");
  }
  return std::make_shared<AdoptedStreamServerEndpoint>(sockets, fd, family);
}

// "adopted:fileno=3:domain=INET": any inherited listening descriptor.
std::shared_ptr<IStreamServerEndpoint> adoptedServer(IReactorTCP& reactor,
                                                     std::string_view description,
                                                     const EndpointDescription& parsed) {
  Params p(description, "adopted server endpoint");
  static const std::vector<std::string> names{"fileno", "domain"};
  p.tooMany(parsed.args.size() - 1, 2, "fileno, domain");
  for (std::size_t i = 1; i < parsed.args.size(); ++i) p.set(names[i - 1], parsed.args[i]);
  p.setAll(parsed.kwargs, names);
  p.require("fileno");
  int fd = p.integer("fileno", 0, 1 << 30, 0);
  int family = addressFamily(description, p.require("domain"));
  IReactorSocket& sockets = socketOf(description, reactor);
  checkStreamSocket(description, fd);
  return std::make_shared<AdoptedStreamServerEndpoint>(sockets, fd, family);
}

// "stdio:" (Twisted's StandardIOEndpoint plugin): no parameters.
std::shared_ptr<IStreamServerEndpoint> stdioServer(IReactorTCP& reactor,
                                                   std::string_view description,
                                                   const EndpointDescription& parsed) {
  bool bare = parsed.args.size() == 1 || (parsed.args.size() == 2 && parsed.args[1].empty());
  if (!bare || !parsed.kwargs.empty()) {
    invalid(description, "a stdio server endpoint takes no parameters (it is \"stdio:\")");
  }
  auto* whole = dynamic_cast<Reactor*>(&reactor);
  if (!whole) invalid(description, "stdio needs a reactor with StandardIO (a twisted::Reactor)");
  return std::make_shared<StandardIOEndpoint>(*whole);
}

// Datagram transports have no stream endpoint: saying so beats "unknown type".
void refuseDatagram(std::string_view description, const std::string& type, const char* side) {
  if (type == "udp" || type == "udp6" || type == "multicast" || type == "unixgram" ||
      type == "unixdatagram") {
    invalid(description, "'" + type + "' names a datagram transport, and a " + side +
                             " endpoint is a stream (listenUDP and listenUNIXDatagram serve "
                             "datagrams)");
  }
}

// What follows the type: everything after the first ':' that no '\'
// escapes, exactly as written (so its own escapes are kept).
std::string_view afterType(std::string_view description) {
  for (std::size_t i = 0; i < description.size(); ++i) {
    if (description[i] == '\\') {
      ++i;
    } else if (description[i] == ':') {
      return description.substr(i + 1);
    }
  }
  return {};
}

// "haproxy:" and any server description (Twisted's HAProxyServerParser).
std::shared_ptr<IStreamServerEndpoint> haproxyServer(IReactorTCP& reactor,
                                                     std::string_view description) {
  std::string_view inner = afterType(description);
  if (inner.empty()) {
    invalid(description,
            "haproxy needs a server endpoint description after it (such as haproxy:tcp:8080)");
  }
  return haproxy::proxyEndpoint(serverFromString(reactor, inner));
}

// The types serverFromString and clientFromString parse themselves: they
// cannot be registered, and errors list them first.
const std::vector<std::string> kCoreServerTypes{"tcp",     "tcp6",    "unix", "haproxy",
                                                "systemd", "adopted", "stdio"};
const std::vector<std::string> kCoreClientTypes{"tcp", "tcp6", "hostname", "unix"};

// Types other libraries parse (registerServerEndpointType). A parser is
// copied out under the lock and called without it: it may parse an inner
// description itself.
struct Registry {
  std::mutex mutex;
  std::map<std::string, ServerEndpointParser> servers;
  std::map<std::string, ClientEndpointParser> clients;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: parsers may run at exit
  return *r;
}

template <class Parser>
Parser registered(std::map<std::string, Parser>& map, const std::string& type) {
  std::lock_guard lock(registry().mutex);
  auto it = map.find(type);
  return it == map.end() ? Parser{} : it->second;
}

template <class Parser>
std::string knownTypes(const std::vector<std::string>& core, std::map<std::string, Parser>& map) {
  std::string known;
  for (const std::string& name : core) known += (known.empty() ? "" : ", ") + name;
  std::lock_guard lock(registry().mutex);
  for (const auto& [name, parser] : map) known += ", " + name;
  return known;
}

// "ssl" and "tls" not registered: say where they come from.
std::string tlsHint(const std::string& type) {
  if (type != "ssl" && type != "tls") return "";
  return "; TLS endpoints come from the twisted::tls library: link it and call "
         "twisted::tls::registerEndpointTypes()";
}

template <class Parser>
void registerType(std::map<std::string, Parser>& map, std::string type, Parser parser,
                  const std::vector<std::string>& core) {
  type = lower(std::move(type));
  if (type.empty()) throw std::invalid_argument("registerEndpointType: an empty type");
  if (std::find(core.begin(), core.end(), type) != core.end()) {
    throw std::invalid_argument("registerEndpointType: '" + type + "' is a core endpoint type");
  }
  if (!parser) throw std::invalid_argument("registerEndpointType: no parser for '" + type + "'");
  std::lock_guard lock(registry().mutex);
  map[type] = std::move(parser);
}

}  // namespace

void registerServerEndpointType(std::string type, ServerEndpointParser parser) {
  registerType(registry().servers, std::move(type), std::move(parser), kCoreServerTypes);
}

void registerClientEndpointType(std::string type, ClientEndpointParser parser) {
  registerType(registry().clients, std::move(type), std::move(parser), kCoreClientTypes);
}

std::shared_ptr<IStreamServerEndpoint> serverFromString(IReactorTCP& reactor,
                                                        std::string_view description) {
  EndpointDescription parsed = parseEndpointDescription(description);
  std::string type = lower(parsed.args.front());
  if (type == "unix") return unixServer(reactor, description, parsed);
  if (type == "haproxy") return haproxyServer(reactor, description);
  if (type == "systemd") return systemdServer(reactor, description, parsed);
  if (type == "adopted") return adoptedServer(reactor, description, parsed);
  if (type == "stdio") return stdioServer(reactor, description, parsed);
  refuseDatagram(description, type, "server");
  if (type != "tcp" && type != "tcp6") {
    if (auto parser = registered(registry().servers, type))
      return parser(reactor, description, parsed);
    invalid(description, "unknown server endpoint type '" + parsed.args.front() +
                             "' (known: " + knownTypes(kCoreServerTypes, registry().servers) + ")" +
                             tlsHint(type));
  }
  Params p(description, type + " server endpoint");
  static const std::vector<std::string> names{"port", "interface", "backlog"};
  p.tooMany(parsed.args.size() - 1, names.size(), "port, interface, backlog");
  for (std::size_t i = 1; i < parsed.args.size(); ++i) p.set(names[i - 1], parsed.args[i]);
  p.setAll(parsed.kwargs, names);
  p.require("port");
  int port = p.integer("port", 0, 65535, 0);
  int backlog = p.integer("backlog", 1, 1 << 20, kSystemMaxBacklog);
  const std::string* interface = p.get("interface");
  if (type == "tcp6") {
    std::string iface = interface ? *interface : "::";
    if (!isIPv6Address(iface))
      invalid(description, "interface '" + iface + "' is not an IPv6 address");
    return std::make_shared<TCP6ServerEndpoint>(reactor, port, backlog, iface);
  }
  std::string iface = interface ? *interface : "";
  if (!iface.empty() && !isIPAddress(iface)) {
    invalid(description, "interface '" + iface + "' is not an IPv4 address (use tcp6 for IPv6)");
  }
  return std::make_shared<TCP4ServerEndpoint>(reactor, port, backlog, iface);
}

std::shared_ptr<IStreamClientEndpoint> clientFromString(EndpointReactor reactor,
                                                        std::string_view description) {
  EndpointDescription parsed = parseEndpointDescription(description);
  std::string type = lower(parsed.args.front());
  if (type == "unix") return unixClient(reactor.tcp, description, parsed);
  refuseDatagram(description, type, "client");
  if (type != "tcp" && type != "tcp6" && type != "hostname") {
    if (auto parser = registered(registry().clients, type))
      return parser(reactor, description, parsed);
    invalid(description, "unknown client endpoint type '" + parsed.args.front() +
                             "' (known: " + knownTypes(kCoreClientTypes, registry().clients) + ")" +
                             tlsHint(type));
  }
  Params p(description, type + " client endpoint");
  static const std::vector<std::string> names{"host", "port", "timeout", "bindAddress"};
  std::size_t positional = parsed.args.size() - 1;
  p.tooMany(positional, 2, "host, port");
  p.setAll(parsed.kwargs, names);
  if (positional == 2) {
    p.set("host", parsed.args[1]);
    p.set("port", parsed.args[2]);
  } else if (positional == 1) {
    // As Twisted: a lone positional is the port if host= was given.
    p.set(p.get("host") ? "port" : "host", parsed.args[1]);
  }
  std::string host = p.require("host");
  if (host.empty()) invalid(description, "host is empty");
  p.require("port");
  int port = p.integer("port", 1, 65535, 0);
  double timeout = p.seconds("timeout", 30);
  std::optional<BindAddress> bind;
  if (const std::string* b = p.get("bindAddress")) bind = BindAddress{*b, 0};
  if (type == "tcp")
    return std::make_shared<TCP4ClientEndpoint>(reactor.tcp, host, port, timeout, bind);
  if (type == "tcp6")
    return std::make_shared<TCP6ClientEndpoint>(reactor, host, port, timeout, bind);
  return std::make_shared<HostnameEndpoint>(reactor, host, port, timeout, bind);
}

}  // namespace twisted
