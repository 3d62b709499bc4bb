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
  add_link_options("$<$<LINK_LANGUAGE:CXX>:${OJH_SANITIZE_FLAGS}>")
endif()
