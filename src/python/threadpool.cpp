#include "twisted/python/threadpool.hpp"

#include <algorithm>
#include <stdexcept>

#include "twisted/logger/logger.hpp"

namespace twisted {

namespace {
const logger::Logger& log() {
  static const logger::Logger instance("twisted.python.threadpool");
  return instance;
}
}  // namespace

ThreadPool::ThreadPool(int minThreads, int maxThreads, std::string name)
    : min_(minThreads), max_(maxThreads), name_(std::move(name)) {
  if (minThreads < 0 || maxThreads < 1 || minThreads > maxThreads) {
    throw std::invalid_argument("ThreadPool needs 0 <= minThreads <= maxThreads, maxThreads >= 1");
  }
}

ThreadPool::~ThreadPool() {
  stop();
}

void ThreadPool::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  while (alive_ < min_) {
    ++alive_;
    threads_.emplace_back([this] { worker(); });
  }
  spawnIfNeeded();
}

void ThreadPool::spawnIfNeeded() {
  // One new worker per queued item nobody idle will take, within max_.
  int wanted = static_cast<int>(queue_.size()) - idle_;
  while (wanted > 0 && alive_ < max_) {
    ++alive_;
    threads_.emplace_back([this] { worker(); });
    --wanted;
  }
}

void ThreadPool::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    if (!started_) return;
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
  std::lock_guard lock(mutex_);
  started_ = false;
  stopping_ = false;
  excess_ = 0;
}

void ThreadPool::callInThread(UniqueFunction<void()> f) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(f));
    if (started_ && !stopping_) spawnIfNeeded();
  }
  cv_.notify_one();
}

void ThreadPool::adjustPoolsize(int minThreads, int maxThreads) {
  if (minThreads < 0 || maxThreads < 1 || minThreads > maxThreads) {
    throw std::invalid_argument("ThreadPool needs 0 <= minThreads <= maxThreads, maxThreads >= 1");
  }
  {
    std::lock_guard lock(mutex_);
    min_ = minThreads;
    max_ = maxThreads;
    if (!started_) return;
    excess_ = std::max(0, alive_ - max_);
    while (alive_ < min_) {
      ++alive_;
      threads_.emplace_back([this] { worker(); });
    }
    spawnIfNeeded();
  }
  cv_.notify_all();
}

void ThreadPool::worker() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (excess_ > 0) {
      --excess_;
      break;
    }
    if (!queue_.empty()) {
      UniqueFunction<void()> f = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      try {
        f();
      } catch (...) {
        log().failure("Unhandled error in thread pool {pool}", Failure::current(),
                      {{"pool", name_}}, logger::LogLevel::error);
      }
      f.reset();  // destroy captures outside the lock
      lock.lock();
      continue;
    }
    if (stopping_) break;
    ++idle_;
    cv_.wait(lock);
    --idle_;
  }
  // A worker that exits early (the pool shrank) stays in threads_ until
  // stop() joins it: detaching would let it touch the pool after destruction.
  --alive_;
}

bool ThreadPool::started() const {
  std::lock_guard lock(mutex_);
  return started_;
}
int ThreadPool::minThreads() const {
  std::lock_guard lock(mutex_);
  return min_;
}
int ThreadPool::maxThreads() const {
  std::lock_guard lock(mutex_);
  return max_;
}
std::size_t ThreadPool::threadCount() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(alive_);
}
std::size_t ThreadPool::queuedCount() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace twisted
