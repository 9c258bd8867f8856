#include "twisted/application/internet.hpp"

#include "twisted/internet/defer_helpers.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::application {

StreamServerEndpointService::StreamServerEndpointService(
    std::shared_ptr<IStreamServerEndpoint> endpoint, std::shared_ptr<Factory> factory)
    : endpoint_(std::move(endpoint)), factory_(std::move(factory)) {}

void StreamServerEndpointService::startService() {
  failure_.reset();
  auto listening = endpoint_->listen(factory_);
  // TCP endpoints answer at once; a later answer finds the service through
  // `alive_` (gone if it was destroyed meanwhile).
  std::weak_ptr<bool> alive = alive_;
  listening.addBoth([this, alive](Outcome<std::shared_ptr<IListeningPort>> outcome) {
    if (alive.expired()) {
      if (outcome.succeeded()) outcome.value()->stopListening();
      return;
    }
    if (outcome.succeeded()) {
      port_ = outcome.value();  // the port itself logs the address it bound
      return;
    }
    failure_ = outcome.failure();
    if (!raiseSynchronously) {
      static const logger::Logger log("twisted.application.internet");
      log.failure("Could not listen on {endpoint}", *failure_,
                  {{"endpoint", endpoint_->describe()}}, logger::LogLevel::error);
    }
  });
  if (failure_ && raiseSynchronously) failure_->raiseException();
  running_ = true;
}

Deferred<void> StreamServerEndpointService::stopService() {
  running_ = false;
  if (!port_) return succeed();
  auto port = std::move(port_);
  return port->stopListening();
}

std::shared_ptr<StreamServerEndpointService> strports::service(IReactorTCP& reactor,
                                                               std::string_view description,
                                                               std::shared_ptr<Factory> factory) {
  return std::make_shared<StreamServerEndpointService>(serverFromString(reactor, description),
                                                       std::move(factory));
}

}  // namespace twisted::application
