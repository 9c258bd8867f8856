// Janitor: finds what a test left behind, as trial's janitor (its
// DirtyReactorAggregateError) and libuv's clean-loop check: descriptors
// still registered with the reactor, delayed calls still pending,
// connections or ports still open, file descriptors still open.
//
// Each check changes nothing and returns one line per problem, empty when
// clean, so it fits any test framework. With GoogleTest:
//
//   class ServerTest : public ::testing::Test {
//    protected:
//     twisted::testing::Janitor janitor;  // first: notes the fds open now
//     std::unique_ptr<twisted::Reactor> reactor = twisted::Reactor::create();
//     void TearDown() override {
//       for (const std::string& p : janitor.reactorLeftovers(*reactor)) ADD_FAILURE() << p;
//       reactor.reset();  // the reactor's own descriptors close here
//       for (const std::string& p : janitor.leakedFds()) ADD_FAILURE() << p;
//     }
//   };
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "twisted/internet/interfaces.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::testing {

/// How many file descriptors this process has open (Linux: the entries of
/// /proc/self/fd); -1 if that cannot be read.
int countOpenFds();

/// Reports what a test left behind (registered descriptors, pending delayed calls, open
/// connections and file descriptors); each check returns one line per problem.
class Janitor {
 public:
  /// Notes the file descriptors open now (what leakedFds compares with).
  Janitor();

  /// What `reactor` still holds: registered readers and writers, pending
  /// delayed calls, and tracked descriptors (open connections and ports).
  std::vector<std::string> reactorLeftovers(const Reactor& reactor) const;
  /// Pending delayed calls of any IReactorTime (a testing::Clock, say).
  std::vector<std::string> pendingCalls(const IReactorTime& time) const;
  /// Readers and writers registered with any IReactorFDSet.
  std::vector<std::string> registeredDescriptors(const IReactorFDSet& fds) const;
  /// File descriptors open now that were not when the Janitor was made, and
  /// ones that were and are now closed, each with what it refers to. Call
  /// it after destroying the test's reactors: a reactor's own descriptors
  /// (poller, waker) count too.
  std::vector<std::string> leakedFds() const;

 private:
  std::vector<std::pair<int, std::string>> fdsAtStart_;  // number, what it is
};

}  // namespace twisted::testing
