#include "twisted/logger/log_event.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace twisted::logger {

namespace {
constexpr std::array<std::string_view, 5> kLevelNames{"debug", "info", "warn", "error", "critical"};
}

std::string_view levelName(LogLevel level) {
  return kLevelNames.at(static_cast<std::size_t>(level));
}

std::optional<LogLevel> levelForName(std::string_view name) {
  for (std::size_t i = 0; i < kLevelNames.size(); ++i) {
    if (kLevelNames[i] == name) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

std::string LogValue::toString() const {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(std::uint64_t u) const { return std::to_string(u); }
    std::string operator()(double d) const {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      // Prefer the shortest form that reads back the same.
      for (int precision = 1; precision < 17; ++precision) {
        char shortBuf[32];
        std::snprintf(shortBuf, sizeof shortBuf, "%.*g", precision, d);
        if (std::strtod(shortBuf, nullptr) == d) return shortBuf;
      }
      return buf;
    }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, v_);
}

void LogValue::appendJson(std::string& out) const {
  if (const auto* s = std::get_if<std::string>(&v_)) {
    appendJsonString(out, *s);
  } else if (const auto* d = std::get_if<double>(&v_); d && !std::isfinite(*d)) {
    out += "null";  // JSON has no NaN or infinity
  } else {
    out += toString();
  }
}

const LogValue* LogEvent::find(std::string_view name) const {
  for (const LogField& f : fields) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

std::string formatEvent(const LogEvent& event) {
  const std::string& fmt = event.format;
  std::string out;
  out.reserve(fmt.size() + 16);
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if ((c == '{' || c == '}') && i + 1 < fmt.size() && fmt[i + 1] == c) {
      out += c;  // "{{" or "}}"
      ++i;
    } else if (c == '{') {
      std::size_t close = fmt.find('}', i + 1);
      if (close == std::string::npos) {
        out.append(fmt, i, std::string::npos);
        break;
      }
      std::string_view name(fmt.data() + i + 1, close - i - 1);
      if (const LogValue* v = event.find(name)) {
        out += v->toString();
      } else {
        out += '{';
        out += name;
        out += ":MISSING}";
      }
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

void appendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through unchanged
        }
    }
  }
  out += '"';
}

}  // namespace twisted::logger
