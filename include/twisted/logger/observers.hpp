// Ready-made observers: text for people, JSON lines for machines, filtering.
#pragma once

#include <cstdio>
#include <ostream>
#include <string>

#include "twisted/logger/publisher.hpp"

namespace twisted::logger {

/// One line per event: "2026-11-23T10:47:00+0000 [namespace#level] text"
/// ("... [worker-1] [namespace#level] text" when the event has a system),
/// followed by an indented "Failure: type: message" line when the event
/// carries a failure.
std::string formatEventAsText(const LogEvent& event);

/// One JSON object per event, on one line: log_time, log_level,
/// log_namespace, log_format, log_text, log_system when the event has one,
/// every field by name, and log_failure {type, message} when there is one.
std::string eventAsJson(const LogEvent& event);

/// Writes formatEventAsText lines to `out` (serialized; thread-safe).
LogObserver textFileLogObserver(std::ostream& out);
/// Writes formatEventAsText lines to the C stream `out` (stdout, a file).
LogObserver textFileLogObserver(std::FILE* out);
/// Writes eventAsJson lines to `out` (serialized; thread-safe).
LogObserver jsonFileLogObserver(std::ostream& out);
/// Writes eventAsJson lines to the C stream `out`.
LogObserver jsonFileLogObserver(std::FILE* out);

/// Passes on only events at `minimum` level or above.
LogObserver filteringObserver(LogObserver observer, LogLevel minimum);

}  // namespace twisted::logger
