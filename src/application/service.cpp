#include "twisted/application/service.hpp"

#include <algorithm>

#include "twisted/internet/defer_helpers.hpp"

namespace twisted::application {

Deferred<void> Service::stopService() {
  running_ = false;
  return succeed();
}

void MultiService::addService(std::shared_ptr<Service> service) {
  services_.push_back(service);
  if (running_) service->startService();
}

Deferred<void> MultiService::removeService(const std::shared_ptr<Service>& service) {
  auto it = std::find(services_.begin(), services_.end(), service);
  if (it == services_.end()) return succeed();
  services_.erase(it);
  return service->running() ? service->stopService() : succeed();
}

std::shared_ptr<Service> MultiService::getServiceNamed(const std::string& name) const {
  for (const auto& s : services_) {
    if (s->name == name) return s;
  }
  return nullptr;
}

void MultiService::startService() {
  running_ = true;
  std::size_t started = 0;
  try {
    for (; started < services_.size(); ++started) services_[started]->startService();
  } catch (...) {
    // Leave nothing half-started: stop, newest first, what did start.
    for (std::size_t i = started; i-- > 0;) services_[i]->stopService();
    running_ = false;
    throw;
  }
}

Deferred<void> MultiService::stopService() {
  running_ = false;
  std::vector<Deferred<void>> stopping;
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
    if ((*it)->running()) stopping.push_back((*it)->stopService());
  }
  return gatherResults(std::move(stopping));
}

}  // namespace twisted::application
