// The timer heap behind Reactor::callLater and testing::Clock.
//
// A binary min-heap of (time, sequence, node) entries; the sequence breaks
// ties so equal times run in scheduling order. Cancel and reschedule never
// search the heap: the old entry is left behind as garbage (its sequence no
// longer matches the node's) and the heap is compacted once garbage is more
// than half of it. So cancelling is O(1) and a heap full of cancelled calls
// costs nothing when the loop runs.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "twisted/internet/delayed_call.hpp"
#include "twisted/python/failure.hpp"
#include "twisted/python/thread_check.hpp"

namespace twisted::detail {

class TimerQueue {
 public:
  using Node = DelayedCallNode;

  TimerQueue() = default;
  /// Cancels every pending call: their callables are destroyed, and handles
  /// still held report cancelled().
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  /// Schedules `f` at absolute time `when`.
  DelayedCall schedule(double when, UniqueFunction<void()> f);
  void cancel(Node& node);
  void reschedule(Node& node, double when);
  /// The time base handles use for reset(); set by the owner.
  double now() const { return now_(nowArg_); }
  void setTimeSource(double (*now)(const void*), const void* arg) {
    now_ = now;
    nowArg_ = arg;
  }

  /// True when the heap holds nothing, not even cancelled entries: the
  /// loop's test for a turn with no timer work, without reading the clock.
  bool empty() const { return heap_.empty(); }
  /// Earliest pending time, or nothing when no call is pending.
  std::optional<double> nextTime();

  /// How a callback's exception is handled: the reactor logs it and goes
  /// on; testing::Clock lets it propagate to the caller of advance().
  using ErrorHandler = void (*)(const Failure&);

  /// Runs every call due at `now`. With `batch`, calls scheduled by these
  /// callbacks wait for the next run (the reactor: no starvation of I/O);
  /// without, they run too if due (testing::Clock::advance, like Twisted's).
  void runDue(double now, bool batch, ErrorHandler onError);

  std::size_t pendingCount() const { return live_; }

  /// Who may touch the queue's calls (thread_check.hpp): set by a reactor
  /// to its thread and its "running" flag; a testing::Clock sets nothing.
  void setOwner(const pthread_t* thread, const bool* running) {
    ownerThread_ = thread;
    ownerRunning_ = running;
  }
  void checkThread() const {
    if (ownerRunning_ && *ownerRunning_) detail::checkThread(*ownerThread_, "a DelayedCall");
  }
  std::vector<DelayedCall> pending() const;

 private:
  const pthread_t* ownerThread_ = nullptr;
  const bool* ownerRunning_ = nullptr;
  struct Entry {
    double time;
    std::uint64_t seq;
    Node* node;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const noexcept {
      return a.time > b.time || (a.time == b.time && a.seq > b.seq);
    }
  };
  static bool live(const Entry& e) noexcept {
    return e.node->state == Node::State::Pending && e.node->seq == e.seq;
  }
  void push(Node& node);
  Entry pop();
  void dropTopGarbage();
  void noteGarbage();
  void run(Node& node, ErrorHandler onError);

  std::vector<Entry> heap_;
  std::vector<Entry> batch_;
  std::uint64_t nextSeq_ = 0;
  std::size_t garbage_ = 0;  // entries in heap_ that are no longer live
  std::size_t live_ = 0;     // pending calls
  double (*now_)(const void*) = [](const void*) { return 0.0; };
  const void* nowArg_ = nullptr;
};

}  // namespace twisted::detail
