// SPDX-License-Identifier: Apache-2.0
// What the unit tests share: their fixtures, the error a call throws, a scratch directory.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "oci/capability_policy.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"

namespace ojh::unit {

// The text of tests/unit/fixtures/<name>.
inline std::string fixture(const std::string& name) {
  std::ifstream in(std::string(FIXTURES_DIR) + "/" + name, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The ojh::Error that f() throws; the test fails when it throws none.
template <typename F>
ojh::Error error_of(F&& f) {
  try {
    f();
  } catch (const ojh::Error& e) {
    return e;
  }
  FAIL("no ojh::Error thrown");
  throw std::logic_error("unreachable");
}

// A directory under /tmp, removed with everything in it at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/ojh-unit-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  void write(const std::string& name, const std::string& data) const {
    std::ofstream(path + "/" + name, std::ios::binary) << data;
  }
};

// Capability names as the hook reads them (libcap's way, oci/capability_policy.hpp): each
// of `net_raw`, on its own, reads as CAP_NET_RAW and is refused; each pair of `read_as` is a
// spelling and the name it reads as; `not_refused`, all together, has nothing refused.
struct CapabilitySpellings {
  std::vector<std::string> net_raw;
  std::vector<std::pair<std::string, std::string>> read_as;
  std::set<std::string> not_refused;
};

inline void check_capability_spellings(const CapabilitySpellings& spellings) {
  for (const std::string& name : spellings.net_raw) {
    CAPTURE(name);
    CHECK(ojh::canonical_capability(name) == "CAP_NET_RAW");
    CHECK(ojh::refused_capabilities({name}, {}) == std::vector<std::string>{"CAP_NET_RAW"});
  }
  for (const auto& [name, canonical] : spellings.read_as) {
    CHECK(ojh::canonical_capability(name) == canonical);
  }
  CHECK(ojh::refused_capabilities(spellings.not_refused, {}).empty());
}

}  // namespace ojh::unit
