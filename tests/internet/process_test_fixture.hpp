// What the process tests share: a protocol that records every callback in
// order, and a fixture (on every backend) with a temporary directory and
// `sh -c` children.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iterate_until.hpp"
#include "reactor_test.hpp"
#include "temp_dir.hpp"
#include "twisted/internet/reactor_process.hpp"

namespace twisted::test {

// The ProcessTerminated a failure holds, if it holds one.
inline std::optional<error::ProcessTerminated> terminatedOf(const Failure& f) {
  try {
    f.raiseException();
  } catch (const error::ProcessTerminated& e) {
    return e;
  } catch (...) {
  }
  return std::nullopt;
}

// Records every callback, in order.
class Recorder : public ProcessProtocol {
 public:
  std::map<int, std::string> received;
  std::vector<std::string> events;
  std::optional<Failure> exited;
  std::optional<Failure> ended;
  std::function<void(Recorder&)> onMade;
  std::function<void(Recorder&, int fd, std::string_view data)> onData;
  std::function<void(Recorder&, int fd)> onLost;
  std::function<void(Recorder&)> onExited;

  void connectionMade() override {
    events.push_back("made");
    if (onMade) onMade(*this);
  }
  void childDataReceived(int fd, std::string_view data) override {
    received[fd].append(data);
    ProcessProtocol::childDataReceived(fd, data);
    if (onData) onData(*this, fd, data);
  }
  void childConnectionLost(int fd) override {
    events.push_back("lost " + std::to_string(fd));
    ProcessProtocol::childConnectionLost(fd);
    if (onLost) onLost(*this, fd);
  }
  void processExited(const Failure& reason) override {
    events.push_back("exited");
    exited = reason;
    if (onExited) onExited(*this);
  }
  void processEnded(const Failure& reason) override {
    events.push_back("ended");
    ended = reason;
  }
  // A reference: tests index into megabytes of output, which a copy per
  // index made quadratic (minutes on a loaded machine).
  const std::string& out() { return received[1]; }
};

class ProcessTestBase : public ReactorTest {
 protected:
  std::shared_ptr<Recorder> protocol = std::make_shared<Recorder>();
  TemporaryDirectory tmp{"twisted-process"};

  std::shared_ptr<IProcessTransport> sh(const std::string& script,
                                        std::optional<ChildFDs> fds = {}) {
    return reactor->spawnProcess(protocol, "/bin/sh", {"sh", "-c", script}, Environment{}, {}, {},
                                 {}, false, std::move(fds));
  }
  /// `sh -c script` on a pseudo-terminal (usePTY).
  std::shared_ptr<IProcessTransport> pty(const std::string& script,
                                         std::shared_ptr<Recorder> p = nullptr) {
    return reactor->spawnProcess(p ? p : protocol, "/bin/sh", {"sh", "-c", script}, Environment{},
                                 {}, {}, {}, /*usePTY=*/true);
  }
  /// `sh -c script` for `p`, on a PTY or on Twisted's default pipes.
  std::shared_ptr<IProcessTransport> shOn(bool onPty, const std::string& script,
                                          std::shared_ptr<Recorder> p) {
    if (onPty) return pty(script, std::move(p));
    return reactor->spawnProcess(std::move(p), "/bin/sh", {"sh", "-c", script});
  }
  void waitEnded(const std::shared_ptr<Recorder>& p) {
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return p->ended.has_value(); }, "processEnded"));
  }
  void waitEnded() { waitEnded(protocol); }
};

/// Turns `reactor` until `d` has fired; its outcome.
template <class T>
std::optional<Outcome<T>> settle(Reactor& reactor, Deferred<T> d) {
  std::optional<Outcome<T>> out;
  d.addBoth([&](Outcome<T> o) { out = std::move(o); });
  EXPECT_TRUE(iterateUntil(
      reactor, [&] { return out.has_value(); }, "the Deferred"));
  return out;
}

}  // namespace twisted::test
