// ThreadPool, as twisted.python.threadpool.ThreadPool.
//
// Workers are started on demand, up to `maxThreads`, when work is queued and
// no worker is idle. stop() lets queued work finish and joins every worker.
// Work queued before start() waits for it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "twisted/python/unique_function.hpp"

namespace twisted {

/// A pool of worker threads for blocking calls (Twisted's ThreadPool).
/// Not started on construction: call start().
class ThreadPool {
 public:
  /// Keeps between `minThreads` and `maxThreads` workers once started; `name`
  /// tags its log events. @throws std::invalid_argument unless
  /// 0 <= minThreads <= maxThreads and maxThreads >= 1.
  explicit ThreadPool(int minThreads = 0, int maxThreads = 10, std::string name = "");
  /// Stops the pool (joining its threads) if it is still running.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Starts `minThreads` workers (and more as work arrives).
  void start();
  /// Runs what is already queued, then joins every worker. The pool may be
  /// started again.
  void stop();
  /// Queues `f` to run on a worker thread (thread-safe). An exception
  /// escaping `f` is logged; the worker goes on.
  void callInThread(UniqueFunction<void()> f);
  /// Changes the bounds; extra idle workers exit, missing ones start.
  /// @throws std::invalid_argument for bounds the constructor would refuse.
  void adjustPoolsize(int minThreads, int maxThreads);

  /// True between start() and stop().
  bool started() const;
  /// The fewest workers kept once started.
  int minThreads() const;
  /// The most workers run at once.
  int maxThreads() const;
  /// Threads currently alive.
  std::size_t threadCount() const;
  /// Work items waiting for a thread.
  std::size_t queuedCount() const;
  /// The name given to the constructor.
  const std::string& name() const { return name_; }

 private:
  void worker();
  void spawnIfNeeded();  // call with mutex_ held

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<UniqueFunction<void()>> queue_;
  std::vector<std::thread> threads_;
  int min_;
  int max_;
  int idle_ = 0;
  int alive_ = 0;
  int excess_ = 0;  // workers asked to exit after adjustPoolsize shrank max
  bool started_ = false;
  bool stopping_ = false;
  std::string name_;
};

}  // namespace twisted
