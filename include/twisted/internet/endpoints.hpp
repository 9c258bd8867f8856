// Endpoints, as Twisted's twisted.internet.endpoints: where to listen or
// connect, as a value, so that code that serves or connects does not care
// whether the address came from its caller, a configuration file or a
// command line (serverFromString / clientFromString).
//
//   auto ep = twisted::serverFromString(reactor, "tcp:8000:interface=127.0.0.1");
//   ep->listen(twisted::Factory::forProtocol<Echo>())
//       .addCallback([](std::shared_ptr<twisted::IListeningPort> port) { ... });
//
//   twisted::HostnameEndpoint ep(reactor, "example.com", 80, /*timeout=*/5);
//   twisted::connectProtocol(ep, std::make_shared<Http>())
//       .addCallback([](std::shared_ptr<Http> http) { http->get("/"); });
//
// A client endpoint's connect() returns a Deferred that fires with the
// protocol once its connectionMade has run, or fails with the reason the
// connection could not be made (ConnectionRefusedError, TimeoutError,
// DNSLookupError, ...). Cancelling it abandons the attempt: it fails with
// ConnectingCancelledError (a CancelledError).
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "twisted/internet/backlog.hpp"
#include "twisted/internet/deferred.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/reactor_socket.hpp"
#include "twisted/internet/reactor_unix.hpp"
#include "twisted/internet/resolver.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted {

/// A reactor as client endpoints use it: TCP, a clock and a name resolver.
/// Any object that provides the three converts to it (a Reactor, or a test
/// double that does), so endpoints never need the concrete Reactor.
class EndpointReactor {
 public:
  /// Refers to the three interfaces of `reactor`, which must outlive this.
  template <class R>
  requires std::derived_from<R, IReactorTCP> && std::derived_from<R, IReactorTime> &&
      std::derived_from<R, IReactorPluggableNameResolver>
      EndpointReactor(R& reactor)  // NOLINT(google-explicit-constructor): converts by design
      : tcp(reactor), clock(reactor), names(reactor) {}
  /// Where endpoints listen and connect.
  IReactorTCP& tcp;
  /// Timeouts and happy-eyeballs delays.
  IReactorTime& clock;
  /// Host names, looked up without blocking.
  IReactorPluggableNameResolver& names;
};

/// Twisted's IStreamServerEndpoint.
class IStreamServerEndpoint {
 public:
  virtual ~IStreamServerEndpoint() = default;
  /// Starts listening with `factory`; fires with the listening port, or
  /// fails (CannotListenError).
  virtual Deferred<std::shared_ptr<IListeningPort>> listen(std::shared_ptr<Factory> factory) = 0;
  /// A description in serverFromString's grammar.
  virtual std::string describe() const = 0;
};

/// Twisted's IStreamClientEndpoint.
class IStreamClientEndpoint {
 public:
  virtual ~IStreamClientEndpoint() = default;
  /// Connects one protocol built by `factory`; fires with it after its
  /// connectionMade. Cancellable (ConnectingCancelledError).
  virtual Deferred<std::shared_ptr<Protocol>> connect(std::shared_ptr<Factory> factory) = 0;
  /// A description in clientFromString's grammar.
  virtual std::string describe() const = 0;
};

/// Listens on an IPv4 interface ("" is all of them). The backlog defaults
/// to the system's maximum (kSystemMaxBacklog), not to listenTCP's 50, so
/// that a burst of clients is not left in SYN retransmission.
class TCP4ServerEndpoint : public IStreamServerEndpoint {
 public:
  /// Listens on `port` (0: any free one) of `interface` with `backlog`
  /// (kSystemMaxBacklog: the system's maximum) when listen() is called.
  TCP4ServerEndpoint(IReactorTCP& reactor, int port, int backlog = kSystemMaxBacklog,
                     std::string interface = "");
  Deferred<std::shared_ptr<IListeningPort>> listen(std::shared_ptr<Factory> factory) override;
  std::string describe() const override;

  /// The port number asked for (0: any).
  int port() const { return port_; }
  /// The listen backlog (kSystemMaxBacklog: the system's maximum).
  int backlog() const { return backlog_; }
  /// The interface address ("" or "::": all of the family).
  const std::string& interface() const { return interface_; }

 protected:
  /// Where listen() listens.
  IReactorTCP& reactor_;
  /// As given to the constructor.
  int port_;
  /// As given to the constructor.
  int backlog_;
  /// As given to the constructor.
  std::string interface_;
  /// The endpoint type describe() names: "tcp" or "tcp6".
  const char* type_ = "tcp";
};

/// Listens on an IPv6 interface ("::", the default, is all of them), for
/// IPv6 only (IPV6_V6ONLY): IPv4 clients are served by a TCP4ServerEndpoint
/// on the same port, whatever the system's net.ipv6.bindv6only.
class TCP6ServerEndpoint final : public TCP4ServerEndpoint {
 public:
  /// As TCP4ServerEndpoint's, with an IPv6 `interface`.
  TCP6ServerEndpoint(IReactorTCP& reactor, int port, int backlog = kSystemMaxBacklog,
                     std::string interface = "::");
};

/// Connects to `host` (an IPv4 literal or a name resolved to IPv4) and
/// `port`, as connectTCP.
class TCP4ClientEndpoint final : public IStreamClientEndpoint {
 public:
  /// Connects to `host`:`port` when connect() is called, failing with
  /// TimeoutError after `timeout` seconds (<= 0: no limit), from
  /// `bindAddress` if given.
  TCP4ClientEndpoint(IReactorTCP& reactor, std::string host, int port, double timeout = 30,
                     std::optional<BindAddress> bindAddress = {});
  Deferred<std::shared_ptr<Protocol>> connect(std::shared_ptr<Factory> factory) override;
  std::string describe() const override;

  /// The host to connect to, as given.
  const std::string& host() const { return host_; }
  /// The port to connect to.
  int port() const { return port_; }
  /// Seconds before a connect() fails with TimeoutError (<= 0: no limit).
  double timeout() const { return timeout_; }
  /// The local address to connect from, if any.
  const std::optional<BindAddress>& bindAddress() const { return bindAddress_; }

 private:
  IReactorTCP& reactor_;
  std::string host_;
  int port_;
  double timeout_;
  std::optional<BindAddress> bindAddress_;
};

/// Connects over IPv6: `host` is an IPv6 literal, or a name whose first
/// IPv6 address is used (looked up with `resolver`, without blocking).
class TCP6ClientEndpoint final : public IStreamClientEndpoint {
 public:
  /// Uses the reactor's resolver.
  TCP6ClientEndpoint(EndpointReactor reactor, std::string host, int port, double timeout = 30,
                     std::optional<BindAddress> bindAddress = {});
  /// Looks names up with `resolver` instead of the reactor's.
  TCP6ClientEndpoint(IReactorTCP& reactor, IHostnameResolver& resolver, std::string host, int port,
                     double timeout = 30, std::optional<BindAddress> bindAddress = {});
  Deferred<std::shared_ptr<Protocol>> connect(std::shared_ptr<Factory> factory) override;
  std::string describe() const override;

  /// The host to connect to: an IPv6 literal or a name.
  const std::string& host() const { return host_; }
  /// The port to connect to.
  int port() const { return port_; }
  /// Seconds the TCP connection attempt may take before it fails with
  /// TimeoutError (<= 0: no limit); the name lookup before it is not counted.
  double timeout() const { return timeout_; }

 private:
  IReactorTCP& reactor_;
  IHostnameResolver& resolver_;
  std::string host_;
  int port_;
  double timeout_;
  std::optional<BindAddress> bindAddress_;
};

/// Listens on a UNIX socket (listenUNIX): a path, or an abstract name with
/// a leading NUL byte.
class UNIXServerEndpoint final : public IStreamServerEndpoint {
 public:
  /// As listenUNIX(address, factory, backlog, mode, wantPID), when listen()
  /// is called.
  UNIXServerEndpoint(IReactorUNIX& reactor, std::string address, int backlog = 50, int mode = 0666,
                     bool wantPID = false);
  Deferred<std::shared_ptr<IListeningPort>> listen(std::shared_ptr<Factory> factory) override;
  std::string describe() const override;

  /// The socket's name, as given.
  const std::string& address() const { return address_; }
  /// The listen backlog.
  int backlog() const { return backlog_; }
  /// The socket file's permissions.
  int mode() const { return mode_; }
  /// True if a lock file guards the path (listenUNIX's wantPID).
  bool wantPID() const { return wantPID_; }

 private:
  IReactorUNIX& reactor_;
  std::string address_;
  int backlog_;
  int mode_;
  bool wantPID_;
};

/// Listens on a listening socket made elsewhere (Twisted's
/// AdoptedStreamServerEndpoint): `fileno` is adopted (adoptStreamPort)
/// and then closed, so the endpoint listens once only; the `systemd:`
/// and `adopted:` descriptions build it.
class AdoptedStreamServerEndpoint final : public IStreamServerEndpoint {
 public:
  /// Adopts `fileno`, a listening stream socket of `addressFamily`
  /// (AF_INET, AF_INET6, AF_UNIX), when listen() is called.
  AdoptedStreamServerEndpoint(IReactorSocket& reactor, int fileno, int addressFamily);
  /// Adopts the descriptor and closes `fileno`; fires with the port, or
  /// fails with error::AlreadyListened the second time, with
  /// CannotAdoptError or UnsupportedAddressFamily (the descriptor is then
  /// left open).
  Deferred<std::shared_ptr<IListeningPort>> listen(std::shared_ptr<Factory> factory) override;
  /// "adopted:fileno=3:domain=INET".
  std::string describe() const override;

  /// The descriptor adopted.
  int fileno() const { return fileno_; }
  /// Its address family.
  int addressFamily() const { return addressFamily_; }

 private:
  IReactorSocket& reactor_;
  int fileno_;
  int addressFamily_;
  bool used_ = false;
};

/// Connects to a UNIX socket (connectUNIX).
class UNIXClientEndpoint final : public IStreamClientEndpoint {
 public:
  /// As connectUNIX(path, factory, timeout, checkPID), when connect() is
  /// called.
  UNIXClientEndpoint(IReactorUNIX& reactor, std::string path, double timeout = 30,
                     bool checkPID = false);
  Deferred<std::shared_ptr<Protocol>> connect(std::shared_ptr<Factory> factory) override;
  std::string describe() const override;

  /// The socket's name, as given.
  const std::string& path() const { return path_; }
  /// Seconds before a connect() fails with TimeoutError (<= 0: no limit).
  double timeout() const { return timeout_; }
  /// True if a path whose lock names no live process is refused.
  bool checkPID() const { return checkPID_; }

 private:
  IReactorUNIX& reactor_;
  std::string path_;
  double timeout_;
  bool checkPID_;
};

/// Connects to a host name the way a browser does (happy eyeballs, RFC
/// 8305): every address of `host` is looked up (IPv6 and IPv4), the
/// families are interleaved starting with the one the system prefers, and
/// attempts start one after another, each `attemptDelay` seconds after the
/// previous one or at once when the previous one fails. The first to
/// connect wins and the others are abandoned. Unlike Twisted's, `timeout`
/// covers the name lookup too: the whole connect() fails with TimeoutError
/// `timeout` seconds after it was called (<= 0: no limit). When every
/// attempt fails, the Deferred fails with the last attempt's reason.
class HostnameEndpoint final : public IStreamClientEndpoint {
 public:
  /// Seconds between the starts of two attempts: Twisted's 0.3 (RFC 8305
  /// suggests 0.25).
  static constexpr double kDefaultAttemptDelay = 0.3;

  /// Uses the reactor's clock and resolver.
  HostnameEndpoint(EndpointReactor reactor, std::string host, int port, double timeout = 30,
                   std::optional<BindAddress> bindAddress = {},
                   double attemptDelay = kDefaultAttemptDelay);
  /// Uses the given clock and resolver (tests pass fakes).
  HostnameEndpoint(IReactorTCP& tcp, IReactorTime& clock, IHostnameResolver& resolver,
                   std::string host, int port, double timeout = 30,
                   std::optional<BindAddress> bindAddress = {},
                   double attemptDelay = kDefaultAttemptDelay);
  Deferred<std::shared_ptr<Protocol>> connect(std::shared_ptr<Factory> factory) override;
  std::string describe() const override;

  /// The host name (or literal) to connect to.
  const std::string& host() const { return host_; }
  /// The port to connect to.
  int port() const { return port_; }
  /// Seconds before the whole connect() fails with TimeoutError.
  double timeout() const { return timeout_; }
  /// Seconds between the starts of two attempts.
  double attemptDelay() const { return attemptDelay_; }

  /// The order attempts are made in: families alternate, starting with the
  /// family of the first address (RFC 8305 section 4).
  static std::vector<Address> interleave(const std::vector<Address>& addresses);

 private:
  IReactorTCP& tcp_;
  IReactorTime& clock_;
  IHostnameResolver& resolver_;
  std::string host_;
  int port_;
  double timeout_;
  std::optional<BindAddress> bindAddress_;
  double attemptDelay_;
};

/// Connects `protocol` (an instance, not a factory) through `endpoint`;
/// fires with it once connected (Twisted's connectProtocol).
template <class P>
Deferred<std::shared_ptr<P>> connectProtocol(IStreamClientEndpoint& endpoint,
                                             std::shared_ptr<P> protocol) {
  auto factory =
      std::make_shared<Factory>([protocol]() -> std::shared_ptr<Protocol> { return protocol; });
  return endpoint.connect(std::move(factory)).addCallback([](std::shared_ptr<Protocol> p) {
    return std::static_pointer_cast<P>(std::move(p));
  });
}

/// A server endpoint from Twisted's string grammar: TYPE:ARG:KEY=VALUE...,
/// with '\' escaping ':' and '=' in values.
///   tcp:PORT[:interface=ADDR][:backlog=N]  (positional: PORT, interface, backlog)
///   tcp6:PORT[:interface=ADDR][:backlog=N] (interface defaults to "::")
///   unix:ADDRESS[:mode=OCTAL][:backlog=N][:lockfile=0|1]
///        (positional: address, mode, backlog, lockfile; as Twisted's, mode
///        666, backlog 50, and lockfile 1: wantPID unless lockfile=0;
///        "@name" is the abstract name "\0name")
///   haproxy:DESCRIPTION (any of these, behind the PROXY protocol header:
///        haproxy::proxyEndpoint, twisted/protocols/haproxy.hpp)
///   systemd:domain=INET|INET6|UNIX:index=N (positional: domain, index) or
///        systemd:domain=...:name=NAME: the N-th socket (or the one named
///        NAME by LISTEN_FDNAMES) that socket activation passed this
///        process (processListenFDs(), twisted/python/systemd.hpp), as an
///        AdoptedStreamServerEndpoint
///   adopted:fileno=N:domain=INET|INET6|UNIX: any inherited listening
///        descriptor (AdoptedStreamServerEndpoint)
///   ssl:PORT:privateKey=...: TLS, from the TLS library once
///        twisted::tls::registerEndpointTypes() has run (twisted/tls/endpoints.hpp);
///        any other type registered with registerServerEndpointType
/// A datagram type (udp, multicast, unixgram) or a descriptor that is a
/// datagram socket is refused: these are stream endpoints.
/// e.g. "tcp:8080:interface=127.0.0.1", "tcp6:8080:interface=\:\:1",
/// "unix:/run/app.sock:mode=660", "haproxy:tcp:8080", "systemd:domain=INET:index=0". A unix
/// description on a reactor without UNIX sockets, or a systemd or adopted one on a reactor
/// without IReactorSocket, is refused.
/// @throws error::InvalidEndpointDescription naming the part that is wrong.
std::shared_ptr<IStreamServerEndpoint> serverFromString(IReactorTCP& reactor,
                                                        std::string_view description);

/// A client endpoint from Twisted's string grammar:
///   tcp:HOST:PORT or tcp:host=HOST:port=PORT[:timeout=S][:bindAddress=ADDR]
///   tcp6:... (the same keys; TCP6ClientEndpoint)
///   hostname:... (the same keys; HostnameEndpoint, happy eyeballs)
///   unix:PATH or unix:path=PATH[:timeout=S][:lockfile=0|1] (checkPID=0|1
///        is accepted for lockfile; "@name" is an abstract name)
///   tls:HOST:PORT, ssl:host=HOST:port=PORT: TLS, from the TLS library once
///        twisted::tls::registerEndpointTypes() has run; any other type
///        registered with registerClientEndpointType
/// e.g. "tcp:host=example.com:port=80:timeout=5", "tcp:example.com:80",
/// "unix:path=/run/app.sock:timeout=5". A datagram type (udp, multicast, unixgram) is refused:
/// these are stream endpoints.
/// @throws error::InvalidEndpointDescription naming the part that is wrong.
std::shared_ptr<IStreamClientEndpoint> clientFromString(EndpointReactor reactor,
                                                        std::string_view description);

/// The parsed form of a description (Twisted's endpoints._parse): the
/// positional arguments (the type first) and the key=value pairs, in order.
struct EndpointDescription {
  /// The positional arguments, unescaped; args[0] is the type ("tcp").
  std::vector<std::string> args;
  /// The key=value arguments, unescaped, in the order given.
  std::vector<std::pair<std::string, std::string>> kwargs;
};
/// @throws error::InvalidEndpointDescription for an empty description.
EndpointDescription parseEndpointDescription(std::string_view description);

/// Escapes ':', '=' and '\' for use in a description ("::1" -> "\:\:1").
std::string quoteEndpointValue(std::string_view value);

/// Parses the descriptions of one server endpoint type that a library
/// other than the core provides (the TLS library's "ssl"), as Twisted's
/// IStreamServerEndpointStringParser plugins do: given the reactor, the
/// whole description (for error messages) and its parsed form.
using ServerEndpointParser = std::function<std::shared_ptr<IStreamServerEndpoint>(
    IReactorTCP& reactor, std::string_view description, const EndpointDescription& parsed)>;
/// As ServerEndpointParser, for clientFromString (the TLS library's "ssl" and "tls").
using ClientEndpointParser = std::function<std::shared_ptr<IStreamClientEndpoint>(
    EndpointReactor reactor, std::string_view description, const EndpointDescription& parsed)>;

/// From now on serverFromString parses descriptions of `type` (compared
/// without regard to case) with `parser`, in place of any parser
/// registered for it before. Thread-safe; a parser is called without the
/// registry's lock held, so it may call serverFromString itself.
/// @throws std::invalid_argument for a type the core parses itself (tcp,
///   tcp6, unix, haproxy, systemd, adopted, stdio) or an empty one.
void registerServerEndpointType(std::string type, ServerEndpointParser parser);
/// As registerServerEndpointType, for clientFromString (core types: tcp,
/// tcp6, hostname, unix).
void registerClientEndpointType(std::string type, ClientEndpointParser parser);

}  // namespace twisted
