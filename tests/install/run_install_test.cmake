# The install as a user does it, for the static and the shared library:
# - configured as on a machine with only `tools/install-deps build` (GoogleTest
#   hidden from CMake, tests left at their default): it configures, builds and
#   installs without building a test;
# - installed to a prefix other than the configured one (cmake --install
#   --prefix), from where a program builds with find_package(twisted) and with
#   pkg-config, another with find_package(twisted COMPONENTS tls) and
#   pkg-config twisted-tls (the first linking no OpenSSL), and the installed
#   `twist` runs;
# - for the static library, packaged as a .deb (CPack), installed with dpkg
#   into a scratch root, and the same program built against that.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

# Builds and runs consumer.cpp against the twisted-cpp installed in `prefix`,
# with CMake and with pkg-config.
function(build_consumers prefix work static)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install -B ${work}/consumer-cmake
      -DCMAKE_PREFIX_PATH=${prefix})
  run(${CMAKE_COMMAND} --build ${work}/consumer-cmake)
  run(${work}/consumer-cmake/consumer)
  run(${work}/consumer-cmake/consumer_tls)
  # A program that does not use TLS does not link OpenSSL.
  find_program(READELF readelf REQUIRED)
  run(${READELF} -d ${work}/consumer-cmake/consumer)
  if(out MATCHES "libssl|libcrypto|twisted-tls")
    message(FATAL_ERROR "a program without TLS links OpenSSL:\n${out}")
  endif()

  find_program(PKG_CONFIG pkg-config REQUIRED)
  find_program(CXX NAMES c++ g++ REQUIRED)
  file(GLOB pcdir ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
  set(ENV{PKG_CONFIG_PATH} ${pcdir})
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${static} twisted
    OUTPUT_VARIABLE flags RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config does not know twisted in ${pcdir}")
  endif()
  # The flags must name the prefix the files are in, not the configured one.
  string(FIND "${flags}" "${CONFIGURED_PREFIX}" stale)
  if(NOT stale EQUAL -1)
    message(FATAL_ERROR "twisted.pc names the configure-time prefix: ${flags}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CXX} ${SOURCE_DIR}/tests/install/consumer.cpp -o ${work}/consumer-pc ${flags}
      -Wl,-rpath,${pcdir}/..)
  run(${work}/consumer-pc)
  # The tls component: pkg-config twisted-tls brings twisted and OpenSSL.
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${static} twisted-tls
    OUTPUT_VARIABLE flags RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config does not know twisted-tls in ${pcdir}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CXX} ${SOURCE_DIR}/tests/install/consumer_tls.cpp -o ${work}/consumer-tls-pc ${flags}
      -Wl,-rpath,${pcdir}/..)
  run(${work}/consumer-tls-pc)
endfunction()

set(CONFIGURED_PREFIX ${WORK_DIR}/configured-prefix-never-installed)
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
      -DBUILD_SHARED_LIBS=${shared} -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON
      -DTWISTED_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX=${CONFIGURED_PREFIX})
  string(FIND "${out}" "GoogleTest not found, so the tests are not built" said)
  if(said EQUAL -1)
    message(FATAL_ERROR "configuring without GoogleTest did not say that tests are skipped:\n${out}")
  endif()
  run(${CMAKE_COMMAND} --build ${work}/lib -j2)
  if(EXISTS ${work}/lib/tests)
    message(FATAL_ERROR "the tests were configured without GoogleTest")
  endif()
  run(${CMAKE_COMMAND} --install ${work}/lib --prefix ${prefix})
  if(EXISTS ${CONFIGURED_PREFIX})
    message(FATAL_ERROR "cmake --install --prefix wrote into the configured prefix")
  endif()
  # `twist` is installed with the library and runs from the prefix.
  run(${prefix}/bin/twist --version)
  if(HELP2MAN AND NOT EXISTS ${prefix}/share/man/man1/twist.1)
    message(FATAL_ERROR "twist(1) was not installed")
  endif()
  build_consumers(${prefix} ${work} "${static}")
  message(STATUS "installed to another prefix (shared=${shared}): find_package and pkg-config work")

  if(NOT shared)
    # The Debian package, installed by dpkg into a root of its own.
    run(${CMAKE_COMMAND} -E chdir ${work}/lib cpack -G DEB)
    file(GLOB deb ${work}/lib/twisted-cpp_*.deb)
    if(NOT deb)
      message(FATAL_ERROR "cpack made no .deb")
    endif()
    run(dpkg-deb --info ${deb})
    string(FIND "${out}" "Package: twisted-cpp" named)
    if(named EQUAL -1)
      message(FATAL_ERROR "the .deb has no Package: twisted-cpp:\n${out}")
    endif()
    set(root ${work}/root)
    file(MAKE_DIRECTORY ${root}/var/lib/dpkg/info ${root}/var/lib/dpkg/updates)
    file(TOUCH ${root}/var/lib/dpkg/status ${root}/var/lib/dpkg/available)
    # The scratch root has no other packages: its dependencies are not there.
    run(dpkg --root=${root} --force-depends --force-not-root --force-script-chrootless
        --log=/dev/null -i ${deb})
    run(dpkg --root=${root} -L twisted-cpp)
    foreach(file /usr/bin/twist /usr/include/twisted/twisted.hpp /usr/lib/cmake/twisted/twistedConfig.cmake
                 /usr/include/twisted/tls/options.hpp /usr/lib/cmake/twisted/twistedTlsTargets.cmake
                 /usr/lib/pkgconfig/twisted-tls.pc)
      string(FIND "${out}" "${file}" listed)
      if(listed EQUAL -1)
        message(FATAL_ERROR "the installed package has no ${file}:\n${out}")
      endif()
    endforeach()
    run(${root}/usr/bin/twist --version)
    build_consumers(${root}/usr ${work}/deb "${static}")
    message(STATUS "the .deb installs with dpkg and a program builds against it")
  endif()
endforeach()
