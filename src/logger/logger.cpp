#include "twisted/logger/logger.hpp"

#include <chrono>

namespace twisted::logger {

namespace {
thread_local std::string t_system;
}  // namespace

void setThreadLogSystem(std::string system) {
  t_system = std::move(system);
}

const std::string& threadLogSystem() {
  return t_system;
}

Logger::Logger(std::string logNamespace, LogPublisher* publisher)
    : namespace_(std::move(logNamespace)),
      publisher_(publisher ? publisher : &globalLogPublisher()) {}

void Logger::emit(LogLevel level, std::string format, Fields fields,
                  std::optional<Failure> failure) const {
  LogEvent event;
  event.format = std::move(format);
  event.level = level;
  event.logNamespace = namespace_;
  event.time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  event.fields.assign(fields.begin(), fields.end());
  event.failure = std::move(failure);
  event.system = t_system;
  publisher_->publish(event);
}

void Logger::debug(std::string format, Fields fields) const {
  emit(LogLevel::debug, std::move(format), fields);
}
void Logger::info(std::string format, Fields fields) const {
  emit(LogLevel::info, std::move(format), fields);
}
void Logger::warn(std::string format, Fields fields) const {
  emit(LogLevel::warn, std::move(format), fields);
}
void Logger::error(std::string format, Fields fields) const {
  emit(LogLevel::error, std::move(format), fields);
}
void Logger::critical(std::string format, Fields fields) const {
  emit(LogLevel::critical, std::move(format), fields);
}
void Logger::failure(std::string format, const Failure& f, Fields fields, LogLevel level) const {
  emit(level, std::move(format), fields, f);
}

}  // namespace twisted::logger
