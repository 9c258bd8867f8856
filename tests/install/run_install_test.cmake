# For the static and the shared library: installs twisted-cpp into a scratch prefix, then builds and runs a small
# program against it twice: with find_package(twisted) and with pkg-config; and runs the installed `twist`.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
foreach(shared OFF ON)
  set(work ${WORK_DIR}/shared-${shared})
  file(REMOVE_RECURSE ${work})
  set(prefix ${work}/prefix)
  if(shared)
    set(static "")
  else()
    set(static "--static")
  endif()
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${work}/lib -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
      -DBUILD_SHARED_LIBS=${shared} -DTWISTED_BUILD_TESTS=OFF -DTWISTED_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX=${prefix})
  run(${CMAKE_COMMAND} --build ${work}/lib -j2)
  run(${CMAKE_COMMAND} --install ${work}/lib)
  # `twist` is installed with the library and runs from the prefix.
  run(${prefix}/bin/twist --help)

  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install -B ${work}/consumer-cmake
      -DCMAKE_PREFIX_PATH=${prefix})
  run(${CMAKE_COMMAND} --build ${work}/consumer-cmake)
  run(${work}/consumer-cmake/consumer)

  find_program(PKG_CONFIG pkg-config REQUIRED)
  find_program(CXX NAMES c++ g++ REQUIRED)
  file(GLOB pcdir ${prefix}/lib*/pkgconfig)
  set(ENV{PKG_CONFIG_PATH} ${pcdir})
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${static} twisted
    OUTPUT_VARIABLE flags RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config does not know twisted")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CXX} ${SOURCE_DIR}/tests/install/consumer.cpp -o ${work}/consumer-pc ${flags} -Wl,-rpath,${pcdir}/..)
  run(${work}/consumer-pc)
  message(STATUS "installed package (shared=${shared}) works with find_package and pkg-config")
endforeach()
