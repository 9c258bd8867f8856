// Network services, as Twisted's twisted.application.internet.
#pragma once

#include <memory>
#include <optional>

#include "twisted/application/service.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/python/failure.hpp"

namespace twisted::application {

/// Twisted's StreamServerEndpointService: listens on `endpoint` with
/// `factory` while running.
///
/// The port logs one line naming the address actually bound (so that
/// `tcp:0` can be discovered): "<factory> starting on 127.0.0.1:8000", with
/// the fields `host` and `port`. With raiseSynchronously (the
/// default, as `twist` wants), a failure to listen is thrown from
/// startService; otherwise it is logged and kept in listenFailure().
class StreamServerEndpointService : public Service {
 public:
  /// Listens on `endpoint` with `factory` once started; nothing happens until then.
  StreamServerEndpointService(std::shared_ptr<IStreamServerEndpoint> endpoint,
                              std::shared_ptr<Factory> factory);

  /// If true, startService throws when listening fails at once; if false, the failure is
  /// logged and kept in listenFailure().
  bool raiseSynchronously = true;

  /// @throws error::CannotListenError (or what the endpoint failed with).
  void startService() override;
  /// Stops listening; fires once the port is closed.
  Deferred<void> stopService() override;

  /// The listening port while running.
  const std::shared_ptr<IListeningPort>& port() const { return port_; }
  /// Why the last startService could not listen, or empty if it did (or has not answered).
  const std::optional<Failure>& listenFailure() const { return failure_; }

 private:
  std::shared_ptr<IStreamServerEndpoint> endpoint_;
  std::shared_ptr<Factory> factory_;
  std::shared_ptr<IListeningPort> port_;
  std::optional<Failure> failure_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // see startService
};

namespace strports {

/// Twisted's strports.service: a StreamServerEndpointService listening on
/// `description` (serverFromString's grammar) with `factory`.
///   auto web = strports::service(reactor, "tcp:8080:interface=127.0.0.1", factory);
/// @throws error::InvalidEndpointDescription naming the part that is wrong.
std::shared_ptr<StreamServerEndpointService> service(IReactorTCP& reactor,
                                                     std::string_view description,
                                                     std::shared_ptr<Factory> factory);

}  // namespace strports

}  // namespace twisted::application
