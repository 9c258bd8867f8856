#include "twisted/internet/protocol_switch.hpp"

#include <stdexcept>

#include "../endpoints/wrapping_factory.hpp"
#include "../tcp/tcp.hpp"
#include "../unix/unix.hpp"

namespace twisted {

namespace {

template <class Stream>
std::shared_ptr<Protocol> swapOn(Stream& stream, std::shared_ptr<Protocol> next) {
  if (!stream.connected()) {
    throw std::logic_error("replaceProtocol: the connection is not connected");
  }
  std::shared_ptr<Protocol> old = stream.swapProtocol(std::move(next));
  std::shared_ptr<Protocol> user = detail::unwrapEndpointProtocol(old);
  if (user != old) {
    // The endpoint's wrapper may be on the stack (it called the user's
    // connectionMade or dataReceived, which switched): it goes on the next
    // turn of the loop, not now.
    stream.host().clock().callLater(0, [keep = std::move(old)] {});
  }
  return user;
}

}  // namespace

std::shared_ptr<Protocol> replaceProtocol(ITransport& transport, std::shared_ptr<Protocol> next) {
  if (!next) throw std::invalid_argument("replaceProtocol: no protocol");
  if (auto* tcp = dynamic_cast<tcp::Connection*>(&transport)) return swapOn(*tcp, std::move(next));
  if (auto* local = dynamic_cast<unixsock::Connection*>(&transport)) {
    return swapOn(*local, std::move(next));
  }
  throw std::invalid_argument("replaceProtocol: not a reactor's TCP or UNIX stream transport");
}

bool isReactorStreamTransport(const ITransport& transport) {
  return dynamic_cast<const tcp::Connection*>(&transport) ||
         dynamic_cast<const unixsock::Connection*>(&transport);
}

}  // namespace twisted
