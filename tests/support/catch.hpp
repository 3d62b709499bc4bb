// SPDX-License-Identifier: Apache-2.0
// The one Catch2 include of the tests. Debian 12 ships Catch2 2 (one header), Debian 13
// Catch2 3 (split headers, ContainsSubstring instead of the string Contains); the tests are
// written against the v3 names and this header gives v2 the same ones.
// A file that defines main() defines OJH_CATCH_SESSION first.
#pragma once

#if OJH_CATCH2_MAJOR >= 3
#include <catch2/catch_session.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <catch2/matchers/catch_matchers_vector.hpp>
#else
#ifdef OJH_CATCH_SESSION
#define CATCH_CONFIG_RUNNER
#endif
#include <catch2/catch.hpp>
#include <string>

namespace Catch::Matchers {
inline StdString::ContainsMatcher ContainsSubstring(const std::string& needle,
                                                    CaseSensitive::Choice cs = CaseSensitive::Yes) {
  return Contains(needle, cs);
}
}  // namespace Catch::Matchers
#endif
