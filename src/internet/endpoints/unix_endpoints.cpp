// UNIX server and client endpoints.
#include <cstdio>
#include <utility>

#include "../unix/unix.hpp"
#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/endpoints.hpp"
#include "wrapping_factory.hpp"

namespace twisted {

namespace {
// "@name" for an abstract name, as the string grammar writes it.
std::string describeName(const std::string& name) {
  return quoteEndpointValue(unixsock::describe(name));
}
}  // namespace

UNIXServerEndpoint::UNIXServerEndpoint(IReactorUNIX& reactor, std::string address, int backlog,
                                       int mode, bool wantPID)
    : reactor_(reactor),
      address_(std::move(address)),
      backlog_(backlog),
      mode_(mode),
      wantPID_(wantPID) {}

Deferred<std::shared_ptr<IListeningPort>> UNIXServerEndpoint::listen(
    std::shared_ptr<Factory> factory) {
  try {
    return succeed(reactor_.listenUNIX(address_, std::move(factory), backlog_, mode_, wantPID_));
  } catch (...) {
    return fail<std::shared_ptr<IListeningPort>>(Failure::current());
  }
}

std::string UNIXServerEndpoint::describe() const {
  char mode[16];
  std::snprintf(mode, sizeof mode, "%o", static_cast<unsigned>(mode_));
  return "unix:" + describeName(address_) + ":mode=" + mode +
         ":backlog=" + std::to_string(backlog_) + ":lockfile=" + (wantPID_ ? "1" : "0");
}

UNIXClientEndpoint::UNIXClientEndpoint(IReactorUNIX& reactor, std::string path, double timeout,
                                       bool checkPID)
    : reactor_(reactor), path_(std::move(path)), timeout_(timeout), checkPID_(checkPID) {}

Deferred<std::shared_ptr<Protocol>> UNIXClientEndpoint::connect(std::shared_ptr<Factory> factory) {
  auto wrapping = detail::WrappingFactory::make(std::move(factory));
  Deferred<std::shared_ptr<Protocol>> d = wrapping->onConnection();
  try {
    reactor_.connectUNIX(path_, wrapping, timeout_, checkPID_);
  } catch (...) {
    return fail<std::shared_ptr<Protocol>>(Failure::current());
  }
  return d;
}

std::string UNIXClientEndpoint::describe() const {
  std::string text = "unix:path=" + describeName(path_);
  if (timeout_ != 30) text += ":timeout=" + std::to_string(timeout_);
  if (checkPID_) text += ":lockfile=1";
  return text;
}

}  // namespace twisted
