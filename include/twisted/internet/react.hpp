// Twisted's task.react: the `main` of a small asynchronous program.
//
//   int main(int argc, char** argv) {
//     return twisted::task::react([](twisted::Reactor& reactor) -> twisted::Deferred<void> {
//       std::string page = co_await fetch(reactor, "example.com");
//       std::cout << page;
//     });
//   }
#pragma once

#include <concepts>
#include <stdexcept>
#include <string>
#include <utility>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/python/unique_function.hpp"

namespace twisted::task {

/// Python's SystemExit for react(): a main function that fails with it (or
/// throws it) ends the program with `code` instead of 1, and nothing is
/// logged.
class SystemExit : public std::runtime_error {
 public:
  /// Ends react() with exit status `code`.
  explicit SystemExit(int code)
      : std::runtime_error("SystemExit(" + std::to_string(code) + ")"), code_(code) {}
  /// The exit status react() returns.
  int code() const noexcept { return code_; }

 private:
  int code_;
};

namespace detail {
int reactOn(Reactor& reactor, UniqueFunction<Deferred<void>(Reactor&)> main);

template <class F, class... Args>
UniqueFunction<Deferred<void>(Reactor&)> reactMain(F main, Args&&... args) {
  return [main = std::move(main),
          ... args = std::forward<Args>(args)](Reactor& reactor) mutable -> Deferred<void> {
    auto d = main(reactor, args...);
    if constexpr (std::same_as<decltype(d), Deferred<void>>) {
      return d;
    } else {
      return d.addCallback([](auto&&) {});  // the value does not matter, only that it came
    }
  };
}
}  // namespace detail

/// Calls `main(reactor, args...)` once `reactor` runs and runs it until
/// the Deferred `main` returns has fired (or the reactor is stopped another
/// way: a signal, or `main` calling stop()), then returns the exit status:
/// 0 on success, the code of a SystemExit failure, or 1 for any other
/// failure, which is logged ("main function encountered error"). The
/// reactor is stopped once, never twice. Unlike Twisted's, it returns the
/// status instead of exiting: `return task::react(...)` from main().
template <class F, class... Args>
requires std::invocable<F&, Reactor&, Args&...>
int react(Reactor& reactor, F main, Args&&... args) {
  return detail::reactOn(reactor, detail::reactMain(std::move(main), std::forward<Args>(args)...));
}

/// react() on a new Reactor of the default backend ($TWISTED_REACTOR, else
/// epoll), destroyed when it returns (Twisted uses its global reactor).
template <class F, class... Args>
requires std::invocable<F&, Reactor&, Args&...>
int react(F main, Args&&... args) {
  Reactor reactor;
  return react(reactor, std::move(main), std::forward<Args>(args)...);
}

}  // namespace twisted::task
