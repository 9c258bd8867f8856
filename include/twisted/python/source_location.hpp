// twisted::SourceLocation: std::source_location where the standard library
// has it, and an equivalent built on the compiler's __builtin_FILE/LINE
// where it does not (libstdc++ 12 hides std::source_location from clang 14,
// which lacks __builtin_source_location), so the library also builds with
// clang: the fuzz targets need it.
#pragma once

#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
namespace twisted {
/// Where in the source a call was made: std::source_location itself here.
using SourceLocation = std::source_location;
}  // namespace twisted
#else
#include <cstdint>
namespace twisted {
/// Where in the source a call was made (file, function, line, column), with
/// std::source_location's interface, for standard libraries that lack it.
class SourceLocation {
 public:
  /// Returns the location of the call to current() (the defaults capture it).
  static constexpr SourceLocation current(
      const char* file = __builtin_FILE(), const char* function = __builtin_FUNCTION(),
      std::uint_least32_t line = __builtin_LINE(),
      std::uint_least32_t column = __builtin_COLUMN()) noexcept {
    SourceLocation here;
    here.file_ = file;
    here.function_ = function;
    here.line_ = line;
    here.column_ = column;
    return here;
  }
  /// An unknown location: empty names, line and column 0.
  constexpr SourceLocation() noexcept = default;
  /// The source file's name, as the compiler spelled it.
  constexpr const char* file_name() const noexcept { return file_; }
  /// The name of the enclosing function.
  constexpr const char* function_name() const noexcept { return function_; }
  /// The line number, from 1 (0 if unknown).
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  /// The column number, from 1 (0 if unknown or unsupported).
  constexpr std::uint_least32_t column() const noexcept { return column_; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
  std::uint_least32_t column_ = 0;
};
}  // namespace twisted
#endif
