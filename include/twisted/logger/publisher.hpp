// LogPublisher: fans events out to observers, as twisted.logger's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "twisted/logger/log_event.hpp"

namespace twisted::logger {

/// Receives every event published; may be called on any thread.
using LogObserver = std::function<void(const LogEvent&)>;

/// Hands each event to every observer added (Twisted's LogPublisher).
///
/// Thread-safe: events may be published from any thread (thread-pool work
/// logs too), and observers may be added or removed at any time. An observer
/// that throws is removed from nothing and silences nothing: the exception is
/// swallowed so one bad observer cannot stop the others.
class LogPublisher {
 public:
  /// Identifies an added observer, for removeObserver().
  using ObserverId = std::uint64_t;

  /// Adds `observer`, called for every event from now on; returns its id.
  ObserverId addObserver(LogObserver observer);
  /// Removes the observer `id`; an unknown id is ignored.
  void removeObserver(ObserverId id);
  /// Calls every observer with `event`, in the order they were added.
  void publish(const LogEvent& event) const;
  /// Returns how many observers are registered.
  std::size_t observerCount() const;

 private:
  friend struct PublisherForkHandlers;  // holds mutex_ across fork() (publisher.cpp)
  using List = std::vector<std::pair<ObserverId, LogObserver>>;
  mutable std::mutex mutex_;
  std::shared_ptr<const List> observers_ = std::make_shared<List>();
  ObserverId nextId_ = 1;
};

/// The process-wide publisher every Logger uses by default. Until
/// beginLoggingTo is called it has one observer: warnings and worse, as
/// text, to stderr, so errors are never silently lost. Built while the
/// library is loaded and held across fork(): a child forked while another
/// thread logs can log.
LogPublisher& globalLogPublisher();

/// Replaces the default stderr observer with `observers`. Observers already
/// added with addObserver stay.
void beginLoggingTo(std::vector<LogObserver> observers);

}  // namespace twisted::logger
