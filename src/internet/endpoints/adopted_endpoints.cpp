// AdoptedStreamServerEndpoint: listening on a socket made elsewhere.
#include <sys/socket.h>
#include <unistd.h>

#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"

namespace twisted {

AdoptedStreamServerEndpoint::AdoptedStreamServerEndpoint(IReactorSocket& reactor, int fileno,
                                                         int addressFamily)
    : reactor_(reactor), fileno_(fileno), addressFamily_(addressFamily) {}

Deferred<std::shared_ptr<IListeningPort>> AdoptedStreamServerEndpoint::listen(
    std::shared_ptr<Factory> factory) {
  if (used_) {
    return fail<std::shared_ptr<IListeningPort>>(
        Failure::of(error::AlreadyListened("descriptor " + std::to_string(fileno_))));
  }
  used_ = true;
  try {
    std::shared_ptr<IListeningPort> port =
        reactor_.adoptStreamPort(fileno_, addressFamily_, std::move(factory));
    // The port serves its own duplicate; the inherited descriptor is
    // closed so that it is not also held open by this process (Twisted's).
    ::close(fileno_);
    return succeed(std::move(port));
  } catch (...) {
    return fail<std::shared_ptr<IListeningPort>>(Failure::current());
  }
}

std::string AdoptedStreamServerEndpoint::describe() const {
  const char* domain = addressFamily_ == AF_INET    ? "INET"
                       : addressFamily_ == AF_INET6 ? "INET6"
                       : addressFamily_ == AF_UNIX  ? "UNIX"
                                                    : nullptr;
  return "adopted:fileno=" + std::to_string(fileno_) +
         ":domain=" + (domain ? domain : std::to_string(addressFamily_));
}

}  // namespace twisted
