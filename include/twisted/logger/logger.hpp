// Logger: emits structured events under a namespace, as twisted.logger.Logger.
//
//   static twisted::logger::Logger log{"myapp.server"};
//   log.info("Listening on {host}:{port}", {{"host", "127.0.0.1"}, {"port", 8000}});
//   log.failure("Handler failed for {peer}", failure, {{"peer", peer}});
#pragma once

#include <initializer_list>
#include <optional>
#include <string>

#include "twisted/logger/log_event.hpp"
#include "twisted/logger/publisher.hpp"

namespace twisted::logger {

/// Emits events under one namespace to a publisher (Twisted's Logger).
/// Safe to call from any thread; a Logger is usually a static of its module.
class Logger {
 public:
  /// The fields of one call, as a braced list: {{"port", 8000}, {"host", h}}.
  using Fields = std::initializer_list<LogField>;

  /// `publisher` defaults to globalLogPublisher().
  explicit Logger(std::string logNamespace, LogPublisher* publisher = nullptr);

  /// Emits an event at LogLevel::debug.
  void debug(std::string format, Fields fields = {}) const;
  /// Emits an event at LogLevel::info.
  void info(std::string format, Fields fields = {}) const;
  /// Emits an event at LogLevel::warn.
  void warn(std::string format, Fields fields = {}) const;
  /// Emits an event at LogLevel::error.
  void error(std::string format, Fields fields = {}) const;
  /// Emits an event at LogLevel::critical.
  void critical(std::string format, Fields fields = {}) const;
  /// Logs `failure` (its type and message are rendered by observers),
  /// at `level` (critical by default, as Twisted's Logger.failure).
  void failure(std::string format, const Failure& failure, Fields fields = {},
               LogLevel level = LogLevel::critical) const;
  /// Publishes an event with `level`, `format`, `fields` and `failure`, stamped
  /// with this namespace and the current wall-clock time.
  void emit(LogLevel level, std::string format, Fields fields,
            std::optional<Failure> failure = std::nullopt) const;

  /// The namespace every event of this Logger carries.
  const std::string& logNamespace() const { return namespace_; }

 private:
  std::string namespace_;
  LogPublisher* publisher_;
};

/// Names the calling thread in every event it emits from now on
/// (LogEvent::system; empty: none). ReactorGroup names its workers so.
void setThreadLogSystem(std::string system);
/// The calling thread's name for its events (empty if it has none).
const std::string& threadLogSystem();

}  // namespace twisted::logger
