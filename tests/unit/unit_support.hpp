// SPDX-License-Identifier: Apache-2.0
// What the unit tests share: their fixtures, the error a call throws, a scratch directory.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

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

}  // namespace ojh::unit
