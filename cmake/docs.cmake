# The `docs` target: the API reference from the public headers (Doxygen), with
# the module pages of docs/ as its guide pages; warnings (an undocumented
# public member among them) fail it. Output: <build>/docs/html/index.html.
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  add_custom_target(docs COMMAND ${CMAKE_COMMAND} -E echo
    "docs: doxygen is not installed (tools/install-deps docs)" COMMAND false)
  return()
endif()
set(TWISTED_DOCS_OUTPUT ${CMAKE_BINARY_DIR}/docs)
file(GLOB pages ${PROJECT_SOURCE_DIR}/docs/*.md)
list(JOIN pages " " TWISTED_DOCS_PAGES)
configure_file(${PROJECT_SOURCE_DIR}/docs/api/Doxyfile.in ${TWISTED_DOCS_OUTPUT}/Doxyfile @ONLY)
add_custom_target(docs
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${TWISTED_DOCS_OUTPUT}/html
  COMMAND Doxygen::doxygen ${TWISTED_DOCS_OUTPUT}/Doxyfile
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  COMMENT "API reference: ${TWISTED_DOCS_OUTPUT}/html/index.html"
  VERBATIM)
