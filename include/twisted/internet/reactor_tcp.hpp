// The reactor's IReactorTCP, in files of its own (src/internet/tcp/): the
// Reactor inherits it, so that adding a reactor interface (UNIX, UDP,
// processes, TLS) adds a base class and its folder, not a member of the
// reactor's class. See docs/architecture.md, "Adding a transport".
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "twisted/internet/transport.hpp"

namespace twisted {

class Factory;
class ClientFactory;
class Reactor;
class ReactorGroup;
namespace detail {
class SharedTCPPorts;
}

/// Twisted's IReactorTCP on a Reactor (the only class that derives from
/// it).
class ReactorTCP : public IReactorTCP {
 public:
  /// Listens on `port` (0: any free port; getHost() tells which) of
  /// `interface` (empty: every IPv4 address; an IPv6 literal listens on
  /// IPv6), building a protocol with `factory` for each connection.
  /// @throws error::CannotListenError (address in use, permission denied).
  std::shared_ptr<IListeningPort> listenTCP(int port, std::shared_ptr<Factory> factory,
                                            int backlog = 50,
                                            std::string_view interface = "") override;
  /// Connects to `host` (a literal or a name, resolved to IPv4) and `port`;
  /// the factory hears of success or failure. `timeout` <= 0: no limit.
  std::shared_ptr<IConnector> connectTCP(std::string host, int port,
                                         std::shared_ptr<ClientFactory> factory,
                                         double timeout = 30,
                                         std::optional<BindAddress> bindAddress = {}) override;

 private:
  // Only a Reactor is one (src/internet/tcp/reactor_tcp.cpp casts to it).
  friend class Reactor;
  ReactorTCP() = default;
  ~ReactorTCP() override = default;

  // Set by ReactorGroup::shareTCPPorts: every listenTCP binds with
  // SO_REUSEPORT, a port 0 agreed with the group's first worker.
  friend class ReactorGroup;
  std::shared_ptr<detail::SharedTCPPorts> sharedPorts_;
  int sharedWorker_ = 0;
};

}  // namespace twisted
