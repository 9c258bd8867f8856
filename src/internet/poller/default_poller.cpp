// The one file that knows every backend (muduo's DefaultPoller.cc).
#include <cmath>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <set>
#include <string>

#include "poller.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted {

std::string_view backendName(Backend backend) {
  switch (backend) {
    case Backend::Select:
      return "select";
    case Backend::Poll:
      return "poll";
    case Backend::Epoll:
      return "epoll";
    case Backend::IoUring:
      return "iouring";
    case Backend::Default:
      break;
  }
  return "default";
}

Backend backendFromName(std::string_view name) {
  if (name == "select") return Backend::Select;
  if (name == "poll") return Backend::Poll;
  if (name == "epoll") return Backend::Epoll;
  if (name == "iouring") return Backend::IoUring;
  if (name == "default" || name.empty()) return Backend::Default;
  throw error::UnknownBackend("'" + std::string(name) +
                              "' (choose select, poll, epoll or iouring)");
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

namespace {

// Once per reason and process: a server making a reactor per worker, or a
// test suite making thousands, says it once.
void logFallback(const std::string& whyNot) {
  static std::mutex mutex;
  static std::set<std::string> told;
  {
    std::lock_guard lock(mutex);
    if (!told.insert(whyNot).second) return;
  }
  static const logger::Logger log("twisted.internet.reactor");
  log.warn("io_uring is unavailable ({why}): the reactor runs on epoll",
           {{"why", whyNot}, {"backend", std::string("epoll")}});
}

}  // namespace

std::unique_ptr<Poller> makePoller(Backend backend) {
  switch (resolveBackend(backend)) {
    case Backend::Select:
      return makeSelectPoller();
    case Backend::Poll:
      return makePollPoller();
    case Backend::IoUring: {
      std::string whyNot;
      if (auto poller = makeUringPoller(whyNot)) return poller;
      logFallback(whyNot);
      break;
    }
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
