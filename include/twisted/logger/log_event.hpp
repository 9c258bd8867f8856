// Structured log events, as twisted.logger's event dictionaries.
//
// An event is a format string with named fields ("Listening on {port}"), a
// level, a namespace, a wall-clock time and optionally a Failure. Observers
// decide how to render it: as text for people, as JSON lines for machines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "twisted/python/failure.hpp"

namespace twisted::logger {

enum class LogLevel : std::uint8_t { debug, info, warn, error, critical };

/// "debug", "info", "warn", "error", "critical".
std::string_view levelName(LogLevel level);
/// The level named `name` (as levelName gives it), or nothing.
std::optional<LogLevel> levelForName(std::string_view name);

/// One field value: a bool, an integer, a number or a string.
class LogValue {
 public:
  using Storage = std::variant<bool, std::int64_t, std::uint64_t, double, std::string>;

  LogValue(bool v) : v_(v) {}  // NOLINT(google-explicit-constructor)
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  LogValue(I v) {  // NOLINT(google-explicit-constructor)
    if constexpr (std::is_signed_v<I>) {
      v_ = static_cast<std::int64_t>(v);
    } else {
      v_ = static_cast<std::uint64_t>(v);
    }
  }
  LogValue(double v) : v_(v) {}                         // NOLINT(google-explicit-constructor)
  LogValue(std::string v) : v_(std::move(v)) {}         // NOLINT(google-explicit-constructor)
  LogValue(std::string_view v) : v_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  LogValue(const char* v) : v_(std::string(v)) {}       // NOLINT(google-explicit-constructor)

  /// The value as text ("true", "42", "0.5", the string itself).
  std::string toString() const;
  /// Appends the value as a JSON value.
  void appendJson(std::string& out) const;
  const Storage& storage() const { return v_; }

 private:
  Storage v_;
};

struct LogField {
  std::string name;
  LogValue value;
};

struct LogEvent {
  std::string format;
  LogLevel level = LogLevel::info;
  std::string logNamespace;
  double time = 0;  // seconds since the Unix epoch
  std::vector<LogField> fields;
  std::optional<Failure> failure;

  /// The field called `name`, or nullptr.
  const LogValue* find(std::string_view name) const;
};

/// The event's text: `format` with each {name} replaced by that field's
/// value ({{ and }} stand for braces; an unknown name is shown as
/// "{name:MISSING}" rather than dropped).
std::string formatEvent(const LogEvent& event);

/// Appends `text` as a JSON string literal (quotes included).
void appendJsonString(std::string& out, std::string_view text);

}  // namespace twisted::logger
