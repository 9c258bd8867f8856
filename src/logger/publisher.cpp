#include "twisted/logger/publisher.hpp"

#include <pthread.h>

#include <cstdio>

#include "twisted/logger/observers.hpp"

namespace twisted::logger {

LogPublisher::ObserverId LogPublisher::addObserver(LogObserver observer) {
  std::lock_guard lock(mutex_);
  auto list = std::make_shared<List>(*observers_);
  ObserverId id = nextId_++;
  list->emplace_back(id, std::move(observer));
  observers_ = std::move(list);
  return id;
}

void LogPublisher::removeObserver(ObserverId id) {
  std::lock_guard lock(mutex_);
  auto list = std::make_shared<List>();
  for (const auto& entry : *observers_) {
    if (entry.first != id) list->push_back(entry);
  }
  observers_ = std::move(list);
}

void LogPublisher::publish(const LogEvent& event) const {
  std::shared_ptr<const List> list;
  {
    std::lock_guard lock(mutex_);
    list = observers_;  // observers run outside the lock: they may log too
  }
  for (const auto& entry : *list) {
    try {
      entry.second(event);
    } catch (...) {  // NOLINT(bugprone-empty-catch): see the class comment
    }
  }
}

std::size_t LogPublisher::observerCount() const {
  std::lock_guard lock(mutex_);
  return observers_->size();
}

namespace {
struct GlobalState {
  LogPublisher publisher;
  std::mutex mutex;
  LogPublisher::ObserverId defaultObserver = 0;
  GlobalState() {
    defaultObserver =
        publisher.addObserver(filteringObserver(textFileLogObserver(stderr), LogLevel::warn));
  }
};
GlobalState& global() {
  static GlobalState* state = new GlobalState;  // never destroyed: usable at exit
  return *state;
}
}  // namespace

// Built before main (so that no thread is ever inside its construction when
// another forks), and both locks are held by the forking thread across
// fork(), in the order beginLoggingTo takes them, so that neither side
// inherits one held by a thread it does not have.
struct PublisherForkHandlers {
  static void prepare() {
    global().mutex.lock();
    global().publisher.mutex_.lock();
  }
  static void release() {
    global().publisher.mutex_.unlock();
    global().mutex.unlock();
  }
};

namespace {
[[gnu::constructor]] void buildGlobalState() {
  global();
  ::pthread_atfork(PublisherForkHandlers::prepare, PublisherForkHandlers::release,
                   PublisherForkHandlers::release);
}
}  // namespace

LogPublisher& globalLogPublisher() {
  return global().publisher;
}

void beginLoggingTo(std::vector<LogObserver> observers) {
  GlobalState& g = global();
  std::lock_guard lock(g.mutex);
  if (g.defaultObserver != 0) {
    g.publisher.removeObserver(g.defaultObserver);
    g.defaultObserver = 0;
  }
  for (auto& o : observers) g.publisher.addObserver(std::move(o));
}

}  // namespace twisted::logger
