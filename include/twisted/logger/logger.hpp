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

class Logger {
 public:
  using Fields = std::initializer_list<LogField>;

  /// `publisher` defaults to globalLogPublisher().
  explicit Logger(std::string logNamespace, LogPublisher* publisher = nullptr);

  void debug(std::string format, Fields fields = {}) const;
  void info(std::string format, Fields fields = {}) const;
  void warn(std::string format, Fields fields = {}) const;
  void error(std::string format, Fields fields = {}) const;
  void critical(std::string format, Fields fields = {}) const;
  /// Logs `failure` (its type and message are rendered by observers),
  /// at `level` (critical by default, as Twisted's Logger.failure).
  void failure(std::string format, const Failure& failure, Fields fields = {},
               LogLevel level = LogLevel::critical) const;
  void emit(LogLevel level, std::string format, Fields fields,
            std::optional<Failure> failure = std::nullopt) const;

  const std::string& logNamespace() const { return namespace_; }

 private:
  std::string namespace_;
  LogPublisher* publisher_;
};

}  // namespace twisted::logger
