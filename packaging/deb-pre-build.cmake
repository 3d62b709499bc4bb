# SPDX-License-Identifier: Apache-2.0
# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS): runs on the staging tree after the
# install and before the .deb is assembled, so these Debian-only conventions never touch a
# plain `cmake --install`: manual pages gzip-compressed, a changelog and a machine-readable
# copyright file in the package's doc directory.
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()

# With CPACK_SET_DESTDIR the staging root holds the absolute /usr tree.
set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}")
if(NOT IS_DIRECTORY "${root}")
  message(FATAL_ERROR "deb-pre-build: staging tree ${root} not found")
endif()
set(docdir "${root}/${CPACK_OJH_DOCDIR}")

find_program(GZIP gzip REQUIRED)
# -n: no name or timestamp in the header, so the package is reproducible.
file(GLOB_RECURSE man_pages "${root}/${CPACK_OJH_MANDIR}/*")
foreach(page IN LISTS man_pages)
  if(page MATCHES "\\.[0-9][a-z]*$")
    execute_process(COMMAND "${GZIP}" -9nf "${page}" COMMAND_ERROR_IS_FATAL ANY)
  endif()
endforeach()

configure_file("${CPACK_OJH_PACKAGING_DIR}/debian/changelog.in" "${docdir}/changelog" @ONLY)
execute_process(COMMAND "${GZIP}" -9nf "${docdir}/changelog" COMMAND_ERROR_IS_FATAL ANY)
file(COPY "${CPACK_OJH_PACKAGING_DIR}/debian/copyright" DESTINATION "${docdir}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
