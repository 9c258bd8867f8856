// Services, as Twisted's twisted.application.service: something that is
// started when the program starts and stopped (possibly taking time) when it
// stops. `twist` plugins build one.
//
//   auto top = std::make_shared<twisted::application::MultiService>();
//   top->addService(std::make_shared<StreamServerEndpointService>(endpoint, factory));
//   top->startService();
//   ...
//   top->stopService().addCallback([] { /* every child has stopped */ });
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "twisted/internet/deferred.hpp"

namespace twisted::application {

/// Twisted's Service / IService.
class Service {
 public:
  virtual ~Service() = default;

  /// A name for logs and for MultiService::getServiceNamed.
  std::string name;

  /// Starts the service. The default only records that it is running.
  virtual void startService() { running_ = true; }
  /// Stops the service; the Deferred fires once it has stopped (a listening
  /// port closed, connections drained). The default stops at once.
  virtual Deferred<void> stopService();
  /// True between startService and stopService.
  bool running() const { return running_; }

 protected:
  /// Whether the service is running; subclasses set it in startService and stopService.
  bool running_ = false;
};

/// Twisted's MultiService: a service made of services, started in the
/// order added and stopped in reverse order.
class MultiService : public Service {
 public:
  /// Adds `service` (started at once if this one is running).
  void addService(std::shared_ptr<Service> service);
  /// Stops and removes `service`; the Deferred fires when it has stopped.
  Deferred<void> removeService(const std::shared_ptr<Service>& service);
  /// The child named `name`, or nullptr.
  std::shared_ptr<Service> getServiceNamed(const std::string& name) const;
  /// The children, in the order they were added.
  const std::vector<std::shared_ptr<Service>>& services() const { return services_; }

  /// Starts each child in order. If one throws, the ones already started
  /// are stopped again and the exception propagates.
  void startService() override;
  /// Stops every child (last added first); fires when all have stopped,
  /// failing with the first failure if any failed.
  Deferred<void> stopService() override;

 private:
  std::vector<std::shared_ptr<Service>> services_;
};

}  // namespace twisted::application
