# SPDX-License-Identifier: Apache-2.0
# The system libraries the hook links (libbpf with libelf and zlib, libcap-ng,
# Boost.Program_options), as one target: ojh_system_libraries.
#
# A runtime executes the hook at least twice per container (createRuntime, poststop), and a
# fresh process pays for every shared library it loads: mapping it and resolving its symbols
# (libstdc++ alone brings thousands). Linked statically (OJH_STATIC_HOOK, the default), the
# installed hook loads only libc, libelf and the compression libraries libelf needs, which cut a hook run's wall time by 1-2 ms here
# (BENCHMARKS.md, "start cost"). The price: a security update of one of these libraries needs
# the hook rebuilt, as any statically linked program does.
#
# The choice is per executable: a target with the property OJH_STATIC_LIBRARIES set links the
# archives, every other one (tests, benchmarks, sanitizer and fuzzing builds) the shared
# libraries. Both lists come from pkg-config, so what libelf needs on each distribution
# (zstd on Debian 13) follows.
option(OJH_STATIC_HOOK "Link the installed hook's libraries (and libstdc++) statically" ON)

pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
pkg_check_modules(CAPNG REQUIRED IMPORTED_TARGET libcap-ng)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)

set(_ojh_static_names ${LIBBPF_STATIC_LIBRARIES} ${CAPNG_STATIC_LIBRARIES} boost_program_options)
list(REMOVE_DUPLICATES _ojh_static_names)
# libelf and the compression libraries it needs stay shared: Debian's policy (lintian's
# embedded-library) refuses a private copy of zlib in a package, and Debian 13's libelf.a
# cannot be linked statically (it lacks elfutils' eu_search_tree_* helpers).
set(_ojh_kept_shared "^(elf|z|zstd)$")
set(_ojh_dynamic_names ${_ojh_static_names})
list(FILTER _ojh_dynamic_names INCLUDE REGEX "${_ojh_kept_shared}")
list(FILTER _ojh_static_names EXCLUDE REGEX "${_ojh_kept_shared}")
list(TRANSFORM _ojh_static_names PREPEND "-l")
list(TRANSFORM _ojh_dynamic_names PREPEND "-l")
set(_ojh_static "-Wl,-Bstatic" ${_ojh_static_names} "-Wl,-Bdynamic" ${_ojh_dynamic_names})
set(_ojh_shared PkgConfig::LIBBPF PkgConfig::CAPNG Boost::program_options)
set(_ojh_is_static "$<BOOL:$<TARGET_PROPERTY:OJH_STATIC_LIBRARIES>>")

add_library(ojh_system_libraries INTERFACE)
# The headers are the same either way.
target_include_directories(ojh_system_libraries SYSTEM INTERFACE ${LIBBPF_INCLUDE_DIRS}
                                                                 ${CAPNG_INCLUDE_DIRS})
target_link_libraries(
  ojh_system_libraries
  INTERFACE "$<${_ojh_is_static}:${_ojh_static}>" "$<$<NOT:${_ojh_is_static}>:${_ojh_shared}>"
            ${CMAKE_DL_LIBS})

# ojh_link_hook_executable(TARGET) — the installed hook: static libraries and libstdc++ when
# OJH_STATIC_HOOK is on (never with sanitizers, whose runtimes want the shared libstdc++).
function(ojh_link_hook_executable target)
  if(OJH_STATIC_HOOK AND NOT OJH_SANITIZE)
    set_target_properties(${target} PROPERTIES OJH_STATIC_LIBRARIES ON)
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc)
  endif()
  # Full RELRO: a root process that parses others' input keeps no writable GOT.
  target_link_options(${target} PRIVATE -Wl,-z,relro,-z,now)
endfunction()
