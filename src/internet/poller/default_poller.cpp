// The one file that knows every backend (muduo's DefaultPoller.cc).
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "poller.hpp"
#include "twisted/internet/error.hpp"

namespace twisted {

std::string_view backendName(Backend backend) {
  switch (backend) {
    case Backend::Select:
      return "select";
    case Backend::Poll:
      return "poll";
    case Backend::Epoll:
      return "epoll";
    case Backend::Default:
      break;
  }
  return "default";
}

Backend backendFromName(std::string_view name) {
  if (name == "select") return Backend::Select;
  if (name == "poll") return Backend::Poll;
  if (name == "epoll") return Backend::Epoll;
  if (name == "default" || name.empty()) return Backend::Default;
  throw error::UnknownBackend("'" + std::string(name) + "' (choose select, poll or epoll)");
}

Backend resolveBackend(Backend backend) {
  if (backend != Backend::Default) return backend;
  if (const char* env = std::getenv("TWISTED_REACTOR"); env && *env) {
    Backend chosen = backendFromName(env);
    if (chosen != Backend::Default) return chosen;
  }
  return Backend::Epoll;
}

namespace detail {

std::unique_ptr<Poller> makePoller(Backend backend) {
  switch (resolveBackend(backend)) {
    case Backend::Select:
      return makeSelectPoller();
    case Backend::Poll:
      return makePollPoller();
    case Backend::Epoll:
    case Backend::Default:
      break;
  }
  return makeEpollPoller();
}

int timeoutMillis(double timeout) {
  if (timeout < 0) return -1;
  // epoll_wait takes an int: clamp as Twisted does (about 24 days).
  constexpr double kMax = 2147483.0;
  double ms = std::ceil(std::min(timeout, kMax) * 1000.0);
  return static_cast<int>(ms);
}

}  // namespace detail
}  // namespace twisted
