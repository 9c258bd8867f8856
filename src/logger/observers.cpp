#include "twisted/logger/observers.hpp"

#include <ctime>
#include <mutex>

namespace twisted::logger {

namespace {
std::string timestamp(double unixSeconds) {
  std::time_t t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  return buf;
}

template <class Write>
LogObserver serialized(std::string (*render)(const LogEvent&), Write write) {
  auto mutex = std::make_shared<std::mutex>();
  return [render, write, mutex](const LogEvent& event) {
    std::string line = render(event);
    std::lock_guard lock(*mutex);
    write(line);
  };
}
}  // namespace

std::string formatEventAsText(const LogEvent& event) {
  std::string line = timestamp(event.time);
  if (!event.system.empty()) {
    line += " [";
    line += event.system;
    line += ']';
  }
  line += " [";
  line += event.logNamespace.empty() ? "-" : event.logNamespace;
  line += '#';
  line += levelName(event.level);
  line += "] ";
  line += formatEvent(event);
  if (event.failure) {
    line += "\n\tFailure: ";
    line += event.failure->brief();
  }
  line += '\n';
  return line;
}

std::string eventAsJson(const LogEvent& event) {
  std::string out = "{\"log_time\":";
  out += LogValue(event.time).toString();
  out += ",\"log_level\":";
  appendJsonString(out, levelName(event.level));
  out += ",\"log_namespace\":";
  appendJsonString(out, event.logNamespace);
  out += ",\"log_format\":";
  appendJsonString(out, event.format);
  out += ",\"log_text\":";
  appendJsonString(out, formatEvent(event));
  if (!event.system.empty()) {
    out += ",\"log_system\":";
    appendJsonString(out, event.system);
  }
  for (const LogField& f : event.fields) {
    out += ',';
    appendJsonString(out, f.name);
    out += ':';
    f.value.appendJson(out);
  }
  if (event.failure) {
    out += ",\"log_failure\":{\"type\":";
    appendJsonString(out, event.failure->typeName());
    out += ",\"message\":";
    appendJsonString(out, event.failure->getErrorMessage());
    out += '}';
  }
  out += "}\n";
  return out;
}

LogObserver textFileLogObserver(std::ostream& out) {
  return serialized(formatEventAsText, [&out](const std::string& s) { out << s << std::flush; });
}
LogObserver textFileLogObserver(std::FILE* out) {
  return serialized(formatEventAsText, [out](const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), out);
    std::fflush(out);
  });
}
LogObserver jsonFileLogObserver(std::ostream& out) {
  return serialized(eventAsJson, [&out](const std::string& s) { out << s << std::flush; });
}
LogObserver jsonFileLogObserver(std::FILE* out) {
  return serialized(eventAsJson, [out](const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), out);
    std::fflush(out);
  });
}

LogObserver filteringObserver(LogObserver observer, LogLevel minimum) {
  return [observer = std::move(observer), minimum](const LogEvent& event) {
    if (event.level >= minimum) observer(event);
  };
}

}  // namespace twisted::logger
