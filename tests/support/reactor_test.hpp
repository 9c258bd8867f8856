// The test harness for reactor tests: every test runs on every backend
// (Twisted's ReactorBuilder), and the janitor users get
// (twisted/testing/janitor.hpp) fails the test if it leaves descriptors,
// delayed calls, open connections or fds behind; unflushed logged errors
// fail it too.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/publisher.hpp"
#include "twisted/testing/janitor.hpp"

namespace twisted::test {

/// Number of open file descriptors of this process (the shipped one).
using twisted::testing::countOpenFds;
/// Number of threads of this process (/proc/self/task).
int countThreads();
/// countThreads() once threads have been used at least once: a sanitizer
/// runtime starts a helper thread of its own on the first thread creation.
int threadBaseline();
/// Waits up to `seconds` for countThreads() to drop to `n`; returns the count.
int waitForThreadCount(int n, double seconds = 5);

/// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

/// A connected, non-blocking pair of stream sockets.
std::pair<Fd, Fd> socketPair();
/// A pipe: {read end, write end}, non-blocking.
std::pair<Fd, Fd> pipePair();
void sendByte(const Fd& fd, char c = 'x');

/// Collects the events published while it lives.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::vector<logger::LogEvent> events() const;
  /// Removes and returns the logged failures of exception type E (trial's
  /// flushLoggedErrors).
  template <class E>
  std::size_t flushErrors() {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto it = events_.begin(); it != events_.end();) {
      if (it->failure && it->failure->check<E>()) {
        it = events_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  /// Removes and returns the error-level events whose format contains
  /// `text` (for errors logged without a failure).
  std::size_t flushMessages(const std::string& text) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto it = events_.begin(); it != events_.end();) {
      if (it->format.find(text) != std::string::npos) {
        it = events_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  /// The error-level events not flushed.
  std::vector<std::string> unflushedErrors() const;

 private:
  mutable std::mutex mutex_;
  std::vector<logger::LogEvent> events_;
  logger::LogPublisher::ObserverId id_;
};

/// A descriptor whose behaviour each test sets with lambdas.
class FakeDescriptor : public IReadWriteDescriptor {
 public:
  explicit FakeDescriptor(int fd) : fd(fd) {}
  int fileno() const override {
    ++filenoCalls;
    return fd;
  }
  IOResult doRead() override { return onRead ? onRead() : std::nullopt; }
  IOResult doWrite() override { return onWrite ? onWrite() : std::nullopt; }
  void connectionLost(const Failure& reason) override {
    lost.push_back(reason);
    if (onLost) onLost(reason);
  }
  std::string logPrefix() const override { return "FakeDescriptor"; }

  int fd;
  mutable int filenoCalls = 0;
  std::function<IOResult()> onRead;
  std::function<IOResult()> onWrite;
  std::function<void(const Failure&)> onLost;
  std::vector<Failure> lost;
};

/// A test without a reactor that fails if it logged an error it did not
/// flush (trial's rule): the Deferred tests.
class NoLoggedErrorsTest : public ::testing::Test {
 protected:
  void TearDown() override;
  LogCapture logs;
};

class ReactorTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;
  /// Runs the reactor (without signal handlers unless asked) and fails the
  /// test if it has not stopped within `timeout` seconds.
  void runReactor(double timeout = 10, bool signals = false);

  std::unique_ptr<Reactor> reactor;
  std::unique_ptr<LogCapture> logs;

 private:
  std::optional<testing::Janitor> janitor_;
};

std::string backendParamName(const ::testing::TestParamInfo<Backend>& info);

}  // namespace twisted::test

#define TWISTED_ALL_BACKENDS(Suite)                                              \
  INSTANTIATE_TEST_SUITE_P(                                                      \
      Backends, Suite,                                                           \
      ::testing::Values(::twisted::Backend::Select, ::twisted::Backend::Poll,    \
                        ::twisted::Backend::Epoll, ::twisted::Backend::IoUring), \
      ::twisted::test::backendParamName)
