#include "reactor_test.hpp"

#include <dirent.h>
#include <fcntl.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "twisted/logger/observers.hpp"

namespace twisted::test {

namespace {
int countEntries(const char* dirPath) {
  int n = 0;
  DIR* dir = ::opendir(dirPath);
  if (!dir) return -1;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}
}  // namespace

int countThreads() {
  return countEntries("/proc/self/task");
}

int threadBaseline() {
  std::thread([] {}).join();
  // The joined thread leaves /proc/self/task a moment after join returns.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return countThreads();
}

int waitForThreadCount(int n, double seconds) {
  // A joined thread leaves /proc/self/task a moment after join() returns.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int now = countThreads();
  while (now != n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    now = countThreads();
  }
  return now;
}

std::pair<Fd, Fd> socketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::runtime_error("socketpair failed");
  }
  return {Fd(fds[0]), Fd(fds[1])};
}

std::pair<Fd, Fd> pipePair() {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  return {Fd(fds[0]), Fd(fds[1])};
}

void sendByte(const Fd& fd, char c) {
  if (::write(fd.get(), &c, 1) != 1) throw std::runtime_error("write failed");
}

LogCapture::LogCapture() {
  id_ = logger::globalLogPublisher().addObserver([this](const logger::LogEvent& e) {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
  });
}

LogCapture::~LogCapture() {
  logger::globalLogPublisher().removeObserver(id_);
}

std::vector<logger::LogEvent> LogCapture::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<std::string> LogCapture::unflushedErrors() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& e : events_) {
    if (e.level >= logger::LogLevel::error) out.push_back(logger::formatEventAsText(e));
  }
  return out;
}

void ReactorTest::SetUp() {
  janitor_.emplace();  // before the reactor opens its own descriptors
  logs = std::make_unique<LogCapture>();
  reactor = Reactor::create(GetParam());
}

void ReactorTest::TearDown() {
  // The janitor: nothing may be left registered, scheduled or open.
  for (const std::string& problem : janitor_->reactorLeftovers(*reactor)) {
    ADD_FAILURE() << "test left " << problem;
  }
  for (auto& d : reactor->removeAll()) (void)d;
  reactor.reset();
  for (const std::string& problem : janitor_->leakedFds()) ADD_FAILURE() << problem;
  janitor_.reset();
  auto errors = logs->unflushedErrors();
  EXPECT_TRUE(errors.empty()) << "unexpected logged errors:\n"
                              << (errors.empty() ? std::string() : errors.front());
  logs.reset();
}

void ReactorTest::runReactor(double timeout, bool signals) {
  bool timedOut = false;
  DelayedCall guard = reactor->callLater(timeout, [&] {
    timedOut = true;
    reactor->crash();
  });
  reactor->run(signals);
  if (guard.active()) guard.cancel();
  ASSERT_FALSE(timedOut) << "reactor still running after " << timeout << " s";
}

void NoLoggedErrorsTest::TearDown() {
  auto errors = logs.unflushedErrors();
  EXPECT_TRUE(errors.empty()) << "unexpected logged errors:\n"
                              << (errors.empty() ? std::string() : errors.front());
}

std::string backendParamName(const ::testing::TestParamInfo<Backend>& info) {
  return std::string(backendName(info.param));
}

}  // namespace twisted::test
