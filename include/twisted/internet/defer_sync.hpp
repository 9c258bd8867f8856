// DeferredLock, DeferredSemaphore, DeferredQueue: coordination without
// threads, as in twisted.internet.defer.
#pragma once

#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <stdexcept>

#include "twisted/internet/defer_helpers.hpp"

namespace twisted {

namespace detail {
/// Removes the first element equal to `value` (a cancelled waiter).
template <class Container, class V>
void eraseFirst(Container& c, const V& value) {
  for (auto it = c.begin(); it != c.end(); ++it) {
    if (*it == value) {
      c.erase(it);
      return;
    }
  }
}

/// Waiters for a token, each with a canceller that takes it off the list.
class TokenWaiters {
 public:
  Deferred<void> wait() {
    auto list = list_;
    // Cancelled while waiting: drop it (the CancelledError follows).
    Deferred<void> d([list](Deferred<void>& self) { eraseFirst(*list, self); });
    list_->push_back(d);
    return d;
  }
  bool empty() const { return list_->empty(); }
  std::size_t size() const { return list_->size(); }
  Deferred<void> pop() {
    Deferred<void> d = list_->front();
    list_->pop_front();
    return d;
  }

 private:
  std::shared_ptr<std::deque<Deferred<void>>> list_ =
      std::make_shared<std::deque<Deferred<void>>>();
};

/// acquire, then f, then release whatever happened; the result passes on.
template <class Owner, class F>
auto runLocked(std::shared_ptr<Owner> owner, F f) {
  using U = detail::Unwrapped<std::remove_cvref_t<std::invoke_result_t<F&>>>;
  return owner->acquire()
      .addCallback([f = std::move(f)]() mutable { return maybeDeferred(f); })
      .addBoth([owner](Outcome<U> o) -> U {
        owner->release();
        if constexpr (std::is_void_v<U>) {
          o.value();
        } else {
          return std::move(o).value();
        }
      });
}
}  // namespace detail

/// A lock for Deferred-based code: acquire() fires when the lock is yours.
/// Cancelling a waiting acquire() removes it from the queue.
class DeferredLock : public std::enable_shared_from_this<DeferredLock> {
 public:
  /// Returns a new, unlocked lock (run() needs it owned by a shared_ptr).
  static std::shared_ptr<DeferredLock> create() { return std::make_shared<DeferredLock>(); }

  /// Returns a Deferred that fires once the lock is held: at once if free, else
  /// after the earlier holders release it, in the order they asked.
  Deferred<void> acquire() {
    if (!locked_) {
      locked_ = true;
      return succeed();
    }
    return waiters_.wait();
  }
  /// Unlocks, handing the lock straight to the longest waiter if any.
  /// @throws std::logic_error if not locked.
  void release() {
    if (!locked_) throw std::logic_error("DeferredLock::release on an unlocked lock");
    locked_ = false;
    if (!waiters_.empty()) {
      locked_ = true;
      waiters_.pop().callback();
    }
  }
  /// True while someone holds the lock.
  bool locked() const { return locked_; }
  /// Returns how many acquire()s are waiting for the lock.
  std::size_t waiting() const { return waiters_.size(); }
  /// Acquires, runs `f` (maybeDeferred), releases, and passes its result on.
  template <class F>
  auto run(F f) {
    return detail::runLocked(shared_from_this(), std::move(f));
  }

 private:
  bool locked_ = false;
  detail::TokenWaiters waiters_;
};

/// A semaphore with `tokens` tokens for Deferred-based code.
class DeferredSemaphore : public std::enable_shared_from_this<DeferredSemaphore> {
 public:
  /// @throws std::invalid_argument if tokens < 1.
  static std::shared_ptr<DeferredSemaphore> create(int tokens) {
    if (tokens < 1) throw std::invalid_argument("DeferredSemaphore needs at least one token");
    return std::shared_ptr<DeferredSemaphore>(new DeferredSemaphore(tokens));
  }

  /// Returns a Deferred that fires once a token is taken: at once if one is
  /// free, else when one is released, in the order they asked.
  Deferred<void> acquire() {
    if (tokens_ > 0) {
      --tokens_;
      return succeed();
    }
    return waiters_.wait();
  }
  /// Returns a token, handing it straight to the longest waiter if any.
  /// @throws std::logic_error if every token is already free.
  void release() {
    if (tokens_ >= limit_) throw std::logic_error("DeferredSemaphore::release with no token out");
    ++tokens_;
    if (!waiters_.empty()) {
      --tokens_;
      waiters_.pop().callback();
    }
  }
  /// Returns how many tokens are free now.
  int tokens() const { return tokens_; }
  /// Returns the total number of tokens, as given to create().
  int limit() const { return limit_; }
  /// Returns how many acquire()s are waiting for a token.
  std::size_t waiting() const { return waiters_.size(); }
  /// Acquires a token, runs `f` (maybeDeferred), releases, and passes its result on.
  template <class F>
  auto run(F f) {
    return detail::runLocked(shared_from_this(), std::move(f));
  }

 private:
  explicit DeferredSemaphore(int tokens) : tokens_(tokens), limit_(tokens) {}
  int tokens_;
  int limit_;
  detail::TokenWaiters waiters_;
};

/// A queue whose get() returns a Deferred that fires when an item is there.
/// `size` bounds the items waiting (put() beyond it throws QueueOverflow);
/// `backlog` bounds the get()s waiting (beyond it, QueueUnderflow).
template <class T>
class DeferredQueue {
  static constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

 public:
  /// Makes an empty queue holding at most `size` items and `backlog` waiting
  /// get()s (both unbounded by default).
  explicit DeferredQueue(std::size_t size = kUnbounded, std::size_t backlog = kUnbounded)
      : size_(size), backlog_(backlog) {}

  /// Hands `item` to the oldest waiting get(), or else queues it.
  /// @throws error::QueueOverflow when `size` items are already waiting.
  void put(T item) {
    if (!waiting_->empty()) {
      Deferred<T> d = std::move(waiting_->front());
      waiting_->pop_front();
      d.callback(std::move(item));
      return;
    }
    if (pending_.size() >= size_) throw error::QueueOverflow();
    pending_.push_back(std::move(item));
  }

  /// Returns a Deferred firing with the oldest item, at once if one is queued.
  /// Cancelling it takes it off the waiting list.
  /// @throws error::QueueUnderflow when `backlog` get()s already wait.
  Deferred<T> get() {
    if (!pending_.empty()) {
      T item = std::move(pending_.front());
      pending_.pop_front();
      return succeed<T>(std::move(item));
    }
    if (waiting_->size() >= backlog_) throw error::QueueUnderflow();
    auto waiting = waiting_;
    Deferred<T> d([waiting](Deferred<T>& self) { detail::eraseFirst(*waiting, self); });
    waiting_->push_back(d);
    return d;
  }

  /// Returns how many items are queued with no get() to take them.
  std::size_t pendingCount() const { return pending_.size(); }
  /// Returns how many get()s are waiting for an item.
  std::size_t waitingCount() const { return waiting_->size(); }

 private:
  std::size_t size_;
  std::size_t backlog_;
  std::deque<T> pending_;
  std::shared_ptr<std::deque<Deferred<T>>> waiting_ = std::make_shared<std::deque<Deferred<T>>>();
};

}  // namespace twisted
