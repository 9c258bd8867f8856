# A Debian package of what `cmake --install` installs (the library, headers,
# `twist` and its man page, the CMake and pkg-config files), through CPack:
#   cpack -G DEB --config <build>/CPackConfig.cmake   (or: cmake --build <build> --target package)
# It installs under /usr; dpkg-shlibdeps (dpkg-dev) adds what `twist` links.
set(CPACK_PACKAGE_NAME twisted-cpp)
set(CPACK_PACKAGE_VENDOR twisted-cpp)
set(CPACK_PACKAGE_CONTACT "twisted-cpp developers <twisted-cpp@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}: library, headers and twist")
set(CPACK_PACKAGE_DESCRIPTION
  "Python's Twisted architecture (reactor, transports, protocols, factories, Deferreds) rebuilt in C++20, with the `twist` command.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://twisted.org")
# The headers are C++20 for libstdc++ 12 (Debian 12's g++); those of
# twisted::tls include OpenSSL's; libtwisted-tls.a needs libidn2 to link,
# libtwisted.a liburing.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libstdc++-12-dev, libssl-dev (>= 3), libidn2-dev, liburing-dev")
find_program(TWISTED_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(TWISTED_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
include(CPack)
