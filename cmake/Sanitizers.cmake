# SPDX-License-Identifier: Apache-2.0
# OJH_SANITIZE=ON builds every C++ target with AddressSanitizer (+ LeakSanitizer) and
# UndefinedBehaviorSanitizer, so the unit, bpf and e2e tiers double as sanitizer runs
# (scripts/sanitize.sh). Only C++ compiles and C++ links get the flags: the BPF objects are
# custom clang commands that never see these options, and tests/probe's jail-probe is C
# linked -static, which ASan cannot do.
option(OJH_SANITIZE "Build the C++ code with -fsanitize=address,undefined" OFF)
# The libFuzzer harnesses (tests/fuzz, clang++ only) bring their own sanitizer flags.
option(OJH_FUZZ "Build the libFuzzer harnesses in tests/fuzz" OFF)

if(OJH_SANITIZE)
  # No recovery: a UBSan report aborts even where UBSAN_OPTIONS does not reach (a hook run by
  # runc gets only the environment its hooks.d entry names). _GLIBCXX_ASSERTIONS adds bounds
  # checks to std::vector/std::string operator[] and friends, which ASan misses inside
  # capacity; it does not change the ABI.
  set(OJH_SANITIZE_FLAGS
      -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options(
    "$<$<COMPILE_LANGUAGE:CXX>:${OJH_SANITIZE_FLAGS};-D_GLIBCXX_ASSERTIONS>")
  # GCC's manual: sanitizers raise the rate of false -Wmaybe-uninitialized warnings (GCC 12
  # reports one inside <functional> for Catch2's std::regex), which -Werror makes fatal.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized>")
  endif()
  add_link_options("$<$<LINK_LANGUAGE:CXX>:${OJH_SANITIZE_FLAGS}>")
  # RapidJSON 1.1.0 (Debian 12) computes `nullptr + n` in internal::Stack::Reserve on the
  # first push of every parse, which clang's pointer-overflow check (not GCC's) reports
  # (Tencent/rapidjson#1724, fixed upstream after 1.1.0). oci/json.cpp is the one file that
  # runs the parser; the property is set once oci/ has been added.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    cmake_language(DEFER CALL set_source_files_properties "${CMAKE_SOURCE_DIR}/oci/json.cpp"
                   DIRECTORY "${CMAKE_SOURCE_DIR}/oci"
                   PROPERTIES COMPILE_OPTIONS -fno-sanitize=pointer-overflow)
  endif()
endif()
