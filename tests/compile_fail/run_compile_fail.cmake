# Compiles SOURCE with COMPILER and checks the diagnostics: a source whose
# "// expect-error: TEXT" line names TEXT must fail to compile, and its first
# error must contain TEXT (the readable message, not one from deep inside a
# template); "expect-error: none" must compile without a warning.
file(STRINGS ${SOURCE} expect REGEX "^// expect-error: " LIMIT_COUNT 1)
string(REGEX REPLACE "^// expect-error: " "" expect "${expect}")
execute_process(
  COMMAND ${COMPILER} -std=c++20 -fsyntax-only -Wall -Wextra -Werror -fno-diagnostics-color
          -I${INCLUDE_DIR} ${SOURCE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(expect STREQUAL "none")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SOURCE} should compile with ${COMPILER}:\n${err}")
  endif()
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled with ${COMPILER}; expected: ${expect}")
endif()
string(REGEX MATCH "[^\n]*error:[^\n]*" first "${err}")
string(FIND "${first}" "${expect}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the first error of ${COMPILER} is not the readable one.\n"
          "expected it to contain: ${expect}\nfirst error: ${first}\n\nall:\n${err}")
endif()
message(STATUS "${COMPILER}: ${first}")
