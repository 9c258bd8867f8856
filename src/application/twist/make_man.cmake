# Writes twist(1): help2man reads `twist --help` and `twist --version`; the
# plugins' own help (`twist PLUGIN --help`) and the fixed sections of
# twist.h2m are added as include sections, so the page never drifts from
# the program.
execute_process(COMMAND ${TWIST} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TWIST} --help failed")
endif()
# The plugin names: the first word of each line of the "Plugins:" section.
string(REGEX MATCH "Plugins:\n(.*)" section "${help}")
string(REPLACE "\n" ";" lines "${CMAKE_MATCH_1}")
set(plugins "")
foreach(line ${lines})
  if(line MATCHES "^  ([a-z0-9_-]+)")
    list(APPEND plugins ${CMAKE_MATCH_1})
  elseif(NOT line MATCHES "^ ")
    break()
  endif()
endforeach()
file(READ ${SECTIONS} include)
string(APPEND include "\n[PLUGINS]\n")
foreach(plugin ${plugins})
  execute_process(COMMAND ${TWIST} ${plugin} --help OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${TWIST} ${plugin} --help failed")
  endif()
  string(REPLACE "\\" "\\\\" text "${text}")
  string(APPEND include ".SS ${plugin}\n.nf\n${text}.fi\n")
endforeach()
file(WRITE ${OUTPUT}.h2m "${include}")
execute_process(COMMAND ${HELP2MAN} --no-info --section 1
                        --name "run a twisted-cpp service (a plugin) until SIGINT or SIGTERM"
                        --include ${OUTPUT}.h2m --output ${OUTPUT} ${TWIST}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed: ${err}")
endif()
