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

/// How severe an event is, from least to most (Twisted's LogLevel).
enum class LogLevel : std::uint8_t { debug, info, warn, error, critical };

/// "debug", "info", "warn", "error", "critical".
std::string_view levelName(LogLevel level);
/// The level named `name` (as levelName gives it), or nothing.
std::optional<LogLevel> levelForName(std::string_view name);

/// One field value: a bool, an integer, a number or a string.
class LogValue {
 public:
  /// The held value: integers are widened to 64 bits, keeping their signedness.
  using Storage = std::variant<bool, std::int64_t, std::uint64_t, double, std::string>;

  /// Holds a bool (rendered "true" or "false").
  LogValue(bool v) : v_(v) {}  // NOLINT(google-explicit-constructor)
  /// Holds any other integer, as std::int64_t if signed, else std::uint64_t.
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  LogValue(I v) {  // NOLINT(google-explicit-constructor)
    if constexpr (std::is_signed_v<I>) {
      v_ = static_cast<std::int64_t>(v);
    } else {
      v_ = static_cast<std::uint64_t>(v);
    }
  }
  /// Holds a floating-point number.
  LogValue(double v) : v_(v) {}  // NOLINT(google-explicit-constructor)
  /// Holds a string.
  LogValue(std::string v) : v_(std::move(v)) {}  // NOLINT(google-explicit-constructor)
  /// Holds a copy of `v` as a string.
  LogValue(std::string_view v) : v_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  /// Holds a copy of the NUL-terminated string `v` (which must not be null).
  LogValue(const char* v) : v_(std::string(v)) {}  // NOLINT(google-explicit-constructor)

  /// The value as text ("true", "42", "0.5", the string itself).
  std::string toString() const;
  /// Appends the value as a JSON value.
  void appendJson(std::string& out) const;
  /// The value itself, for observers that render each type their own way.
  const Storage& storage() const { return v_; }

 private:
  Storage v_;
};

/// One named value of an event, which its format refers to as {name}.
struct LogField {
  std::string name;  ///< The name the format string uses.
  LogValue value;    ///< The value substituted for it.
};

/// One log event, as Logger emits it and observers receive it.
struct LogEvent {
  /// The message, with {name} placeholders for the fields (see formatEvent()).
  std::string format;
  LogLevel level = LogLevel::info;  ///< How severe the event is.
  std::string logNamespace;         ///< The emitting Logger's namespace, e.g. "myapp.server".
  double time = 0;                  ///< When it was emitted, in seconds since the Unix epoch.
  std::vector<LogField> fields;     ///< The named values, in the order given.
  std::optional<Failure> failure;   ///< The failure being logged, if any (Logger::failure).
  /// Which part of the program emitted it (Twisted's log_system): the
  /// emitting thread's name, set with setThreadLogSystem ("worker-1" on a
  /// ReactorGroup's workers), else empty.
  std::string system;

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
