# SPDX-License-Identifier: Apache-2.0
# Deployment examples and documentation for every install, and the Debian package:
# `cpack -G DEB` (run in the build directory) builds oci-jail-hook_<version>_<arch>.deb for
# prefix /usr. The package has no maintainer scripts and nothing in /etc (see
# packaging/README.md): installing it starts nothing, mounts nothing and writes no config.

# Examples are documentation: installed non-executable, the admin copies what they use.
set(OJH_DOC_FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/deploy/
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        FILE_PERMISSIONS ${OJH_DOC_FILE_PERMISSIONS})
install(FILES ${CMAKE_SOURCE_DIR}/packaging/oci-jail-hook.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        PERMISSIONS ${OJH_DOC_FILE_PERMISSIONS})
file(GLOB OJH_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${OJH_DOCS}
        DESTINATION ${CMAKE_INSTALL_DOCDIR}
        PERMISSIONS ${OJH_DOC_FILE_PERMISSIONS})

set(OJH_PACKAGE_MAINTAINER "oci-jail-hook maintainers <oci-jail-hook@example.org>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME oci-jail-hook)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "oci-jail-hook contributors")
set(CPACK_PACKAGE_CONTACT "${OJH_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "OCI runtime hook that cuts a container off from its host")
set(CPACK_PACKAGE_DESCRIPTION
    "An OCI createRuntime hook for runc, crun, podman and CRI-O. For containers\n"
    "annotated jail.block-host=true it attaches cgroup BPF programs that refuse\n"
    "connections and datagrams to the host: its loopback (from the host network\n"
    "namespace), every host interface address and cloud metadata endpoints. The\n"
    "poststop hook removes them.\n"
    "\n"
    "The package installs the hook, its hooks.d files (read by podman and CRI-O),\n"
    "the manual page, and deployment examples for systemd, NetworkManager, CRI-O,\n"
    "containerd and Kubernetes. Installing it starts and configures nothing.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")

# The hooks.d JSON is generated at install time from CMAKE_INSTALL_PREFIX, so the package
# is staged with the final prefix (/usr) under DESTDIR, whatever prefix the build directory
# was configured with, and never with a staging prefix that would end up in hook.path.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)  # the prefix CPack installs with under DESTDIR
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${OJH_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "podman")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# CPack's shlibdeps step needs dpkg-shlibdeps (dpkg-dev) and file(1).
find_program(OJH_DPKG_SHLIBDEPS dpkg-shlibdeps)
find_program(OJH_FILE file)
if(OJH_DPKG_SHLIBDEPS AND OJH_FILE)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  # The libraries the binary links on Debian 12 (what dpkg-shlibdeps reports there).
  if(OJH_STATIC_HOOK AND NOT OJH_SANITIZE)
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libelf1 (>= 0.142), zlib1g (>= 1:1.1.4)")
  else()
    set(CPACK_DEBIAN_PACKAGE_DEPENDS
        "libbpf1 (>= 1:1.1), libcap-ng0 (>= 0.7.9), libboost-program-options1.74.0, libc6, libgcc-s1, libstdc++6")
  endif()
endif()

# Debian layout fix-ups inside the staging tree (compressed man pages, changelog, copyright).
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_SOURCE_DIR}/packaging/deb-pre-build.cmake)
set(CPACK_OJH_PACKAGING_DIR ${CMAKE_SOURCE_DIR}/packaging)
set(CPACK_OJH_DOCDIR ${CMAKE_INSTALL_DOCDIR})
set(CPACK_OJH_MANDIR ${CMAKE_INSTALL_MANDIR})
string(TIMESTAMP CPACK_OJH_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)

set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\.git/" "/build[^/]*/")
include(CPack)
